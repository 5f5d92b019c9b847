// Converting the upstream BRP API mock's test persons (a JSON array) into Persoon records for
// ingest: every person is converted or reported with its position and BSN, never dropped
// silently. Names of persons referred to in gezag are resolved from the same file.
import { EmbassyError } from '../errors.ts';
import { convertMockPerson, mockVolledigeNaam } from './convert.ts';

export interface ImportFailure {
  /** 1-based position in the array. */
  person: number;
  burgerservicenummer?: string;
  message: string;
}

export interface ImportResult {
  persons: Record<string, unknown>[];
  failures: ImportFailure[];
}

/** Converts a parsed mock file. Throws 'input.malformed' only when it is not an array. */
export function convertMockPersons(raw: unknown, file = 'input'): ImportResult {
  if (!Array.isArray(raw)) throw new EmbassyError('input.malformed', `${file}: expected a JSON array of persons`);
  const names = new Map<string, string>();
  for (const r of raw) {
    const bsn = (r as { burgerservicenummer?: unknown })?.burgerservicenummer;
    const naam = mockVolledigeNaam(r);
    if (typeof bsn === 'string' && naam) names.set(bsn, naam);
  }
  const persons: Record<string, unknown>[] = [];
  const failures: ImportFailure[] = [];
  const seen = new Set<string>();
  raw.forEach((r, i) => {
    const bsn = (r as { burgerservicenummer?: unknown })?.burgerservicenummer;
    const where = `${file} person ${i + 1}`;
    try {
      const p = convertMockPerson(r, where, (b) => names.get(b));
      const key = p['burgerservicenummer'] as string;
      if (seen.has(key)) throw new EmbassyError('input.malformed', `${where} (burgerservicenummer ${key}): burgerservicenummer appears twice`);
      seen.add(key);
      persons.push(p);
    } catch (e) {
      if (!(e instanceof EmbassyError)) throw e;
      failures.push({ person: i + 1, ...(typeof bsn === 'string' ? { burgerservicenummer: bsn } : {}), message: e.message });
    }
  });
  return { persons, failures };
}
