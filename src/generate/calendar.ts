// Dates for the synthetic data as day numbers (days since 1970-01-01, proleptic Gregorian, UTC)
// and their renderings: ISO 8601 dates and the BRP API's "langFormaat" ("7 juli 1975").
// Pure arithmetic (Hinnant's civil-from-days), no clock: "today" is a parameter everywhere.

/** The day of the generated (day 0) snapshot: 2026-01-01. Day d of the mutations is this + d. */
export const SNAPSHOT_DAY = daysFromCivil(2026, 1, 1);

const MONTHS_NL = [
  'januari',
  'februari',
  'maart',
  'april',
  'mei',
  'juni',
  'juli',
  'augustus',
  'september',
  'oktober',
  'november',
  'december',
] as const;

/** Day number of a calendar date (month 1..12). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** [year, month 1..12, day 1..31] of a day number. */
export function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [era * 400 + yoe + (m <= 2 ? 1 : 0), m, d];
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/** "1975-07-07" */
export function isoDate(day: number): string {
  const [y, m, d] = civilFromDays(day);
  return `${y}-${pad2(m)}-${pad2(d)}`;
}

/** "7 juli 1975" */
export function longDate(day: number): string {
  const [y, m, d] = civilFromDays(day);
  return `${d} ${MONTHS_NL[m - 1]!} ${y}`;
}

export function yearOf(day: number): number {
  return civilFromDays(day)[0];
}

/** The BRP API's VolledigeDatum (keys in canonical order). */
export interface BrpDatum {
  datum: string;
  langFormaat: string;
  type: 'Datum';
}

export function brpDatum(day: number): BrpDatum {
  const [y, m, d] = civilFromDays(day);
  return { datum: `${y}-${pad2(m)}-${pad2(d)}`, langFormaat: `${d} ${MONTHS_NL[m - 1]!} ${y}`, type: 'Datum' };
}
