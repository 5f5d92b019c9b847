// Dates of the Haal Centraal BRP Personen API (v2, AbstractDatum): a GBA date "YYYYMMDD", where
// 00 stands for an unknown day, month or year, becomes a Datum, JaarMaandDatum, JaarDatum or
// DatumOnbekend with the Dutch long form ("7 juli 1975", "maart 2020", "2020", "onbekend").
import { EmbassyError } from '../errors.ts';

export type BrpDatum =
  | { type: 'Datum'; datum: string; langFormaat: string }
  | { type: 'JaarMaandDatum'; jaar: number; maand: number; langFormaat: string }
  | { type: 'JaarDatum'; jaar: number; langFormaat: string }
  | { type: 'DatumOnbekend'; onbekend: true; langFormaat: string };

export const MAANDEN = ['januari', 'februari', 'maart', 'april', 'mei', 'juni', 'juli', 'augustus', 'september', 'oktober', 'november', 'december'] as const;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Parses a GBA date ("19750707", "20200300", "20200000", "00000000"). Throws 'input.malformed'. */
export function parseGbaDatum(gba: string, where: string): BrpDatum {
  if (typeof gba !== 'string' || !/^[0-9]{8}$/.test(gba)) throw new EmbassyError('input.malformed', `${where}: expected a GBA date YYYYMMDD, got ${JSON.stringify(gba)}`);
  const jaar = Number(gba.slice(0, 4));
  const maand = Number(gba.slice(4, 6));
  const dag = Number(gba.slice(6, 8));
  if (jaar === 0) return { type: 'DatumOnbekend', onbekend: true, langFormaat: 'onbekend' };
  if (maand > 12 || (maand === 0 && dag !== 0)) throw new EmbassyError('input.malformed', `${where}: ${gba} is not a date`);
  if (maand === 0) return { type: 'JaarDatum', jaar, langFormaat: String(jaar) };
  if (dag === 0) return { type: 'JaarMaandDatum', jaar, maand, langFormaat: `${MAANDEN[maand - 1]} ${jaar}` };
  if (dag > daysIn(jaar, maand)) throw new EmbassyError('input.malformed', `${where}: ${gba} is not a date`);
  return { type: 'Datum', datum: `${gba.slice(0, 4)}-${gba.slice(4, 6)}-${gba.slice(6, 8)}`, langFormaat: `${dag} ${MAANDEN[maand - 1]} ${jaar}` };
}

/** Whether a request's date ("YYYY-MM-DD") is a real calendar date. */
export function isIsoDate(s: string): boolean {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo);
}

/** Age in whole years on `today` (YYYY-MM-DD) of someone born on `born` (YYYY-MM-DD). */
export function ageOn(born: string, today: string): number {
  const [by, bm, bd] = born.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = today.split('-').map(Number) as [number, number, number];
  return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
}
