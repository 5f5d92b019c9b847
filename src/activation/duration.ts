// Durations as operators type them on the command line and in requests: "90s", "30m", "8h",
// "2d", or a combination like "1h30m". Pure.
import { EmbassyError } from '../errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(?:\d{1,9}(?:ms|s|m|h|d))+$/;

/** Milliseconds of a duration text; throws 'usage' naming `what` for anything else. */
export function parseDuration(text: string, what = 'duration'): number {
  if (!DURATION_RE.test(text)) {
    throw new EmbassyError('usage', `${what}: expected a duration like 90s, 30m, 8h or 1h30m, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  let ms = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms <= 0) throw new EmbassyError('usage', `${what}: must be longer than zero`);
  return ms;
}

/** A duration for people: "8h", "1h30m", "45s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (s >= n) {
      parts.push(`${Math.floor(s / n)}${u}`);
      s %= n;
    }
  }
  return parts.join('');
}
