// How the BRP persons dataset is declared so the façade (query.ts) can answer its searches:
// keyed by burgerservicenummer, with a secondary index on (postcode, huisnummer) for
// ZoekMetPostcodeEnHuisnummer and one on the birth date for ZoekMetGeslachtsnaamEnGeboortedatum.
// The name search reads every person born that day and matches geslachtsnaam (case- and
// diacritic-insensitive, with a trailing * wildcard) in memory: no derived search field is
// stored, so converted test persons and generated persons are found the same way.
import { BRP_DATASET } from './query.ts';

export const BRP_KEY_FIELD = 'burgerservicenummer';
export const POSTCODE_FIELD = 'verblijfplaats.verblijfadres.postcode';
export const HUISNUMMER_FIELD = 'verblijfplaats.verblijfadres.huisnummer';
export const GEBOORTEDATUM_FIELD = 'geboorte.datum.datum';

/** The secondary indexes the dataset must be declared with (`--index` once per entry). */
export const BRP_INDEXES: string[][] = [[POSTCODE_FIELD, HUISNUMMER_FIELD], [GEBOORTEDATUM_FIELD]];

/**
 * The exact `embassy dataset add` arguments for the BRP dataset at a home site, e.g.
 * `embassy dataset add --dir D --id nl.brp.personen --key burgerservicenummer
 *  --index verblijfplaats.verblijfadres.postcode,verblijfplaats.verblijfadres.huisnummer
 *  --index geboorte.datum.datum`.
 */
export function brpDatasetAddArgs(dir: string): string[] {
  return ['dataset', 'add', '--dir', dir, '--id', BRP_DATASET, '--key', BRP_KEY_FIELD, ...BRP_INDEXES.flatMap((ix) => ['--index', ix.join(',')])];
}
