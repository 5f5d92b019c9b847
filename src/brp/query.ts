// The Haal Centraal BRP Personen API façade (POST /personen, spec v2.7.0): validates a
// PersonenQuery exactly as the upstream API does (400 application/problem+json with
// invalidParams, in the wording of the upstream features), runs RaadpleegMetBurgerservicenummer,
// ZoekMetPostcodeEnHuisnummer or ZoekMetGeslachtsnaamEnGeboortedatum against a BrpData (a
// dataset keyed by BSN with the indexes of dataset.ts), and cuts each person down to `fields`.
// Persons are stored in the API's Persoon shape (convert.ts, src/generate/persons.ts).
import { ageOn, isIsoDate } from './datum.ts';
import { adresregel1, adresregel2, volledigeNaamOf } from './convert.ts';
import { applyFields, PERSOON_BEPERKT_FIELDS, PERSOON_FIELDS, resolveField, selectionOf } from './fields.ts';

export const BRP_DATASET = 'nl.brp.personen';

export interface BrpData {
  getByBsn(bsns: string[]): Promise<{ key: string; value: unknown }[]>;
  /** Exact match on a secondary index of the dataset, by its field paths and stored values. */
  lookup(fields: string[], values: string[], limit: number): Promise<{ key: string; value: unknown }[]>;
}

export interface BrpAnswer {
  status: number;
  body: unknown;
  contentType: string;
  /** The BSNs disclosed, for the access journal. */
  keys: string[];
}

export interface BrpQueryOptions {
  /** The day leeftijd is computed for; default: now. */
  now?: () => Date;
  /** The problem's `instance`; default: the path the API is served under. */
  instance?: string;
}

export const BRP_JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
export const BRP_PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const BRP_INSTANCE = '/haalcentraal/api/brp/personen';
/** The upstream API refuses searches with more results than this (tooManyResults). */
export const MAX_SEARCH_RESULTS = 10;
/** Persons born on one day read for a name search, at most (the rest would be tooManyResults anyway). */
const BIRTHDAY_CANDIDATES = 100_000;
const BAD_REQUEST_TYPE = 'https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1';

const POSTCODE_FIELD = 'verblijfplaats.verblijfadres.postcode';
const HUISNUMMER_FIELD = 'verblijfplaats.verblijfadres.huisnummer';
const GEBOORTEDATUM_FIELD = 'geboorte.datum.datum';

type Obj = Record<string, unknown>;
export interface InvalidParam {
  code: string;
  name: string;
  reason: string;
}

const PATTERNS = {
  fields: '^[a-zA-Z0-9\\._]{1,200}$',
  burgerservicenummer: '^[0-9]{9}$',
  gemeenteVanInschrijving: '^[0-9]{4}$',
  postcode: '^[1-9]{1}[0-9]{3}[ ]?[A-Za-z]{2}$',
  huisletter: '^[a-zA-Z]{1}$',
  huisnummertoevoeging: '^[a-zA-Z0-9 \\-]{1,4}$',
  geslachtsnaam: "^[a-zA-Z0-9À-ž \\.\\-\\']{1,200}$|^[a-zA-Z0-9À-ž \\.\\-\\']{3,199}\\*{1}$",
  geslacht: '^([Mm]|[Vv]|[Oo])$',
  voorvoegsel: "^[a-zA-Z \\']{1,10}$",
  voornamen: "^[a-zA-Z0-9À-ž \\.\\-\\']{1,199}\\*{0,1}$",
} as const;
// The spec's patterns escape a quote (\'), which JavaScript accepts only without the u flag.
const REGEXPS = Object.fromEntries(Object.entries(PATTERNS).map(([k, p]) => [k, new RegExp(p)])) as Record<keyof typeof PATTERNS, RegExp>;

const COMMON = ['type', 'fields', 'gemeenteVanInschrijving'];
const SEARCHES = {
  RaadpleegMetBurgerservicenummer: { params: [...COMMON, 'burgerservicenummer'], required: ['burgerservicenummer'] },
  ZoekMetPostcodeEnHuisnummer: {
    params: [...COMMON, 'inclusiefOverledenPersonen', 'huisletter', 'huisnummer', 'huisnummertoevoeging', 'postcode', 'geboortedatum', 'geslachtsnaam'],
    required: ['postcode', 'huisnummer'],
  },
  ZoekMetGeslachtsnaamEnGeboortedatum: {
    params: [...COMMON, 'inclusiefOverledenPersonen', 'geboortedatum', 'geslachtsnaam', 'geslacht', 'voorvoegsel', 'voornamen'],
    required: ['geslachtsnaam', 'geboortedatum'],
  },
} as const;
type SearchType = keyof typeof SEARCHES;
/** Query types of the spec that this façade does not answer (no index for them). */
const UNSUPPORTED = ['ZoekMetNaamEnGemeenteVanInschrijving', 'ZoekMetStraatHuisnummerEnGemeenteVanInschrijving', 'ZoekMetNummeraanduidingIdentificatie', 'ZoekMetAdresseerbaarObjectIdentificatie'];

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function problem(status: number, body: Obj, instance: string): BrpAnswer {
  return { status, body: { ...body, instance }, contentType: BRP_PROBLEM_CONTENT_TYPE, keys: [] };
}

function badRequest(params: InvalidParam[], instance: string): BrpAnswer {
  const names = [...new Set(params.map((p) => p.name))].sort();
  return problem(400, {
    type: BAD_REQUEST_TYPE,
    title: 'Een of meerdere parameters zijn niet correct.',
    status: 400,
    detail: `De foutieve parameter(s) zijn: ${names.join(', ')}.`,
    code: 'paramsValidation',
    invalidParams: params,
  }, instance);
}

function tooManyResults(instance: string): BrpAnswer {
  return problem(400, {
    type: BAD_REQUEST_TYPE,
    title: 'Teveel zoekresultaten.',
    status: 400,
    detail: `Meer dan maximum van ${MAX_SEARCH_RESULTS} zoekresultaten gevonden. Verfijn de zoekopdracht.`,
    code: 'tooManyResults',
  }, instance);
}

// ---- validation ----------------------------------------------------------------------------------

interface Validated {
  type: SearchType;
  selection: ReturnType<typeof selectionOf>;
  q: Obj;
}

function checkString(q: Obj, name: keyof typeof PATTERNS, errors: InvalidParam[], label: string = name): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !REGEXPS[name].test(v)) {
    errors.push({ code: 'pattern', name: label, reason: `Waarde voldoet niet aan patroon ${PATTERNS[name]}.` });
    return undefined;
  }
  return v;
}

function validate(body: unknown): Validated | InvalidParam[] {
  if (!isObj(body)) return [{ code: 'required', name: 'type', reason: 'Parameter is verplicht.' }];
  const errors: InvalidParam[] = [];
  const type = body['type'];
  if (type === undefined) return [{ code: 'required', name: 'type', reason: 'Parameter is verplicht.' }];
  if (typeof type !== 'string' || !(type in SEARCHES)) {
    const reason = typeof type === 'string' && UNSUPPORTED.includes(type) ? 'Zoektype wordt door deze server niet ondersteund.' : 'Waarde is geen geldig zoek type.';
    return [{ code: 'value', name: 'type', reason }];
  }
  const search = SEARCHES[type as SearchType];
  for (const k of Object.keys(body)) {
    if (!(search.params as readonly string[]).includes(k)) errors.push({ code: 'unknownParam', name: k, reason: 'Parameter is niet verwacht.' });
  }
  for (const r of ['fields', ...search.required]) {
    if (body[r] === undefined || body[r] === null || body[r] === '') errors.push({ code: 'required', name: r, reason: 'Parameter is verplicht.' });
  }
  const catalogue = type === 'RaadpleegMetBurgerservicenummer' ? PERSOON_FIELDS : PERSOON_BEPERKT_FIELDS;
  const paths: string[][] = [];
  const fields = body['fields'];
  if (fields !== undefined && fields !== null && fields !== '') {
    if (!Array.isArray(fields)) errors.push({ code: 'array', name: 'fields', reason: 'Parameter is geen array.' });
    else if (fields.length < 1) errors.push({ code: 'minItems', name: 'fields', reason: 'Array bevat minder dan 1 items.' });
    else if (fields.length > 130) errors.push({ code: 'maxItems', name: 'fields', reason: 'Array bevat meer dan 130 items.' });
    else {
      for (const [i, f] of fields.entries()) {
        const name = `fields[${i}]`;
        if (typeof f !== 'string' || !REGEXPS.fields.test(f)) {
          errors.push({ code: 'pattern', name, reason: `Waarde voldoet niet aan patroon ${PATTERNS.fields}.` });
          continue;
        }
        const r = resolveField(f, catalogue);
        if ('problem' in r) errors.push({ code: 'fields', name, reason: r.problem === 'unknown' ? 'Parameter bevat een niet bestaande veldnaam.' : 'Parameter bevat een niet toegestane veldnaam.' });
        else paths.push(...r.paths);
      }
    }
  }
  checkString(body, 'gemeenteVanInschrijving', errors);
  if (body['inclusiefOverledenPersonen'] !== undefined && typeof body['inclusiefOverledenPersonen'] !== 'boolean') {
    errors.push({ code: 'boolean', name: 'inclusiefOverledenPersonen', reason: 'Waarde is geen boolean.' });
  }
  if (body['geboortedatum'] !== undefined && (typeof body['geboortedatum'] !== 'string' || !isIsoDate(body['geboortedatum']))) {
    errors.push({ code: 'date', name: 'geboortedatum', reason: 'Waarde is geen geldige datum.' });
  }
  if (type === 'RaadpleegMetBurgerservicenummer') {
    const bsns = body['burgerservicenummer'];
    if (bsns !== undefined && bsns !== null && bsns !== '') {
      if (!Array.isArray(bsns)) errors.push({ code: 'array', name: 'burgerservicenummer', reason: 'Parameter is geen array.' });
      else if (bsns.length < 1) errors.push({ code: 'minItems', name: 'burgerservicenummer', reason: 'Array bevat minder dan 1 items.' });
      else if (bsns.length > 20) errors.push({ code: 'maxItems', name: 'burgerservicenummer', reason: 'Array bevat meer dan 20 items.' });
      else bsns.forEach((b, i) => { if (typeof b !== 'string' || !REGEXPS.burgerservicenummer.test(b)) errors.push({ code: 'pattern', name: `burgerservicenummer[${i}]`, reason: `Waarde voldoet niet aan patroon ${PATTERNS.burgerservicenummer}.` }); });
    }
  }
  if (type === 'ZoekMetPostcodeEnHuisnummer') {
    checkString(body, 'postcode', errors);
    checkString(body, 'huisletter', errors);
    checkString(body, 'huisnummertoevoeging', errors);
    checkString(body, 'geslachtsnaam', errors);
    const h = body['huisnummer'];
    if (h !== undefined && h !== null && h !== '') {
      if (typeof h !== 'number' || !Number.isInteger(h)) errors.push({ code: 'integer', name: 'huisnummer', reason: 'Waarde is geen geldig getal.' });
      else if (h < 1) errors.push({ code: 'minimum', name: 'huisnummer', reason: 'Waarde is lager dan minimum 1.' });
      else if (h > 99999) errors.push({ code: 'maximum', name: 'huisnummer', reason: 'Waarde is hoger dan maximum 99999.' });
    }
  }
  if (type === 'ZoekMetGeslachtsnaamEnGeboortedatum') {
    checkString(body, 'geslachtsnaam', errors);
    checkString(body, 'geslacht', errors);
    checkString(body, 'voorvoegsel', errors);
    checkString(body, 'voornamen', errors);
  }
  if (errors.length > 0) return errors;
  return { type: type as SearchType, selection: selectionOf(paths), q: body };
}

// ---- matching ------------------------------------------------------------------------------------

/** Lowercase without diacritics: "Käster" and "KASTER" both become "kaster". */
export function foldText(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

/** Exact (folded) match, or a prefix match when the pattern ends in `*`. */
export function matchesText(pattern: string, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const p = foldText(pattern);
  const v = foldText(value).replace(/ +/g, ' ');
  return p.endsWith('*') ? v.startsWith(p.slice(0, -1)) : v === p.replace(/ +/g, ' ');
}

function at(o: unknown, path: string): unknown {
  let v = o;
  for (const k of path.split('.')) v = isObj(v) ? v[k] : undefined;
  return v;
}

function isDeceased(p: Obj): boolean {
  return p['overlijden'] !== undefined || at(p, 'opschortingBijhouding.reden.code') === 'O';
}

/** Persoonslijsten suspended as an error ('F') or to be wiped ('W') are never found. */
function isWithdrawn(p: Obj): boolean {
  const r = at(p, 'opschortingBijhouding.reden.code');
  return r === 'F' || r === 'W';
}

function sameCode(a: unknown, b: string): boolean {
  return typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
}

// ---- derived at question time --------------------------------------------------------------------

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** leeftijd (today), and adresregels and volledigeNaam where a stored person lacks them. */
function withDerived(p: Obj, today: string): Obj {
  const out: Obj = { ...p };
  const born = at(p, 'geboorte.datum');
  if (!isDeceased(p) && isObj(born) && born['type'] === 'Datum' && typeof born['datum'] === 'string') {
    const age = ageOn(born['datum'], today);
    if (age >= 0 && age <= 150) out['leeftijd'] = age;
  }
  const naam = p['naam'];
  if (isObj(naam) && naam['volledigeNaam'] === undefined) {
    const v = volledigeNaamOf(naam);
    if (v) out['naam'] = { ...naam, volledigeNaam: v };
  }
  const vp = p['verblijfplaats'];
  if (out['adressering'] === undefined && isObj(vp) && vp['type'] === 'Adres' && isObj(vp['verblijfadres'])) {
    const a = vp['verblijfadres'];
    if (typeof a['korteStraatnaam'] === 'string' && typeof a['huisnummer'] === 'number') {
      const plaats = (typeof a['woonplaats'] === 'string' ? a['woonplaats'] : at(p, 'gemeenteVanInschrijving.omschrijving')) as string | undefined;
      const regel2 = adresregel2(typeof a['postcode'] === 'string' ? a['postcode'] : undefined, plaats);
      out['adressering'] = { adresregel1: adresregel1(a), ...(regel2 ? { adresregel2: regel2 } : {}) };
    }
  }
  return out;
}

// ---- the handler ---------------------------------------------------------------------------------

function persons(rows: { key: string; value: unknown }[]): Array<{ key: string; p: Obj }> {
  return rows.filter((r) => isObj(r.value)).map((r) => ({ key: r.key, p: r.value as Obj }));
}

/** Answers one POST /personen body. Never throws for a bad request; BrpData errors propagate. */
export async function handlePersonenQuery(body: unknown, data: BrpData, options: BrpQueryOptions = {}): Promise<BrpAnswer> {
  const instance = options.instance ?? BRP_INSTANCE;
  const v = validate(body);
  if (Array.isArray(v)) return badRequest(v, instance);
  const { type, selection, q } = v;
  const gemeente = q['gemeenteVanInschrijving'] as string | undefined;
  const inclusiefOverleden = q['inclusiefOverledenPersonen'] === true;
  let found: Array<{ key: string; p: Obj }>;
  if (type === 'RaadpleegMetBurgerservicenummer') {
    const bsns = [...new Set(q['burgerservicenummer'] as string[])];
    const byKey = new Map(persons(await data.getByBsn(bsns)).map((r) => [r.key, r]));
    found = bsns.map((b) => byKey.get(b)).filter((r): r is { key: string; p: Obj } => !!r && !isWithdrawn(r.p));
  } else {
    let candidates: Array<{ key: string; p: Obj }>;
    if (type === 'ZoekMetPostcodeEnHuisnummer') {
      const postcode = (q['postcode'] as string).replace(' ', '').toUpperCase();
      candidates = persons(await data.lookup([POSTCODE_FIELD, HUISNUMMER_FIELD], [postcode, String(q['huisnummer'])], BIRTHDAY_CANDIDATES));
      const letter = q['huisletter'] as string | undefined;
      const toevoeging = q['huisnummertoevoeging'] as string | undefined;
      candidates = candidates.filter(({ p }) =>
        (letter === undefined || sameCode(at(p, 'verblijfplaats.verblijfadres.huisletter'), letter)) &&
        (toevoeging === undefined || sameCode(at(p, 'verblijfplaats.verblijfadres.huisnummertoevoeging'), toevoeging)) &&
        (q['geboortedatum'] === undefined || at(p, GEBOORTEDATUM_FIELD) === q['geboortedatum']) &&
        (q['geslachtsnaam'] === undefined || matchesText(q['geslachtsnaam'] as string, at(p, 'naam.geslachtsnaam'))));
    } else {
      candidates = persons(await data.lookup([GEBOORTEDATUM_FIELD], [q['geboortedatum'] as string], BIRTHDAY_CANDIDATES));
      candidates = candidates.filter(({ p }) =>
        matchesText(q['geslachtsnaam'] as string, at(p, 'naam.geslachtsnaam')) &&
        (q['voornamen'] === undefined || matchesText(q['voornamen'] as string, at(p, 'naam.voornamen'))) &&
        (q['voorvoegsel'] === undefined || matchesText(q['voorvoegsel'] as string, at(p, 'naam.voorvoegsel'))) &&
        (q['geslacht'] === undefined || sameCode(at(p, 'geslacht.code'), q['geslacht'] as string)));
    }
    found = candidates.filter(({ p }) => !isWithdrawn(p) && (inclusiefOverleden || !isDeceased(p)));
  }
  if (gemeente !== undefined) found = found.filter(({ p }) => at(p, 'gemeenteVanInschrijving.code') === gemeente);
  if (type !== 'RaadpleegMetBurgerservicenummer' && found.length > MAX_SEARCH_RESULTS) return tooManyResults(instance);
  const today = isoDay((options.now ?? (() => new Date()))());
  const personen = found.map(({ p }) => applyFields(withDerived(p, today), selection));
  return { status: 200, body: { type, personen }, contentType: BRP_JSON_CONTENT_TYPE, keys: found.map((r) => r.key) };
}
