// Synthetic BAG verblijfsobjecten with their main address, flat as in the BAG API's
// AdresUitgebreid: identificatie (gemeentecode ‖ '01' ‖ 10-digit serial), gebruiksdoelen,
// oppervlakte, status, geometrie.punt (RD New), postcode, huisnummer, openbareRuimteNaam,
// woonplaatsNaam, voorkomen. Each municipality holds a block of ids in proportion to its
// population, so keys ascend with the index; new buildings get serials above the block's.
import { SNAPSHOT_DAY, isoDate } from './calendar.ts';
import type { Birth, Cluster, KindModel, ModelContext } from './model.ts';
import { STREAM } from './model.ts';
import { MUNICIPALITIES, bagId, streetAddress, woonplaatsCode } from './places.ts';
import { Rng, WeightedTable } from './prng.ts';

const BASE_SERIAL = 100_000_000;
const SERIALS_PER_OBJECT = 4;
const BIRTH_SERIAL = 9_000_000_000;
const MAX_BIRTHS_PER_DAY = 1_000_000;
/** Objects per street in the plan: streets fill up in order of the block's serials. */
const OBJECTS_PER_STREET = 64;
/** New buildings go on new streets, numbered from here (beyond every existing plan). */
const NEW_STREETS = 100_000;

export const GEBRUIKSDOELEN = [
  'woonfunctie',
  'bijeenkomstfunctie',
  'celfunctie',
  'gezondheidszorgfunctie',
  'industriefunctie',
  'kantoorfunctie',
  'logiesfunctie',
  'onderwijsfunctie',
  'sportfunctie',
  'winkelfunctie',
  'overige gebruiksfunctie',
] as const;
type Gebruiksdoel = (typeof GEBRUIKSDOELEN)[number];

const STATUS = {
  formed: 'Verblijfsobject gevormd',
  inUse: 'Verblijfsobject in gebruik',
  inUseNotMeasured: 'Verblijfsobject in gebruik (niet ingemeten)',
  renovation: 'Verbouwing verblijfsobject',
  outOfUse: 'Verblijfsobject buiten gebruik',
  withdrawn: 'Verblijfsobject ingetrokken',
} as const;
type Status = (typeof STATUS)[keyof typeof STATUS];

const DOEL_TABLE = new WeightedTable<Gebruiksdoel>([
  ['woonfunctie', 880],
  ['winkelfunctie', 30],
  ['kantoorfunctie', 30],
  ['industriefunctie', 20],
  ['bijeenkomstfunctie', 10],
  ['gezondheidszorgfunctie', 7],
  ['logiesfunctie', 6],
  ['onderwijsfunctie', 5],
  ['sportfunctie', 4],
  ['overige gebruiksfunctie', 8],
  ['celfunctie', 0.1],
]);
const STATUS_TABLE = new WeightedTable<Status>([
  [STATUS.inUse, 960],
  [STATUS.inUseNotMeasured, 20],
  [STATUS.formed, 10],
  [STATUS.renovation, 5],
  [STATUS.outOfUse, 5],
]);
const MUNICIPALITY_TABLE = new WeightedTable(MUNICIPALITIES.map((m, i) => [i, m.population] as const));

export interface AddressState {
  municipality: number;
  serial: number;
  street: number;
  huisnummer: number;
  huisletter: string;
  toevoeging: string;
  doelen: readonly Gebruiksdoel[];
  oppervlakte: number;
  status: Status;
  bouwjaar: number;
  documentDay: number;
  /** Extra shift of the point, in metres (corrections of the geometry). */
  dx: number;
  dy: number;
  versie: number;
}

/** First index of each municipality's block, and the count as a last entry. */
type Layout = Int32Array;

function blockOf(layout: Layout, i: number): number {
  let lo = 0;
  let hi = layout.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (layout[mid]! <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function surface(rng: Rng, doelen: readonly Gebruiksdoel[]): number {
  const median = doelen[0] === 'woonfunctie' ? 95 : doelen[0] === 'industriefunctie' ? 900 : 250;
  const v = median * Math.exp(0.5 * rng.normal());
  return Math.max(12, Math.min(99_999, Math.round(v)));
}

function constructionYear(rng: Rng): number {
  const u = rng.float();
  if (u < 0.05) return rng.range(1600, 1899);
  if (u < 0.15) return rng.range(1900, 1944);
  if (u < 0.75) return rng.range(1945, 1999);
  return rng.range(2000, 2025);
}

function uses(rng: Rng): Gebruiksdoel[] {
  const first = DOEL_TABLE.pick(rng);
  // Shop or office with a dwelling above is a common combination.
  if ((first === 'winkelfunctie' || first === 'kantoorfunctie') && rng.chance(0.15)) return ['woonfunctie', first];
  return [first];
}

function documentNumber(s: AddressState): string {
  return `${MUNICIPALITIES[s.municipality]!.code}-${isoDate(s.documentDay).slice(0, 4)}-${String(s.serial % 1_000_000).padStart(6, '0')}-${s.versie}`;
}

/** Street, number and additions of the j-th object of a block: every 7th street is flats. */
function placeOf(rng: Rng, street: number, slot: number): Pick<AddressState, 'street' | 'huisnummer' | 'huisletter' | 'toevoeging'> {
  if (street % 7 === 3) {
    // Four blocks of flats of 16 each: one huisnummer, toevoegingen 1..16.
    return { street, huisnummer: 1 + 2 * Math.floor(slot / 16), huisletter: '', toevoeging: String(1 + (slot % 16)) };
  }
  return { street, huisnummer: 1 + slot, huisletter: rng.chance(0.05) ? rng.pick(['A', 'B']) : '', toevoeging: '' };
}

export const addressesModel: KindModel<AddressState, Layout> = {
  keyField: 'identificatie',
  maxCount: 50_000_000,
  maxBirthsPerDay: MAX_BIRTHS_PER_DAY,
  maxDay: Math.floor((9_999_999_999 - BIRTH_SERIAL) / MAX_BIRTHS_PER_DAY),
  birthShare: 0.05,

  prepare(count) {
    const total = MUNICIPALITIES.reduce((a, m) => a + m.population, 0);
    const layout = new Int32Array(MUNICIPALITIES.length + 1);
    let cumulative = 0;
    MUNICIPALITIES.forEach((m, k) => {
      layout[k] = Math.round((count * cumulative) / total);
      cumulative += m.population;
    });
    layout[MUNICIPALITIES.length] = count;
    return layout;
  },

  base(ctx, i) {
    const rng = Rng.for(ctx.seed, STREAM.base, 0, i);
    const municipality = blockOf(ctx.layout, i);
    const j = i - ctx.layout[municipality]!;
    const doelen = uses(rng);
    const bouwjaar = constructionYear(rng);
    const firstDay = Math.max(SNAPSHOT_DAY - 16 * 365, SNAPSHOT_DAY - (2026 - bouwjaar) * 365);
    return {
      municipality,
      serial: BASE_SERIAL + j * SERIALS_PER_OBJECT + rng.int(SERIALS_PER_OBJECT),
      ...placeOf(rng, Math.floor(j / OBJECTS_PER_STREET), j % OBJECTS_PER_STREET),
      doelen,
      oppervlakte: surface(rng, doelen),
      status: STATUS_TABLE.pick(rng),
      bouwjaar,
      documentDay: firstDay + rng.int(SNAPSHOT_DAY - firstDay),
      dx: 0,
      dy: 0,
      versie: 1 + Math.floor(-Math.log(1 - rng.float()) * 1.5),
    };
  },

  isFinal: (s) => s.status === STATUS.withdrawn,

  change(ctx, s, day, i) {
    const rng = Rng.for(ctx.seed, STREAM.event, day, i);
    const next = { ...s, documentDay: SNAPSHOT_DAY + day, versie: s.versie + 1 };
    const u = rng.float();
    if (u < 0.05) return null; // ten onrechte opgevoerd: removed from the registry
    if (u < 0.15) return { ...next, status: STATUS.withdrawn };
    if (u < 0.45) {
      const status: Status =
        s.status === STATUS.inUse ? rng.pick([STATUS.renovation, STATUS.outOfUse]) : s.status === STATUS.formed ? STATUS.inUseNotMeasured : STATUS.inUse;
      return { ...next, status };
    }
    if (u < 0.75) return { ...next, oppervlakte: Math.max(12, Math.round(s.oppervlakte * (0.8 + 0.4 * rng.float()))) };
    if (u < 0.9) {
      const doelen = uses(rng);
      return { ...next, doelen, oppervlakte: surface(rng, doelen) };
    }
    return { ...next, dx: s.dx + rng.range(-300, 300) / 100, dy: s.dy + rng.range(-300, 300) / 100 };
  },

  birth(ctx, day, k, cluster: Cluster | undefined): Birth<AddressState> {
    const rng = Rng.for(ctx.seed, STREAM.birth, day, k);
    // New buildings: where the day's cluster is, else anywhere by population.
    const municipality = cluster !== undefined && ctx.count > 0 ? blockOf(ctx.layout, Math.min(cluster.start, ctx.count - 1)) : MUNICIPALITY_TABLE.pick(rng);
    const doelen = uses(rng);
    const slot = k % OBJECTS_PER_STREET;
    return {
      after: ctx.layout[municipality + 1]! - 1,
      state: {
        municipality,
        serial: BIRTH_SERIAL + (day - 1) * MAX_BIRTHS_PER_DAY + k,
        ...placeOf(rng, NEW_STREETS + (day - 1) * 1000 + Math.floor(k / OBJECTS_PER_STREET), slot),
        doelen,
        oppervlakte: surface(rng, doelen),
        status: STATUS.formed,
        bouwjaar: 2026,
        documentDay: SNAPSHOT_DAY + day,
        dx: 0,
        dy: 0,
        versie: 1,
      },
    };
  },

  key: (s) => bagId(MUNICIPALITIES[s.municipality]!, '01', s.serial),

  render(s) {
    const m = MUNICIPALITIES[s.municipality]!;
    const a = streetAddress(m, s.street, s.huisnummer);
    const begin = isoDate(s.documentDay);
    const pand = 100_000_000 + s.street * 64 + (s.huisnummer >> 1);
    return {
      documentdatum: begin,
      documentnummer: documentNumber(s),
      gebruiksdoelen: s.doelen,
      geconstateerd: 'N',
      geometrie: { punt: { coordinates: [Math.round((a.x + s.dx) * 1000) / 1000, Math.round((a.y + s.dy) * 1000) / 1000, 0], type: 'Point' } },
      ...(s.huisletter ? { huisletter: s.huisletter } : {}),
      huisnummer: s.huisnummer,
      ...(s.toevoeging ? { huisnummertoevoeging: s.toevoeging } : {}),
      identificatie: bagId(m, '01', s.serial),
      korteNaam: a.korteStraatnaam,
      maaktDeelUitVan: [bagId(m, '10', pand)],
      nummeraanduidingIdentificatie: bagId(m, '20', s.serial),
      oorspronkelijkBouwjaar: [String(s.bouwjaar)],
      openbareRuimteIdentificatie: bagId(m, '30', 100_000_000 + s.street),
      openbareRuimteNaam: a.officieleStraatnaam,
      oppervlakte: s.oppervlakte,
      postcode: a.postcode,
      status: s.status,
      typeAdresseerbaarObject: 'Verblijfsobject',
      voorkomen: { beginGeldigheid: begin, tijdstipRegistratie: `${begin}T09:00:00.000`, versie: s.versie },
      woonplaatsIdentificatie: woonplaatsCode(m),
      woonplaatsNaam: a.woonplaats,
    };
  },
};

export type AddressesContext = ModelContext<Layout>;
