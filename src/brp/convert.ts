// Converts a person of the upstream BRP API mock (test-data.json: GBA-like, dates "19750707",
// huisnummer as a string, a flat verblijfplaats, aanduidingGegevensInOnderzoek codes) into the
// Haal Centraal BRP Personen API v2 Persoon (specificatie/resolved/openapi.yaml, v2.7.0), with
// the derived fields the API computes once per person: voorletters, volledigeNaam and the
// adresregels of adressering (NEN 5825 as in the features). Leeftijd depends on the day of the
// question and is added by the façade. Throws 'input.malformed' naming the person and the field.
import { EmbassyError } from '../errors.ts';
import { parseGbaDatum, type BrpDatum } from './datum.ts';

type Obj = Record<string, unknown>;
type Waarde = { code?: string; omschrijving?: string };

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Drops undefined members and empty objects, so absent data stays absent. */
function compact<T extends Obj>(o: T): T | undefined {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (isObj(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return Object.keys(out).length === 0 ? undefined : (out as T);
}

function waarde(v: unknown): Waarde | undefined {
  const o = obj(v);
  return compact({ code: str(o['code']), omschrijving: str(o['omschrijving']) });
}

class Converter {
  constructor(private readonly where: string) {}

  datum(v: unknown, field: string): BrpDatum | undefined {
    if (v === undefined || v === null || v === '') return undefined;
    return parseGbaDatum(v as string, `${this.where} ${field}`);
  }

  fail(message: string): never {
    throw new EmbassyError('input.malformed', `${this.where}: ${message}`);
  }
}

// ---- in onderzoek --------------------------------------------------------------------------------
// aanduidingGegevensInOnderzoek = CCGGEE (category, group, element); GG = 00 puts the whole
// category in research, EE = 00 a whole group. Each table row: GGEE → [target, field] pairs.

type Targets = Record<string, Obj>;
type Table = Array<[string, Array<[string, string]>]>;

function applyOnderzoek(raw: unknown, table: Table, targets: Targets, dateField: Record<string, string>, c: Converter, field: string): void {
  const o = obj(raw);
  const code = str(o['aanduidingGegevensInOnderzoek']);
  if (!code) return;
  if (!/^[0-9]{6}$/.test(code)) c.fail(`${field}.aanduidingGegevensInOnderzoek: expected 6 digits, got ${JSON.stringify(code)}`);
  const ggee = code.slice(2);
  const rows = table.filter(([k]) => ggee === '0000' || (ggee.endsWith('00') ? k.startsWith(ggee.slice(0, 2)) : k === ggee));
  const datum = c.datum(o['datumIngangOnderzoek'], `${field}.datumIngangOnderzoek`);
  const touched = new Set<string>();
  for (const [, pairs] of rows) {
    for (const [target, f] of pairs) {
      const t = targets[target];
      if (!t) continue;
      const io = (t['inOnderzoek'] ??= {}) as Obj;
      io[f] = true;
      touched.add(target);
    }
  }
  for (const target of touched) {
    const io = targets[target]!['inOnderzoek'] as Obj;
    if (datum) io[dateField[target] ?? 'datumIngangOnderzoek'] = datum;
  }
}

const NAAM_ROWS: Table = [
  ['0210', [['naam', 'voornamen'], ['naam', 'voorletters'], ['naam', 'volledigeNaam']]],
  ['0220', [['naam', 'adellijkeTitelPredicaat'], ['naam', 'volledigeNaam']]],
  ['0230', [['naam', 'voorvoegsel'], ['naam', 'volledigeNaam']]],
  ['0240', [['naam', 'geslachtsnaam'], ['naam', 'volledigeNaam']]],
];
const GEBOORTE_ROWS: Table = [
  ['0310', [['geboorte', 'datum']]],
  ['0320', [['geboorte', 'plaats']]],
  ['0330', [['geboorte', 'land']]],
];
const PERSOON_TABLE: Table = [
  ['0120', [['persoon', 'burgerservicenummer']]],
  ...NAAM_ROWS,
  ['0310', [['geboorte', 'datum'], ['persoon', 'leeftijd']]],
  ['0320', [['geboorte', 'plaats']]],
  ['0330', [['geboorte', 'land']]],
  ['0410', [['persoon', 'geslacht']]],
  ['6110', [['naam', 'aanduidingNaamgebruik']]],
];
const RELATIE_TABLE: Table = [['0120', [['relatie', 'burgerservicenummer']]], ...NAAM_ROWS, ...GEBOORTE_ROWS, ['0410', [['relatie', 'geslacht']]]];
const OUDER_TABLE: Table = [...RELATIE_TABLE, ['6210', [['relatie', 'datumIngangFamilierechtelijkeBetrekking']]]];
const PARTNER_TABLE: Table = [
  ...RELATIE_TABLE,
  ['0610', [['aangaan', 'datum']]],
  ['0620', [['aangaan', 'plaats']]],
  ['0630', [['aangaan', 'land']]],
  ['0710', [['ontbinding', 'datum']]],
  ['1510', [['relatie', 'soortVerbintenis']]],
];
const NATIONALITEIT_TABLE: Table = [
  ['0510', [['nat', 'nationaliteit'], ['nat', 'type']]],
  ['6310', [['nat', 'redenOpname']]],
  ['6510', [['nat', 'type']]],
];
const OVERLIJDEN_TABLE: Table = [
  ['0810', [['overlijden', 'datum']]],
  ['0820', [['overlijden', 'plaats']]],
  ['0830', [['overlijden', 'land']]],
];
const VERBLIJFPLAATS_TABLE: Table = [
  ['0910', [['persoon', 'gemeenteVanInschrijving']]],
  ['0920', [['persoon', 'datumInschrijvingInGemeente']]],
  ['1010', [['vp', 'functieAdres']]],
  ['1030', [['vp', 'datumVan']]],
  ['1110', [['adres', 'korteStraatnaam']]],
  ['1115', [['adres', 'officieleStraatnaam']]],
  ['1120', [['adres', 'huisnummer']]],
  ['1130', [['adres', 'huisletter']]],
  ['1140', [['adres', 'huisnummertoevoeging']]],
  ['1150', [['adres', 'aanduidingBijHuisnummer']]],
  ['1160', [['adres', 'postcode']]],
  ['1170', [['adres', 'woonplaats']]],
  ['1180', [['vp', 'adresseerbaarObjectIdentificatie']]],
  ['1190', [['vp', 'nummeraanduidingIdentificatie']]],
  ['1210', [['adres', 'locatiebeschrijving']]],
  ['1310', [['adres', 'land']]],
  ['1320', [['vp', 'datumVan']]],
  ['1330', [['adres', 'regel1']]],
  ['1340', [['adres', 'regel2']]],
  ['1350', [['adres', 'regel3']]],
  ['8510', [['vp', 'datumIngangGeldigheid']]],
];

// ---- names ---------------------------------------------------------------------------------------

/** "Jan Peter" → "J.P."; a name that is an initial already ("R.") keeps its letter. */
export function voorlettersOf(voornamen: string): string {
  return voornamen
    .split(' ')
    .filter((n) => n.length > 0)
    .map((n) => (n.startsWith('IJ') || n.startsWith('Ij') ? 'IJ.' : `${n[0]!.toUpperCase()}.`))
    .join('');
}

/** predicaat + voornamen + titel + voorvoegsel + geslachtsnaam, as the API's volledigeNaam. */
export function volledigeNaamOf(naam: Obj): string | undefined {
  const titel = obj(naam['adellijkeTitelPredicaat']);
  const soort = str(titel['soort']);
  const omschrijving = str(titel['omschrijving'])?.toLowerCase();
  const parts = [
    soort === 'predicaat' ? omschrijving : undefined,
    str(naam['voornamen'])?.trim(),
    soort === 'titel' ? omschrijving : undefined,
    str(naam['voorvoegsel']),
    str(naam['geslachtsnaam']),
  ].filter((p): p is string => !!p);
  const s = parts.join(' ').replace(/ +/g, ' ').trim();
  return s.length > 0 ? s : undefined;
}

function naamOf(raw: unknown, c: Converter, field: string, persoon: boolean): Obj | undefined {
  const n = obj(raw);
  const voornamen = str(n['voornamen']);
  const titel = obj(n['adellijkeTitelPredicaat']);
  const soort = str(titel['soort']);
  if (soort !== undefined && soort !== 'titel' && soort !== 'predicaat') c.fail(`${field}.adellijkeTitelPredicaat.soort: expected titel or predicaat, got ${JSON.stringify(soort)}`);
  const base: Obj = {
    voornamen,
    adellijkeTitelPredicaat: compact({ code: str(titel['code']), omschrijving: str(titel['omschrijving']), soort }),
    voorvoegsel: str(n['voorvoegsel']),
    geslachtsnaam: str(n['geslachtsnaam']),
    voorletters: voornamen ? voorlettersOf(voornamen) : undefined,
  };
  if (persoon) {
    base['volledigeNaam'] = volledigeNaamOf(base);
    base['aanduidingNaamgebruik'] = waarde(n['aanduidingNaamgebruik']);
  }
  return compact(base);
}

function geboorteOf(raw: unknown, c: Converter, field: string): Obj | undefined {
  const g = obj(raw);
  return compact({ datum: c.datum(g['datum'], `${field}.datum`), land: waarde(g['land']), plaats: waarde(g['plaats']) });
}

// ---- relatives -----------------------------------------------------------------------------------

function relatieOf(raw: unknown, c: Converter, field: string, table: Table): { relatie: Obj; targets: Targets } {
  const r = obj(raw);
  const relatie: Obj = {};
  const naam = naamOf(r['naam'], c, `${field}.naam`, false) ?? {};
  const geboorte = geboorteOf(r['geboorte'], c, `${field}.geboorte`) ?? {};
  const targets: Targets = { relatie, naam, geboorte };
  applyOnderzoek(r['inOnderzoek'], table, targets, {}, c, `${field}.inOnderzoek`);
  if (Object.keys(naam).length) relatie['naam'] = naam;
  if (Object.keys(geboorte).length) relatie['geboorte'] = geboorte;
  return { relatie, targets };
}

function kindOf(raw: unknown, c: Converter, field: string): Obj | undefined {
  const r = obj(raw);
  const { relatie } = relatieOf(raw, c, field, RELATIE_TABLE);
  return compact({ burgerservicenummer: str(r['burgerservicenummer']), ...relatie });
}

function ouderOf(raw: unknown, c: Converter, field: string): Obj | undefined {
  const r = obj(raw);
  const { relatie } = relatieOf(raw, c, field, OUDER_TABLE);
  const aanduiding = str(r['ouderAanduiding']);
  if (aanduiding !== undefined && aanduiding !== '1' && aanduiding !== '2') c.fail(`${field}.ouderAanduiding: expected 1 or 2, got ${JSON.stringify(aanduiding)}`);
  const { inOnderzoek, ...rest } = relatie;
  return compact({
    burgerservicenummer: str(r['burgerservicenummer']),
    geslacht: waarde(r['geslacht']),
    ouderAanduiding: aanduiding,
    datumIngangFamilierechtelijkeBetrekking: c.datum(r['datumIngangFamilierechtelijkeBetrekking'], `${field}.datumIngangFamilierechtelijkeBetrekking`),
    ...rest,
    inOnderzoek,
  });
}

function partnerOf(raw: unknown, c: Converter, field: string): Obj | undefined {
  const r = obj(raw);
  const a = obj(r['aangaanHuwelijkPartnerschap']);
  const aangaan: Obj = compact({ datum: c.datum(a['datum'], `${field}.aangaanHuwelijkPartnerschap.datum`), land: waarde(a['land']), plaats: waarde(a['plaats']) }) ?? {};
  const ontbinding: Obj = compact({ datum: c.datum(obj(r['ontbindingHuwelijkPartnerschap'])['datum'], `${field}.ontbindingHuwelijkPartnerschap.datum`) }) ?? {};
  const relatie: Obj = {};
  const naam = naamOf(r['naam'], c, `${field}.naam`, false) ?? {};
  const geboorte = geboorteOf(r['geboorte'], c, `${field}.geboorte`) ?? {};
  applyOnderzoek(r['inOnderzoek'], PARTNER_TABLE, { relatie, naam, geboorte, aangaan, ontbinding }, {}, c, `${field}.inOnderzoek`);
  return compact({
    burgerservicenummer: str(r['burgerservicenummer']),
    geslacht: waarde(r['geslacht']),
    soortVerbintenis: waarde(r['soortVerbintenis']),
    naam: compact(naam),
    geboorte: compact(geboorte),
    aangaanHuwelijkPartnerschap: compact(aangaan),
    ontbindingHuwelijkPartnerschap: compact(ontbinding),
    inOnderzoek: relatie['inOnderzoek'],
  });
}

/** The API delivers the current partners, or else only the most recently dissolved one. */
function currentPartners(partners: Obj[]): Obj[] {
  const current = partners.filter((p) => p['ontbindingHuwelijkPartnerschap'] === undefined);
  if (current.length > 0 || partners.length === 0) return current;
  const key = (p: Obj) => {
    const d = obj(obj(p['ontbindingHuwelijkPartnerschap'])['datum']);
    return str(d['datum']) ?? (d['jaar'] !== undefined ? `${d['jaar']}-${String(d['maand'] ?? 0).padStart(2, '0')}` : '');
  };
  return [partners.reduce((a, b) => (key(b) > key(a) ? b : a))];
}

// ---- nationaliteiten, verblijfplaats, gezag ------------------------------------------------------

function nationaliteitOf(raw: unknown, c: Converter, field: string): Obj {
  const n = obj(raw);
  const nat = waarde(n['nationaliteit']);
  const bijzonder = str(obj(n['aanduidingBijzonderNederlanderschap'])['code']) ?? str(n['aanduidingBijzonderNederlanderschap']);
  const type =
    bijzonder === 'B' ? 'BehandeldAlsNederlander'
    : bijzonder === 'V' ? 'VastgesteldNietNederlander'
    : nat?.code === '0499' ? 'Staatloos'
    : nat?.code === '0000' ? 'NationaliteitOnbekend'
    : nat?.code !== undefined ? 'Nationaliteit'
    : c.fail(`${field}: no nationaliteit and no aanduiding bijzonder Nederlanderschap`);
  const out: Obj = {
    type,
    ...(type === 'Nationaliteit' ? { nationaliteit: nat } : {}),
    redenOpname: waarde(n['redenOpname']),
    datumIngangGeldigheid: c.datum(n['datumIngangGeldigheid'], `${field}.datumIngangGeldigheid`),
  };
  applyOnderzoek(n['inOnderzoek'], NATIONALITEIT_TABLE, { nat: out }, {}, c, `${field}.inOnderzoek`);
  return compact(out)!;
}

const STANDAARD_STRAAT = '.';

function huisnummerOf(v: unknown, c: Converter, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const s = String(v);
  if (!/^[0-9]{1,5}$/.test(s) || Number(s) < 1) c.fail(`${field}: expected a huisnummer 1..99999, got ${JSON.stringify(v)}`);
  return Number(s);
}

/** Returns the verblijfplaats, the adressering's adresregels, and the persoon-level flags. */
function verblijfplaatsOf(raw: unknown, persoon: Obj, c: Converter): { verblijfplaats?: Obj; adressering?: Obj } {
  const v = obj(raw);
  if (Object.keys(v).length === 0) return {};
  const field = 'verblijfplaats';
  const land = waarde(v['land']);
  const datumIngangGeldigheid = c.datum(v['datumIngangGeldigheid'], `${field}.datumIngangGeldigheid`);
  const vp: Obj = {};
  let adres: Obj = {};
  let adressering: Obj | undefined;
  if (land !== undefined) {
    if (land.code === '0000') {
      Object.assign(vp, { type: 'VerblijfplaatsOnbekend', datumVan: c.datum(v['datumAanvangAdresBuitenland'], `${field}.datumAanvangAdresBuitenland`) });
    } else {
      adres = compact({ regel1: str(v['regel1']), regel2: str(v['regel2']), regel3: str(v['regel3']), land }) ?? {};
      Object.assign(vp, { type: 'VerblijfplaatsBuitenland', datumVan: c.datum(v['datumAanvangAdresBuitenland'], `${field}.datumAanvangAdresBuitenland`) });
      if (adres['regel1'] || adres['regel2'] || adres['regel3']) {
        adressering = compact({ adresregel1: adres['regel1'], adresregel2: adres['regel2'], adresregel3: adres['regel3'], land });
      }
    }
  } else if (str(v['locatiebeschrijving'])) {
    adres = { locatiebeschrijving: v['locatiebeschrijving'] };
    Object.assign(vp, { type: 'Locatie', datumVan: c.datum(v['datumAanvangAdreshouding'], `${field}.datumAanvangAdreshouding`), functieAdres: waarde(v['functieAdres']) });
    const gemeente = str(obj(persoon['gemeenteVanInschrijving'])['omschrijving']);
    adressering = compact({ adresregel1: v['locatiebeschrijving'], adresregel2: gemeente?.toUpperCase() });
  } else {
    const huisnummer = huisnummerOf(v['huisnummer'], c, `${field}.huisnummer`);
    const straat = str(v['straat']);
    const postcode = str(v['postcode'])?.replace(' ', '').toUpperCase();
    adres = compact({
      officieleStraatnaam: str(v['naamOpenbareRuimte']),
      korteStraatnaam: straat,
      huisnummer,
      huisletter: str(v['huisletter']),
      huisnummertoevoeging: str(v['huisnummertoevoeging']),
      aanduidingBijHuisnummer: waarde(v['aanduidingBijHuisnummer']),
      postcode,
      woonplaats: str(v['woonplaats']),
    }) ?? {};
    Object.assign(vp, {
      type: 'Adres',
      datumVan: c.datum(v['datumAanvangAdreshouding'], `${field}.datumAanvangAdreshouding`),
      functieAdres: waarde(v['functieAdres']),
      adresseerbaarObjectIdentificatie: str(v['adresseerbaarObjectIdentificatie']),
      nummeraanduidingIdentificatie: str(v['nummeraanduidingIdentificatie']),
    });
    if (straat && straat !== STANDAARD_STRAAT && huisnummer !== undefined) {
      const gemeente = str(obj(persoon['gemeenteVanInschrijving'])['omschrijving']);
      adressering = compact({ adresregel1: adresregel1(adres), adresregel2: adresregel2(postcode, str(v['woonplaats']) ?? gemeente) });
    }
  }
  vp['datumIngangGeldigheid'] = datumIngangGeldigheid;
  const io = obj(v['inOnderzoek']);
  if (str(io['aanduidingGegevensInOnderzoek']) === '089999') {
    // 08.99.99 is no research: it records that the person was found not to live at the address.
    vp['indicatieVastgesteldVerblijftNietOpAdres'] = true;
    if (adressering) adressering['indicatieVastgesteldVerblijftNietOpAdres'] = true;
  } else {
    applyOnderzoek(io, [...VERBLIJFPLAATS_TABLE, ['0000', [['vp', 'type']]]], { vp, adres, persoon }, { persoon: 'datumIngangOnderzoekGemeente' }, c, `${field}.inOnderzoek`);
    pruneOnderzoek(vp, VP_FLAGS[vp['type'] as string] ?? []);
    pruneOnderzoek(adres, ADRES_FLAGS[vp['type'] as string] ?? []);
    if (adressering && (vp['inOnderzoek'] || adres['inOnderzoek'])) {
      const d = (obj(vp['inOnderzoek'])['datumIngangOnderzoek'] ?? obj(adres['inOnderzoek'])['datumIngangOnderzoek']) as BrpDatum | undefined;
      adressering['inOnderzoek'] = compact({
        adresregel1: adressering['adresregel1'] !== undefined ? true : undefined,
        adresregel2: adressering['adresregel2'] !== undefined ? true : undefined,
        adresregel3: adressering['adresregel3'] !== undefined ? true : undefined,
        land: adressering['land'] !== undefined ? true : undefined,
        datumIngangOnderzoekVerblijfplaats: d,
      });
    }
  }
  const verblijfadres = compact(adres);
  if (verblijfadres && vp['type'] !== 'VerblijfplaatsOnbekend') vp['verblijfadres'] = verblijfadres;
  return { verblijfplaats: compact(vp), adressering };
}

/** Research flags that exist for each kind of verblijfplaats (the spec's *InOnderzoek schemas). */
const VP_FLAGS: Record<string, string[]> = {
  Adres: ['type', 'datumVan', 'datumIngangGeldigheid', 'nummeraanduidingIdentificatie', 'adresseerbaarObjectIdentificatie', 'functieAdres'],
  VerblijfplaatsBuitenland: ['type', 'datumVan', 'datumIngangGeldigheid'],
  Locatie: ['type', 'datumVan', 'datumIngangGeldigheid', 'functieAdres'],
  VerblijfplaatsOnbekend: ['type', 'datumVan', 'datumIngangGeldigheid'],
};
const ADRES_FLAGS: Record<string, string[]> = {
  Adres: ['aanduidingBijHuisnummer', 'huisletter', 'huisnummer', 'huisnummertoevoeging', 'officieleStraatnaam', 'korteStraatnaam', 'postcode', 'woonplaats'],
  VerblijfplaatsBuitenland: ['regel1', 'regel2', 'regel3', 'land'],
  Locatie: ['locatiebeschrijving'],
};

function pruneOnderzoek(target: Obj, allowed: string[]): void {
  const io = target['inOnderzoek'];
  if (!isObj(io)) return;
  for (const k of Object.keys(io)) if (io[k] === true && !allowed.includes(k)) delete io[k];
  if (!Object.values(io).includes(true)) delete target['inOnderzoek'];
}

/** NEN 5825 line 1 as the features compose it: straat [bij|t/o] huisnummer[ letter+toevoeging]. */
export function adresregel1(a: Obj): string {
  const aanduiding = str(obj(a['aanduidingBijHuisnummer'])['code']);
  const bij = aanduiding === 'by' ? ' bij' : aanduiding === 'to' ? ' t/o' : '';
  const letter = str(a['huisletter']) ?? '';
  const toevoeging = str(a['huisnummertoevoeging']) ?? '';
  let nummer = String(a['huisnummer']);
  if (letter) nummer += ` ${letter}${toevoeging}`;
  else if (toevoeging) nummer += /^[0-9]/.test(toevoeging) ? `-${toevoeging}` : ` ${toevoeging}`;
  return `${str(a['korteStraatnaam'])}${bij} ${nummer}`;
}

/** NEN 5825 line 2: "1234 AB  WOONPLAATS" (two spaces), or the plaats alone without a postcode. */
export function adresregel2(postcode: string | undefined, plaats: string | undefined): string | undefined {
  const p = plaats?.toUpperCase();
  if (!postcode) return p;
  const pc = `${postcode.slice(0, 4)} ${postcode.slice(4)}`;
  return p ? `${pc}  ${p}` : pc;
}

const GEZAG_TYPES: Record<string, string> = {
  TweehoofdigOuderlijkGezag: 'GezamenlijkOuderlijkGezag',
  GezamenlijkOuderlijkGezag: 'GezamenlijkOuderlijkGezag',
  EenhoofdigOuderlijkGezag: 'EenhoofdigOuderlijkGezag',
  GezamenlijkGezag: 'GezamenlijkGezag',
  Voogdij: 'Voogdij',
  TijdelijkGeenGezag: 'TijdelijkGeenGezag',
  GezagNietTeBepalen: 'GezagNietTeBepalen',
};

/** The mock holds no toelichting; the spec requires one for these two kinds. */
const TOELICHTING: Record<string, string> = {
  TijdelijkGeenGezag: 'tijdelijk geen gezag.',
  GezagNietTeBepalen: 'gezag is niet te bepalen.',
};

export type NameOf = (bsn: string) => string | undefined;

function gezagOf(raw: unknown, bsn: string | undefined, nameOf: NameOf, c: Converter, field: string): Obj {
  const g = obj(raw);
  const type = GEZAG_TYPES[str(g['type']) ?? ''] ?? c.fail(`${field}.type: unknown gezag type ${JSON.stringify(g['type'])}`);
  const persoonRef = (r: unknown): Obj => {
    const b = str(obj(r)['burgerservicenummer']);
    const naam = b ? nameOf(b) : undefined;
    return { ...(b ? { burgerservicenummer: b } : {}), naam: naam ? { volledigeNaam: naam } : {} };
  };
  const minderjarigeBsn = str(obj(g['minderjarige'])['burgerservicenummer']) ?? bsn;
  if (!minderjarigeBsn) c.fail(`${field}: no minderjarige`);
  const minderjarigeNaam = nameOf(minderjarigeBsn);
  const out: Obj = { type, minderjarige: { burgerservicenummer: minderjarigeBsn, ...(minderjarigeNaam ? { naam: { volledigeNaam: minderjarigeNaam } } : {}) } };
  if (type === 'GezamenlijkOuderlijkGezag') out['ouders'] = (Array.isArray(g['ouders']) ? g['ouders'] : []).map(persoonRef);
  if (type === 'EenhoofdigOuderlijkGezag' || type === 'GezamenlijkGezag') out['ouder'] = persoonRef(g['ouder']);
  if (type === 'GezamenlijkGezag') {
    const d = obj(g['derde']);
    out['derde'] = str(d['burgerservicenummer']) ? { type: 'BekendeDerde', ...persoonRef(d) } : { type: 'OnbekendeDerde' };
  }
  if (type === 'Voogdij') out['derden'] = (Array.isArray(g['derden']) ? g['derden'] : []).map((d) => ({ type: 'BekendeDerde', ...persoonRef(d) }));
  if (TOELICHTING[type]) out['toelichting'] = str(g['toelichting']) ?? TOELICHTING[type];
  return out;
}

// ---- the person ----------------------------------------------------------------------------------

function list(raw: unknown, c: Converter, field: string): unknown[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) c.fail(`${field}: expected an array`);
  return raw;
}

/**
 * One mock person → one Persoon. `nameOf` resolves the volledigeNaam of a person named in gezag
 * by BSN (the mock holds only numbers there); without it those names are left empty.
 */
export function convertMockPerson(raw: unknown, position: string, nameOf: NameOf = () => undefined): Obj {
  if (!isObj(raw)) throw new EmbassyError('input.malformed', `${position}: expected a JSON object`);
  const bsn = str(raw['burgerservicenummer']);
  const c = new Converter(bsn ? `${position} (burgerservicenummer ${bsn})` : position);
  if (!bsn || !/^[0-9]{9}$/.test(bsn)) c.fail(`burgerservicenummer: expected 9 digits, got ${JSON.stringify(raw['burgerservicenummer'])}`);
  const p: Obj = {};
  p['aNummer'] = str(raw['aNummer']);
  p['burgerservicenummer'] = bsn;
  p['datumEersteInschrijvingGBA'] = c.datum(raw['datumEersteInschrijvingGBA'], 'datumEersteInschrijvingGBA');
  const geheim = raw['geheimhoudingPersoonsgegevens'];
  if (geheim !== undefined && geheim !== '0' && geheim !== 0 && geheim !== false) p['geheimhoudingPersoonsgegevens'] = true;
  p['geslacht'] = waarde(raw['geslacht']);
  const uitsluiting = obj(raw['uitsluitingKiesrecht']);
  p['uitsluitingKiesrecht'] = compact({ uitgeslotenVanKiesrecht: uitsluiting['uitgeslotenVanKiesrecht'] === true ? true : undefined, einddatum: c.datum(uitsluiting['einddatum'], 'uitsluitingKiesrecht.einddatum') });
  const europees = obj(raw['europeesKiesrecht']);
  p['europeesKiesrecht'] = compact({ aanduiding: waarde(europees['aanduiding']), einddatumUitsluiting: c.datum(europees['einddatumUitsluiting'], 'europeesKiesrecht.einddatumUitsluiting') });
  const naam = naamOf(raw['naam'], c, 'naam', true) ?? {};
  const geboorte = geboorteOf(raw['geboorte'], c, 'geboorte') ?? {};
  p['naam'] = naam;
  p['nationaliteiten'] = list(raw['nationaliteiten'], c, 'nationaliteiten').map((n, i) => nationaliteitOf(n, c, `nationaliteiten[${i}]`));
  p['geboorte'] = geboorte;
  const opschorting = obj(raw['opschortingBijhouding']);
  p['opschortingBijhouding'] = compact({ reden: waarde(opschorting['reden']), datum: c.datum(opschorting['datum'], 'opschortingBijhouding.datum') });
  const ov = obj(raw['overlijden']);
  const overlijden: Obj = compact({ datum: c.datum(ov['datum'], 'overlijden.datum'), land: waarde(ov['land']), plaats: waarde(ov['plaats']) }) ?? {};
  applyOnderzoek(ov['inOnderzoek'], OVERLIJDEN_TABLE, { overlijden }, {}, c, 'overlijden.inOnderzoek');
  p['overlijden'] = overlijden;
  p['gemeenteVanInschrijving'] = waarde(raw['gemeenteVanInschrijving']);
  p['datumInschrijvingInGemeente'] = c.datum(raw['datumInschrijvingInGemeente'], 'datumInschrijvingInGemeente');
  const { verblijfplaats, adressering } = verblijfplaatsOf(raw['verblijfplaats'], p, c);
  p['verblijfplaats'] = verblijfplaats;
  const im = obj(raw['immigratie']);
  p['immigratie'] = compact({ landVanwaarIngeschreven: waarde(im['landVanwaarIngeschreven']), datumVestigingInNederland: c.datum(im['datumVestigingInNederland'], 'immigratie.datumVestigingInNederland') });
  p['adressering'] = adressering;
  if (raw['indicatieCurateleRegister'] === true) p['indicatieCurateleRegister'] = true;
  p['indicatieGezagMinderjarige'] = waarde(raw['indicatieGezagMinderjarige']);
  const gezag = list(raw['gezag'], c, 'gezag').map((g, i) => gezagOf(g, bsn, nameOf, c, `gezag[${i}]`));
  if (gezag.length > 0) p['gezag'] = gezag;
  const vt = obj(raw['verblijfstitel']);
  p['verblijfstitel'] = compact({ aanduiding: waarde(vt['aanduiding']), datumEinde: c.datum(vt['datumEinde'], 'verblijfstitel.datumEinde'), datumIngang: c.datum(vt['datumIngang'], 'verblijfstitel.datumIngang') });
  const kinderen = list(raw['kinderen'], c, 'kinderen').map((k, i) => kindOf(k, c, `kinderen[${i}]`)).filter((k): k is Obj => !!k);
  const ouders = list(raw['ouders'], c, 'ouders').map((o, i) => ouderOf(o, c, `ouders[${i}]`)).filter((o): o is Obj => !!o);
  const partners = currentPartners(list(raw['partners'], c, 'partners').map((o, i) => partnerOf(o, c, `partners[${i}]`)).filter((o): o is Obj => !!o));
  if (kinderen.length) p['kinderen'] = kinderen;
  if (ouders.length) p['ouders'] = ouders;
  if (partners.length) p['partners'] = partners;
  const rni = list(raw['rni'], c, 'rni').map((r) => {
    const o = obj(r);
    return compact<Obj>({ deelnemer: waarde(o['deelnemer']), omschrijvingVerdrag: str(o['omschrijvingVerdrag']), categorie: str(o['categorie']) });
  }).filter((r): r is Obj => !!r);
  if (rni.length) p['rni'] = rni;
  const ver = obj(raw['verificatie']);
  p['verificatie'] = compact({ datum: c.datum(ver['datum'], 'verificatie.datum'), omschrijving: str(ver['omschrijving']) });
  // Research flags of category 01 land on persoon, naam and geboorte.
  const persoonIo: Obj = {};
  applyOnderzoek(raw['persoonInOnderzoek'], PERSOON_TABLE, { persoon: persoonIo, naam, geboorte }, { persoon: 'datumIngangOnderzoekPersoon' }, c, 'persoonInOnderzoek');
  if (persoonIo['inOnderzoek']) p['inOnderzoek'] = { ...obj(p['inOnderzoek']), ...obj(persoonIo['inOnderzoek']) };
  // The persoon-level flags that verblijfplaats research set (gemeente van inschrijving).
  return compact(p)!;
}

/** volledigeNaam of a raw mock person, for resolving gezag references. */
export function mockVolledigeNaam(raw: unknown): string | undefined {
  return volledigeNaamOf(obj(obj(raw)['naam']));
}
