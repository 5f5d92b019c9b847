// Synthetic persons shaped like the Haal Centraal BRP Personen API (v2) Persoon: naam, geslacht,
// geboorte, nationaliteiten, verblijfplaats (type Adres), gemeenteVanInschrijving, overlijden.
// Keys are burgerservicenummers that pass the 11-proef, strictly increasing with the index;
// births get numbers above every base number (as newly issued BSNs do). Ages follow NL's 2024
// age pyramid; names and origins follow the tables in names.ts.
import { SNAPSHOT_DAY, brpDatum, yearOf } from './calendar.ts';
import type { Birth, Cluster, KindModel, ModelContext } from './model.ts';
import { STREAM } from './model.ts';
import {
  DUTCH,
  GESLACHT,
  NAAMGEBRUIK,
  NETHERLANDS,
  NL_FIRST_NAMES,
  NL_OFFICIAL_TRADITIONAL,
  NL_TOP_SURNAME_SHARE,
  ORIGINS,
  composedSurname,
  splitVoorvoegsel,
  voorletters,
  zipfWeights,
  type Coded,
  type Origin,
} from './names.ts';
import { MUNICIPALITIES, bagId, streetAddress, streetCount, type Municipality } from './places.ts';
import { Rng, WeightedTable } from './prng.ts';

// ---- burgerservicenummers ------------------------------------------------------------------------

// A slot is a number whose prefix (slot / 9) gives BSN digits 1–7 and whose rest (slot % 9)
// picks the 8th digit among those (at least 9 of 10) for which the 11-proef check digit exists.
// Base record i takes one of the 3 slots 3i..3i+2 above BASE_SLOT (first digit 1–5); births take
// the slots from BIRTH_SLOT (first digit 6–9), in order of day and birth number.
const SLOTS_PER_PERSON = 3;
const BASE_SLOT = 1_000_000 * 9;
const BIRTH_SLOT = 6_000_000 * 9;
const END_SLOT = 10_000_000 * 9;
const MAX_BIRTHS_PER_DAY = 100_000;

/** The 9-digit BSN of a slot; strictly increasing in the slot. */
export function bsnOfSlot(slot: number): string {
  const prefix = Math.floor(slot / 9);
  const rank = slot % 9;
  const digits = String(prefix).padStart(7, '0');
  let sum = 0;
  for (let k = 0; k < 7; k++) sum += (9 - k) * (digits.charCodeAt(k) - 48);
  let seen = -1;
  for (let d8 = 0; d8 <= 9; d8++) {
    const check = (sum + 2 * d8) % 11;
    if (check === 10) continue;
    if (++seen === rank) return `${digits}${d8}${check}`;
  }
  throw new Error('unreachable: every prefix has at least 9 valid eighth digits');
}

/** The 11-proef for BSNs: 9·d1 + 8·d2 + … + 2·d8 − d9 ≡ 0 (mod 11), and not all zeros. */
export function isValidBsn(bsn: string): boolean {
  if (!/^[0-9]{9}$/.test(bsn) || bsn === '000000000') return false;
  let sum = 0;
  for (let k = 0; k < 8; k++) sum += (9 - k) * (bsn.charCodeAt(k) - 48);
  return (sum - (bsn.charCodeAt(8) - 48)) % 11 === 0;
}

// ---- state ---------------------------------------------------------------------------------------

type Sex = 'M' | 'V' | 'O';
type Naamgebruik = keyof typeof NAAMGEBRUIK;

export interface PersonState {
  bsn: string;
  origin: number;
  sex: Sex;
  voornamen: string;
  surname: string;
  naamgebruik: Naamgebruik;
  birthDay: number;
  birthPlace: { code?: string; omschrijving: string };
  birthCountry: Coded;
  nationalities: readonly Coded[];
  /** Index into MUNICIPALITIES. */
  municipality: number;
  street: number;
  huisnummer: number;
  huisletter: string;
  toevoeging: string;
  addressSince: number;
  deathDay?: number;
}

// ---- distributions -------------------------------------------------------------------------------

/** NL population 2024 by 5-year age group, 0–4 … 95–99 (CBS, rounded shares in ‰). */
const AGE_GROUPS = new WeightedTable(
  [51, 55, 58, 60, 64, 67, 65, 62, 59, 64, 70, 71, 66, 58, 54, 42, 26, 14, 6, 2].map((w, g) => [g, w] as const),
);
const ORIGIN_TABLE = new WeightedTable(ORIGINS.map((o, i) => [i, o.weight] as const));
const MUNICIPALITY_TABLE = new WeightedTable(MUNICIPALITIES.map((m, i) => [i, m.population] as const));
// Top Dutch names fall off as in the CBS counts (rank 1 ≈ 0.5%, rank 200 ≈ 0.05%); the short
// lists of other origins stand for many more names, so they are nearly flat.
const surnameTables = ORIGINS.map((o) => new WeightedTable(zipfWeights(o.surnames, o.id === 'nl' ? 0.45 : 0.2)));
const maleTables = ORIGINS.map((o) => new WeightedTable(zipfWeights(o.male, 0.4)));
const femaleTables = ORIGINS.map((o) => new WeightedTable(zipfWeights(o.female, 0.4)));
const nlFirst = {
  M: NL_FIRST_NAMES.male.map((xs) => new WeightedTable(zipfWeights(xs, 0.4))),
  V: NL_FIRST_NAMES.female.map((xs) => new WeightedTable(zipfWeights(xs, 0.4))),
};
/** Second and third names: the official traditional forms (no Kees, Truus). */
const nlMiddle = {
  M: new WeightedTable(zipfWeights(NL_FIRST_NAMES.male[0].slice(0, NL_OFFICIAL_TRADITIONAL), 0.6)),
  V: new WeightedTable(zipfWeights(NL_FIRST_NAMES.female[0].slice(0, NL_OFFICIAL_TRADITIONAL), 0.6)),
};
const HUISLETTERS = ['A', 'B', 'C', 'D'];
const TOEVOEGINGEN = ['1', '2', '3', 'A', 'B', 'bis', 'hs', 'II', 'III'];
const WOONADRES: Coded = { code: 'W', omschrijving: 'woonadres' };
const DAYS_PER_YEAR = 365.2425;

function generation(birthDay: number): number {
  const y = yearOf(birthDay);
  return y < 1965 ? 0 : y < 1995 ? 1 : 2;
}

function oneFirstName(rng: Rng, origin: number, female: boolean, gen: number): string {
  if (ORIGINS[origin]!.id !== 'nl') return (female ? femaleTables : maleTables)[origin]!.pick(rng);
  // Mostly the names of one's own generation, some of the neighbouring ones.
  const g = Math.min(2, Math.max(0, gen + (rng.chance(0.2) ? (rng.chance(0.5) ? -1 : 1) : 0)));
  return nlFirst[female ? 'V' : 'M'][g]!.pick(rng);
}

function firstNames(rng: Rng, origin: number, sex: Sex, birthDay: number): string {
  const dutch = ORIGINS[origin]!.id === 'nl';
  const female = sex === 'V' || (sex === 'O' && rng.chance(0.5));
  const gen = generation(birthDay);
  // Older Dutch persons mostly carry two or three names (often traditional ones after the first).
  const n = dutch && gen === 0 ? 1 + rng.int(3) : rng.chance(0.55) ? 1 : rng.chance(0.8) ? 2 : 3;
  let names = '';
  let have = 0;
  for (let k = 0; have < n && k < 10; k++) {
    const name = k > 0 && dutch && rng.chance(0.5) ? nlMiddle[female ? 'V' : 'M'].pick(rng) : oneFirstName(rng, origin, female, gen);
    if (` ${names} `.includes(` ${name} `)) continue;
    names = have === 0 ? name : `${names} ${name}`;
    have++;
  }
  return names;
}

function surname(rng: Rng, origin: number, sex: Sex): string {
  if (ORIGINS[origin]!.id === 'nl' && !rng.chance(NL_TOP_SURNAME_SHARE)) return composedSurname(rng.float(), rng.float(), rng.float());
  return polishForm(surnameTables[origin]!.pick(rng), sex);
}

function polishForm(surname: string, sex: Sex): string {
  return sex === 'V' && surname.endsWith('ski') ? `${surname.slice(0, -1)}a` : surname;
}

function address(rng: Rng, municipality: number): Pick<PersonState, 'municipality' | 'street' | 'huisnummer' | 'huisletter' | 'toevoeging'> {
  const m = MUNICIPALITIES[municipality]!;
  return {
    municipality,
    street: rng.int(streetCount(m)),
    // Most streets are short: numbers cluster low, a few run into the hundreds.
    huisnummer: Math.min(999, 1 + Math.floor(-Math.log(1 - rng.float()) * 35)),
    huisletter: rng.chance(0.06) ? rng.pick(HUISLETTERS) : '',
    toevoeging: rng.chance(0.07) ? rng.pick(TOEVOEGINGEN) : '',
  };
}

function newPerson(rng: Rng, slot: number, birthDay: number, today: number): PersonState {
  const origin = ORIGIN_TABLE.pick(rng);
  const o: Origin = ORIGINS[origin]!;
  const u = rng.float();
  const sex: Sex = u < 0.001 ? 'O' : u < 0.5 ? 'M' : 'V';
  const municipality = MUNICIPALITY_TABLE.pick(rng);
  const age = (today - birthDay) / DAYS_PER_YEAR;
  const bornAbroad = rng.chance(o.bornAbroad * Math.min(1, age / 18));
  const birthMunicipality: Municipality = rng.chance(0.6) ? MUNICIPALITIES[municipality]! : MUNICIPALITIES[MUNICIPALITY_TABLE.pick(rng)]!;
  const birthPlace = bornAbroad ? { omschrijving: rng.pick(o.cities) } : { code: birthMunicipality.code, omschrijving: birthMunicipality.name };
  // Arrival (for those born abroad) and the last move happen between birth and today.
  const arrival = bornAbroad ? birthDay + Math.floor(rng.float() * (today - birthDay)) : birthDay;
  const addressSince = arrival + Math.floor(Math.sqrt(rng.float()) * (today - arrival));
  // Dutch first; some of foreign origin keep (or only have) the other nationality.
  let nationalities: Coded[];
  if (o.id === 'nl') nationalities = [DUTCH];
  else if (rng.chance(o.foreignOnly)) nationalities = [o.nationality];
  else nationalities = rng.chance(0.4) ? [DUTCH, o.nationality] : [DUTCH];
  const female = sex === 'V';
  const married = female && o.id === 'nl' && age >= 25 ? rng.float() : 1;
  return {
    bsn: bsnOfSlot(slot),
    origin,
    sex,
    voornamen: firstNames(rng, origin, sex, birthDay),
    surname: surname(rng, origin, sex),
    naamgebruik: married < 0.12 ? 'V' : married < 0.18 ? 'P' : married < 0.2 ? 'N' : 'E',
    birthDay,
    birthPlace,
    birthCountry: bornAbroad ? o.country : NETHERLANDS,
    nationalities,
    ...address(rng, municipality),
    addressSince,
  };
}

// ---- the model -----------------------------------------------------------------------------------

const EVENTS = new WeightedTable([
  ['move', 55],
  ['name', 12],
  ['nationality', 13],
  ['death', 16],
  ['delete', 4],
] as const);

export const personsModel: KindModel<PersonState, null> = {
  keyField: 'burgerservicenummer',
  maxCount: (BIRTH_SLOT - BASE_SLOT) / SLOTS_PER_PERSON,
  maxBirthsPerDay: MAX_BIRTHS_PER_DAY,
  maxDay: Math.floor((END_SLOT - BIRTH_SLOT) / MAX_BIRTHS_PER_DAY),
  birthShare: 0.1,

  prepare: () => null,

  base(ctx, i) {
    const rng = Rng.for(ctx.seed, STREAM.base, 0, i);
    const slot = BASE_SLOT + i * SLOTS_PER_PERSON + rng.int(SLOTS_PER_PERSON);
    const group = AGE_GROUPS.pick(rng);
    const age = group * 5 + rng.float() * 5;
    const birthDay = SNAPSHOT_DAY - 1 - Math.floor(age * DAYS_PER_YEAR);
    return newPerson(rng, slot, birthDay, SNAPSHOT_DAY);
  },

  isFinal: (s) => s.deathDay !== undefined,

  change(ctx, s, day, i) {
    const rng = Rng.for(ctx.seed, STREAM.event, day, i);
    const today = SNAPSHOT_DAY + day;
    let event = EVENTS.pick(rng);
    const age = (today - s.birthDay) / DAYS_PER_YEAR;
    // Deaths mostly among the old; a drawn death of someone young is a move instead.
    if (event === 'death' && age < 45 + rng.float() * 30) event = 'move';
    switch (event) {
      case 'move': {
        const municipality = rng.chance(0.65) ? s.municipality : MUNICIPALITY_TABLE.pick(rng);
        return { ...s, ...address(rng, municipality), addressSince: today };
      }
      case 'name': {
        // Mostly a change of naamgebruik (marriage, divorce), otherwise a new surname.
        if (s.sex === 'V' && rng.chance(0.7)) return { ...s, naamgebruik: s.naamgebruik === 'E' ? rng.pick(['V', 'P', 'N'] as const) : 'E' };
        return { ...s, surname: surname(rng, s.origin, s.sex) };
      }
      case 'nationality': {
        // Naturalisation of those without Dutch nationality.
        if (!s.nationalities.includes(DUTCH)) return { ...s, nationalities: [DUTCH, ...s.nationalities] };
        // Already Dutch: record a correction of the first name(s) instead (also an upsert).
        return { ...s, voornamen: firstNames(rng, s.origin, s.sex, s.birthDay) };
      }
      case 'death':
        return { ...s, deathDay: today };
      case 'delete':
        return null;
    }
  },

  birth(ctx, day, k, _cluster: Cluster | undefined): Birth<PersonState> {
    const rng = Rng.for(ctx.seed, STREAM.birth, day, k);
    const slot = BIRTH_SLOT + (day - 1) * MAX_BIRTHS_PER_DAY + k;
    const today = SNAPSHOT_DAY + day;
    // Born today, in the Netherlands (newPerson gives nobody aged 0 a birthplace abroad).
    return { after: ctx.count - 1, state: newPerson(rng, slot, today, today) };
  },

  key: (s) => s.bsn,

  render(s) {
    const m = MUNICIPALITIES[s.municipality]!;
    const a = streetAddress(m, s.street, s.huisnummer);
    const [voorvoegsel, geslachtsnaam] = splitVoorvoegsel(s.surname);
    // BAG ids of the address: plausible (municipality, street, number), not those of addresses.ts.
    const serial = 100_000_000 + s.street * 4096 + s.huisnummer * 4 + (s.huisletter ? 1 : 0) + (s.toevoeging ? 2 : 0);
    // The fields of the BRP API's Persoon that a registry copy is about; optional detail
    // (A-nummer, registration dates, redenOpname and date of each nationality, functieAdres,
    // nummeraanduidingIdentificatie) is left out to keep records under about 1 KB.
    return {
      burgerservicenummer: s.bsn,
      geboorte: { datum: brpDatum(s.birthDay), land: s.birthCountry, plaats: s.birthPlace },
      gemeenteVanInschrijving: { code: m.code, omschrijving: m.name },
      geslacht: GESLACHT[s.sex],
      naam: {
        aanduidingNaamgebruik: NAAMGEBRUIK[s.naamgebruik],
        geslachtsnaam,
        voorletters: voorletters(s.voornamen),
        voornamen: s.voornamen,
        ...(voorvoegsel ? { voorvoegsel } : {}),
      },
      nationaliteiten: s.nationalities.map((n) => ({ nationaliteit: n, type: 'Nationaliteit' })),
      ...(s.deathDay === undefined
        ? {}
        : { overlijden: { datum: brpDatum(s.deathDay), land: NETHERLANDS, plaats: { code: m.code, omschrijving: m.name } } }),
      verblijfplaats: {
        adresseerbaarObjectIdentificatie: bagId(m, '01', serial),
        datumVan: brpDatum(s.addressSince),
        type: 'Adres',
        verblijfadres: {
          ...(s.huisletter ? { huisletter: s.huisletter } : {}),
          huisnummer: s.huisnummer,
          ...(s.toevoeging ? { huisnummertoevoeging: s.toevoeging } : {}),
          korteStraatnaam: a.korteStraatnaam,
          officieleStraatnaam: a.officieleStraatnaam,
          postcode: a.postcode,
          woonplaats: a.woonplaats,
        },
      },
    };
  },
};

export type PersonsContext = ModelContext<null>;
