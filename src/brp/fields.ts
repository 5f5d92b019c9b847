// The `fields` parameter of the BRP Personen API: which field paths exist for Persoon
// (RaadpleegMetBurgerservicenummer) and PersoonBeperkt (the searches), and cutting a person down
// to the asked fields. Dates (AbstractDatum) and table values (Waardetabel) are atomic: asking for
// any sub-field of one, even a non-existing one, delivers all of it. Polymorphic objects keep
// their `type`. geheimhoudingPersoonsgegevens, opschortingBijhouding, rni and verificatie are
// always delivered and may not be asked for; inOnderzoek goes with the asked fields it is about.
// The aliases verblijfplaatsBinnenland and adresseringBinnenland deliver only Dutch addresses.

type Node = 'value' | 'datum' | 'waarde' | 'gezag' | { [name: string]: Node };
type Obj = Record<string, unknown>;

const naamGerelateerde: Node = { adellijkeTitelPredicaat: 'waarde', geslachtsnaam: 'value', voorletters: 'value', voornamen: 'value', voorvoegsel: 'value' };
const geboorte: Node = { datum: 'datum', land: 'waarde', plaats: 'waarde' };
const aanschrijfwijze: Node = { aanspreekvorm: 'value', naam: 'value' };
const verblijfadresBinnenland = {
  aanduidingBijHuisnummer: 'waarde', huisletter: 'value', huisnummer: 'value', huisnummertoevoeging: 'value', korteStraatnaam: 'value',
  officieleStraatnaam: 'value', postcode: 'value', woonplaats: 'value', locatiebeschrijving: 'value',
} as const;
const verblijfplaatsBinnenland: Node = {
  type: 'value', datumIngangGeldigheid: 'datum', datumVan: 'datum', verblijfadres: verblijfadresBinnenland,
  adresseerbaarObjectIdentificatie: 'value', functieAdres: 'waarde', nummeraanduidingIdentificatie: 'value',
};

/** Field paths of Persoon (fields-Persoon.csv of the upstream features). */
export const PERSOON_FIELDS: { [name: string]: Node } = {
  aNummer: 'value',
  adressering: { adresregel1: 'value', adresregel2: 'value', adresregel3: 'value', land: 'waarde', aanhef: 'value', aanschrijfwijze, gebruikInLopendeTekst: 'value' },
  burgerservicenummer: 'value',
  datumEersteInschrijvingGBA: 'datum',
  datumInschrijvingInGemeente: 'datum',
  europeesKiesrecht: { aanduiding: 'waarde', einddatumUitsluiting: 'datum' },
  geboorte,
  gemeenteVanInschrijving: 'waarde',
  geslacht: 'waarde',
  gezag: 'gezag',
  immigratie: { datumVestigingInNederland: 'datum', indicatieVestigingVanuitBuitenland: 'value', landVanwaarIngeschreven: 'waarde', vanuitVerblijfplaatsOnbekend: 'value' },
  indicatieCurateleRegister: 'value',
  indicatieGezagMinderjarige: 'waarde',
  kinderen: { burgerservicenummer: 'value', geboorte, naam: naamGerelateerde },
  leeftijd: 'value',
  naam: { ...naamGerelateerde, volledigeNaam: 'value', aanduidingNaamgebruik: 'waarde' },
  nationaliteiten: { redenOpname: 'waarde', type: 'value', datumIngangGeldigheid: 'datum', nationaliteit: 'waarde' },
  ouders: { burgerservicenummer: 'value', datumIngangFamilierechtelijkeBetrekking: 'datum', geboorte, geslacht: 'waarde', naam: naamGerelateerde, ouderAanduiding: 'value' },
  overlijden: { datum: 'datum', land: 'waarde', plaats: 'waarde' },
  partners: {
    aangaanHuwelijkPartnerschap: { datum: 'datum', land: 'waarde', plaats: 'waarde' },
    burgerservicenummer: 'value', geboorte, geslacht: 'waarde', naam: naamGerelateerde,
    ontbindingHuwelijkPartnerschap: { datum: 'datum' }, soortVerbintenis: 'waarde',
  },
  uitsluitingKiesrecht: { einddatum: 'datum', uitgeslotenVanKiesrecht: 'value' },
  verblijfplaats: { ...(verblijfplaatsBinnenland as Obj as { [k: string]: Node }), verblijfadres: { ...verblijfadresBinnenland, land: 'waarde', regel1: 'value', regel2: 'value', regel3: 'value' } },
  verblijfstitel: { aanduiding: 'waarde', datumEinde: 'datum', datumIngang: 'datum' },
  verblijfplaatsBinnenland,
  adresseringBinnenland: { adresregel1: 'value', adresregel2: 'value', aanhef: 'value', aanschrijfwijze, gebruikInLopendeTekst: 'value' },
};

/** Field paths of PersoonBeperkt (fields-PersoonBeperkt.csv). */
export const PERSOON_BEPERKT_FIELDS: { [name: string]: Node } = {
  adressering: { adresregel1: 'value', adresregel2: 'value', adresregel3: 'value', land: 'waarde' },
  burgerservicenummer: 'value',
  geboorte: { datum: 'datum' },
  geslacht: 'waarde',
  leeftijd: 'value',
  naam: { adellijkeTitelPredicaat: 'waarde', geslachtsnaam: 'value', volledigeNaam: 'value', voorletters: 'value', voornamen: 'value', voorvoegsel: 'value' },
  adresseringBinnenland: { adresregel1: 'value', adresregel2: 'value' },
};

const ALIASES: Record<string, string> = { verblijfplaatsBinnenland: 'verblijfplaats', adresseringBinnenland: 'adressering' };
/** Delivered without being asked; asking for them is an error. */
export const AUTOMATIC_FIELDS = ['geheimhoudingPersoonsgegevens', 'opschortingBijhouding', 'rni', 'verificatie', 'inOnderzoek'] as const;

export type FieldProblem = 'unknown' | 'forbidden';

/**
 * The normalized selection path of one asked field (sub-fields of dates and table values cut
 * off) and the leaf paths it selects, or why it is refused: 'unknown' for a path that does not exist in the catalogue,
 * 'forbidden' for an automatic field or a sub-field of gezag.
 */
export function resolveField(path: string, catalogue: { [name: string]: Node }): { path: string[]; paths: string[][] } | { problem: FieldProblem } {
  const parts = path.split('.');
  let node: Node | undefined = catalogue as Node;
  const out: string[] = [];
  for (const [i, part] of parts.entries()) {
    if (node === 'datum' || node === 'waarde') return { path: out, paths: [out] };
    if (node === 'gezag') return { problem: 'forbidden' };
    if (node === 'value' || node === undefined) return { problem: 'unknown' };
    const next: Node | undefined = Object.prototype.hasOwnProperty.call(node, part) ? node[part] : undefined;
    if (next === undefined) {
      if ((AUTOMATIC_FIELDS as readonly string[]).includes(part) && (i === 0 || out.length > 0)) return { problem: 'forbidden' };
      return { problem: 'unknown' };
    }
    out.push(part);
    node = next;
  }
  return { path: out, paths: typeof node === 'object' ? leafPaths(node, out) : [out] };
}

/** An object asked as a whole means its catalogued fields, not whatever else a record holds. */
function leafPaths(node: { [name: string]: Node }, prefix: string[]): string[][] {
  return Object.entries(node).flatMap(([k, n]) => (typeof n === 'object' ? leafPaths(n, [...prefix, k]) : [[...prefix, k]]));
}

type Selection = Map<string, Selection | true>;

function addPath(sel: Selection, path: string[]): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  const cur = sel.get(head);
  if (cur === true) return;
  if (rest.length === 0) {
    sel.set(head, true);
    return;
  }
  const child = cur ?? new Map();
  sel.set(head, child);
  addPath(child, rest);
}

/** Builds the selection tree of resolved field paths. */
export function selectionOf(paths: string[][]): Selection {
  const sel: Selection = new Map();
  for (const p of paths) addPath(sel, p);
  return sel;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keeps only the inOnderzoek flags about delivered fields (and its dates) if any remain. */
function onderzoekFor(io: unknown, delivered: Obj): Obj | undefined {
  if (!isObj(io)) return undefined;
  const flags = Object.keys(io).filter((k) => io[k] === true && k in delivered);
  if (flags.length === 0) return undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(io)) if (k.startsWith('datumIngangOnderzoek') || flags.includes(k)) out[k] = v;
  return out;
}

function pick(value: unknown, sel: Selection | true): unknown {
  if (sel === true) return value;
  if (Array.isArray(value)) {
    const items = value.map((v) => pick(v, sel)).filter((v) => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (!isObj(value)) return undefined;
  const out: Obj = {};
  for (const [k, s] of sel) {
    if (!(k in value)) continue;
    const v = pick(value[k], s);
    if (v !== undefined) out[k] = v;
  }
  if (Object.keys(out).length === 0) return undefined;
  if (typeof value['type'] === 'string' && !('type' in out)) out['type'] = value['type'];
  const io = onderzoekFor(value['inOnderzoek'], out);
  if (io) out['inOnderzoek'] = io;
  return out;
}

function clone(sel: Selection): Selection {
  return new Map([...sel].map(([k, v]) => [k, v === true ? true : clone(v)]));
}

function merge(into: Selection, from: Selection): void {
  for (const [k, v] of from) {
    const cur = into.get(k);
    if (cur === true) continue;
    if (v === true || cur === undefined) into.set(k, v === true ? true : clone(v));
    else merge(cur, v);
  }
}

/** A person cut down to the selection, plus the always-delivered fields it has. */
export function applyFields(persoon: Obj, sel: Selection): Obj {
  const main = clone(sel);
  const out: Obj = {};
  for (const [alias, target] of Object.entries(ALIASES)) {
    const s = main.get(alias);
    if (s === undefined) continue;
    main.delete(alias);
    if (isObj(persoon['verblijfplaats']) && persoon['verblijfplaats']['type'] === 'VerblijfplaatsBuitenland') continue;
    merge(main, new Map([[target, s]]));
  }
  Object.assign(out, pick(persoon, main) ?? {});
  for (const f of AUTOMATIC_FIELDS) {
    if (f === 'inOnderzoek') continue;
    if (persoon[f] !== undefined) out[f] = persoon[f];
  }
  return out;
}
