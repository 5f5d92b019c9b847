// How commands print: data on stdout (JSON with --json, else text for people), errors and
// progress on stderr. Bigints become JSON numbers when they are safe integers, else strings.
import { EmbassyError } from '../errors.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
      return v;
    },
    2,
  );
}

export function printData(io: Io, json: boolean, value: unknown, text: () => string): void {
  io.stdout(json ? toJson(value) + '\n' : text());
}

/** Reports an error once, where it is handled, and returns the exit code. */
export function reportError(io: Io, json: boolean, e: unknown): number {
  if (e instanceof EmbassyError) {
    if (json) io.stderr(toJson({ error: { code: e.code, message: e.message, hint: e.hint } }) + '\n');
    else io.stderr(`embassy: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
    return exitCodeFor(e.code);
  }
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  io.stderr(`embassy: internal error: ${msg}\n`);
  return EXIT.INTERNAL;
}
