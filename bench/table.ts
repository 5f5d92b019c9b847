// Plain-text and Markdown tables of benchmark figures, with ratios embassy / peer. Ratios are
// what the targets are stated in, and they hold up better than raw figures on a shared
// machine where every tool is slowed alike.

export type Cell = string | number | null | undefined;

export const MB = 1e6;
export const MIB = 1024 * 1024;

export function fixed(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits);
}

export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}

export function formatRatio(r: number | null): string {
  if (r === null) return '—';
  return r < 0.01 ? `${r.toFixed(4)}×` : r < 1 ? `${r.toFixed(3)}×` : `${r.toFixed(2)}×`;
}

/** "yes" when value ≤ limit, "no (1.31×)" with the ratio to the limit when not, "—" when unknown. */
export function metAtMost(value: number | null, limit: number): string {
  if (value === null) return '—';
  return value <= limit ? 'yes' : `no (${(value / limit).toFixed(2)}× the limit)`;
}

function text(c: Cell): string {
  if (c === null || c === undefined) return '—';
  return typeof c === 'number' ? String(c) : c;
}

/** Columns of words (the metric, a target, met?) are left-aligned, figures right-aligned. */
const WORD_COLUMNS = new Set(['metric', 'target', 'met?']);

/** Columns padded to width. */
export function formatText(header: string[], rows: Cell[][]): string {
  const all = [header, ...rows.map((r) => r.map(text))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (WORD_COLUMNS.has(header[i]!) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function formatMarkdown(header: string[], rows: Cell[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map((h) => (WORD_COLUMNS.has(h) ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map((c) => esc(text(c))).join(' | ')} |`),
  ].join('\n');
}
