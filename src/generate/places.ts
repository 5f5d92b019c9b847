// Places for synthetic records: Dutch municipalities (CBS gemeentecode, name, the PostNL 4-digit
// postcode range they use, centre in RD New / EPSG:28992, population in thousands), and one
// deterministic street plan per municipality: street s has a name, a postcode area and a line
// on the map; huisnummer h on it has a postcode unique within the plan (while it has room).
import { hashWords, unit } from './prng.ts';

export interface Municipality {
  /** CBS gemeentecode, 4 digits: also the first 4 digits of the BAG ids of its objects. */
  code: string;
  name: string;
  /** First and last 4-digit postcode (PC4) of the municipality's area. */
  pc4: readonly [number, number];
  /** Centre in RD New metres (x, y). */
  rd: readonly [number, number];
  /** Population in thousands (2024, rounded): the weight of the municipality. */
  population: number;
}

const RAW: readonly (readonly [string, string, number, number, number, number, number])[] = [
  ['0014', 'Groningen', 9711, 9747, 234000, 582000, 238],
  ['0034', 'Almere', 1311, 1364, 145000, 487000, 222],
  ['0060', 'Ameland', 9161, 9164, 178000, 606000, 4],
  ['0080', 'Leeuwarden', 8911, 8939, 182500, 579500, 127],
  ['0088', 'Schiermonnikoog', 9166, 9166, 207000, 609000, 1],
  ['0106', 'Assen', 9401, 9409, 233000, 557000, 69],
  ['0114', 'Emmen', 7811, 7833, 256000, 532500, 108],
  ['0118', 'Hoogeveen', 7901, 7909, 233000, 527000, 56],
  ['0150', 'Deventer', 7411, 7429, 208500, 473500, 102],
  ['0153', 'Enschede', 7511, 7548, 258000, 471500, 161],
  ['0164', 'Hengelo', 7551, 7559, 249000, 476000, 82],
  ['0184', 'Urk', 8321, 8323, 170500, 521500, 22],
  ['0193', 'Zwolle', 8011, 8047, 203000, 502500, 133],
  ['0200', 'Apeldoorn', 7311, 7339, 194500, 469500, 167],
  ['0202', 'Arnhem', 6811, 6846, 190500, 444000, 166],
  ['0221', 'Doesburg', 6981, 6984, 204000, 445000, 11],
  ['0228', 'Ede', 6711, 6718, 174500, 447500, 121],
  ['0268', 'Nijmegen', 6511, 6546, 187500, 428500, 182],
  ['0307', 'Amersfoort', 3811, 3829, 155000, 463000, 161],
  ['0344', 'Utrecht', 3511, 3585, 136000, 456000, 374],
  ['0361', 'Alkmaar', 1811, 1827, 111500, 516500, 111],
  ['0363', 'Amsterdam', 1011, 1109, 121500, 487000, 931],
  ['0392', 'Haarlem', 2011, 2037, 104000, 488500, 166],
  ['0400', 'Den Helder', 1781, 1789, 113500, 551500, 57],
  ['0402', 'Hilversum', 1211, 1223, 140500, 470000, 93],
  ['0479', 'Zaanstad', 1501, 1509, 116000, 495000, 160],
  ['0503', 'Delft', 2611, 2629, 84500, 447000, 105],
  ['0505', 'Dordrecht', 3311, 3329, 105500, 424500, 121],
  ['0513', 'Gouda', 2801, 2809, 106500, 447500, 75],
  ['0518', "'s-Gravenhage", 2491, 2599, 81000, 455000, 566],
  ['0546', 'Leiden', 2311, 2334, 93500, 464000, 128],
  ['0599', 'Rotterdam', 3011, 3089, 92500, 437500, 671],
  ['0637', 'Zoetermeer', 2711, 2729, 93000, 451500, 128],
  ['0687', 'Middelburg', 4331, 4337, 31500, 391500, 49],
  ['0758', 'Breda', 4811, 4839, 112500, 400500, 186],
  ['0772', 'Eindhoven', 5611, 5658, 161500, 383500, 243],
  ['0796', "'s-Hertogenbosch", 5211, 5237, 149500, 411500, 160],
  ['0855', 'Tilburg', 5011, 5049, 133500, 397500, 227],
  ['0917', 'Heerlen', 6411, 6422, 197000, 322000, 87],
  ['0935', 'Maastricht', 6211, 6229, 176500, 317500, 122],
  ['0983', 'Venlo', 5911, 5929, 209500, 375500, 103],
  ['0995', 'Lelystad', 8211, 8245, 161500, 503000, 82],
];

/** Sorted by code, so that BAG ids (which start with it) sort by municipality. */
export const MUNICIPALITIES: readonly Municipality[] = RAW.map(([code, name, p0, p1, x, y, population]) => ({
  code,
  name,
  pc4: [p0, p1] as const,
  rd: [x, y] as const,
  population,
})).sort((a, b) => (a.code < b.code ? -1 : 1));

export const MUNICIPALITY_CODES: ReadonlySet<string> = new Set(MUNICIPALITIES.map((m) => m.code));

const STEMS = [
  'Kerk', 'School', 'Molen', 'Dorps', 'Stations', 'Haven', 'Markt', 'Juliana', 'Beatrix', 'Wilhelmina',
  'Oranje', 'Emma', 'Nassau', 'Prins Hendrik', 'Willem', 'Rembrandt', 'Vondel', 'Erasmus', 'Spinoza', 'Huygens',
  'Hugo de Groot', 'Thorbecke', 'Van Gogh', 'Mondriaan', 'Vermeer', 'Frans Hals', 'Jan Steen', 'Tulp', 'Rozen', 'Linden',
  'Eiken', 'Beuken', 'Berken', 'Esdoorn', 'Kastanje', 'Wilgen', 'Populieren', 'Iepen', 'Essen', 'Elzen',
  'Hazelaar', 'Meidoorn', 'Vlier', 'Jasmijn', 'Lavendel', 'Zonnebloem', 'Klaver', 'Madelief', 'Boterbloem', 'Hyacinten',
  'Narcissen', 'Krokus', 'Seringen', 'Merel', 'Lijster', 'Zwaluw', 'Spreeuwen', 'Koolmees', 'Vinken', 'Reiger',
  'Meeuwen', 'Kievit', 'Valken', 'Buizerd', 'Uilen', 'Ooievaar', 'Zwanen', 'Eenden', 'Bever', 'Vossen',
  'Dassen', 'Herten', 'Hazen', 'Egel', 'Noorder', 'Zuider', 'Ooster', 'Wester', 'Hoog', 'Laag',
  'Brug', 'Veld', 'Akker', 'Weide', 'Beemd', 'Heide', 'Bos', 'Duin', 'Strand', 'Zee',
  'Polder', 'Sluis', 'Gemaal', 'Water', 'Beek', 'Vijver', 'Meer', 'Rijn', 'Maas', 'IJssel',
  'Schelde', 'Waal', 'Amstel', 'Vecht', 'Lek', 'Dommel', 'Berkel', 'Hooi', 'Koren', 'Tarwe',
  'Rogge', 'Haver', 'Gerst', 'Vlas', 'Hop', 'Bakkers', 'Smeden', 'Wevers', 'Molenaars', 'Brouwers',
  'Vissers', 'Schippers', 'Kuipers', 'Timmermans', 'Zadelmakers', 'Slot', 'Kasteel', 'Burcht', 'Toren', 'Poort',
  'Industrie', 'Fabriek', 'Handels', 'Sport', 'Tuin', 'Boomgaard', 'Pastorie', 'Klooster', 'Abdij', 'Kapel',
  'Begijnen', 'Gasthuis', 'Weeshuis', 'Raadhuis', 'Post', 'Spoor', 'Tram', 'Kanaal', 'Burgemeester Visser', 'Dokter Schaepman',
  'Professor Lorentz', 'Generaal Foulkes', 'Koningin Emma', 'Pastoor van Ars', 'Meester van der Hoeven', 'Burgemeester de Kieviet', 'Dokter Zamenhof', 'Professor Kamerlingh Onnes', 'Graaf Floris', 'Hertog Jan',
];
const SUFFIXES = ['straat', 'weg', 'laan', 'plein', 'kade', 'singel', 'gracht', 'dreef', 'hof', 'pad', 'steeg', 'dijk', 'park', 'erf', 'plantsoen'];
const QUALIFIERS = ['', 'Nieuwe ', 'Oude ', 'Korte ', 'Lange ', 'Eerste ', 'Tweede ', 'Derde ', 'Kleine ', 'Grote ', 'Binnen ', 'Buiten '];
/** NEN 5825 style abbreviations for the short (24-character) street name. */
const ABBREVIATIONS: readonly [RegExp, string][] = [
  [/^Burgemeester /, 'Burg '],
  [/^Dokter /, 'Dr '],
  [/^Professor /, 'Prof '],
  [/^Generaal /, 'Gen '],
  [/^Koningin /, 'Kon '],
  [/^Pastoor /, 'Past '],
  [/^Meester /, 'Mr '],
  [/straat$/, 'str'],
  [/laan$/, 'ln'],
  [/plantsoen$/, 'plnts'],
];

const NAMES = STEMS.length * SUFFIXES.length;
// A multiplier coprime to NAMES (a prime not dividing it), so that s -> name index is a bijection.
const NAME_STEP = 7919;

export interface StreetAddress {
  officieleStraatnaam: string;
  korteStraatnaam: string;
  postcode: string;
  woonplaats: string;
  /** Map position of the address in RD New metres, to 0.001 m. */
  x: number;
  y: number;
}

function municipalitySalt(m: Municipality): number {
  return Number(m.code) * 2654435761;
}

/** Street s of municipality m: unique names for s < 15 × 165 × 12 per municipality. */
export function streetName(m: Municipality, s: number): string {
  const n = (s * NAME_STEP + (municipalitySalt(m) >>> 0)) % NAMES;
  const stem = STEMS[n % STEMS.length]!;
  const suffix = SUFFIXES[Math.floor(n / STEMS.length)]!;
  const round = Math.floor(s / NAMES);
  const q = QUALIFIERS[round % QUALIFIERS.length]!;
  const extra = round >= QUALIFIERS.length ? ` ${Math.floor(round / QUALIFIERS.length) + 1}` : '';
  // Written as one word, also after a proper name: "Kerkstraat", "Prins Hendrikstraat".
  return `${q}${stem}${suffix}${extra}`;
}

export function shortStreetName(name: string): string {
  if (name.length <= 24) return name;
  let s = name;
  for (const [re, to] of ABBREVIATIONS) s = s.replace(re, to);
  return s.length <= 24 ? s : s.slice(0, 24).trimEnd();
}

const LETTERS = (() => {
  const out: string[] = [];
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  for (const a of A) for (const b of A) if (!['SA', 'SD', 'SS'].includes(a + b)) out.push(a + b);
  return out;
})();
/** Houses per postcode on one side of a street. */
const HOUSES_PER_POSTCODE = 20;
const BLOCKS_PER_STREET = 12;

/**
 * The address at huisnummer h (>= 1) of street s in municipality m. A street lies in one PC4
 * area; each side of it gets a new letter pair every 20 houses (odd and even sides differ, as
 * PostNL does), so postcode + huisnummer is unique while an area has letter pairs left.
 */
export function streetAddress(m: Municipality, s: number, h: number): StreetAddress {
  const name = streetName(m, s);
  const [p0, p1] = m.pc4;
  const areas = p1 - p0 + 1;
  const area = s % areas;
  const local = Math.floor(s / areas);
  const block = Math.floor((h - 1) / (2 * HOUSES_PER_POSTCODE)) * 2 + (h & 1);
  const pair = (local * BLOCKS_PER_STREET + block) % LETTERS.length;
  const letters = LETTERS[(pair * 379 + area * 17) % LETTERS.length]!;
  // The street is a line from a point near the centre, in a direction fixed per street.
  const salt = municipalitySalt(m);
  const radius = 350 * Math.sqrt(m.population + 5);
  const r = radius * Math.sqrt(unit(hashWords(salt, s, 1, 0)));
  const a = 2 * Math.PI * unit(hashWords(salt, s, 2, 0));
  const dir = 2 * Math.PI * unit(hashWords(salt, s, 3, 0));
  const along = (h >> 1) * 9;
  const side = h & 1 ? 6 : -6;
  const x = m.rd[0] + r * Math.cos(a) + along * Math.cos(dir) - side * Math.sin(dir);
  const y = m.rd[1] + r * Math.sin(a) + along * Math.sin(dir) + side * Math.cos(dir);
  return {
    officieleStraatnaam: name,
    korteStraatnaam: shortStreetName(name),
    postcode: `${p0 + area}${letters}`,
    woonplaats: m.name,
    x: Math.round(x * 1000) / 1000,
    y: Math.round(y * 1000) / 1000,
  };
}

/** Streets a municipality's residents are spread over (about one per 250 inhabitants). */
export function streetCount(m: Municipality): number {
  return Math.max(8, Math.round(m.population * 4));
}

/** A 4-digit woonplaatscode for the municipality's main woonplaats (synthetic, stable). */
export function woonplaatsCode(m: Municipality): string {
  return String(1000 + (hashWords(Number(m.code), 0x77706c, 0, 0) % 9000)).padStart(4, '0');
}

/** A 16-digit BAG id: gemeentecode, object type code, 10-digit serial. */
export function bagId(m: Municipality, typeCode: '01' | '10' | '20' | '30', serial: number): string {
  return `${m.code}${typeCode}${String(serial).padStart(10, '0')}`;
}
