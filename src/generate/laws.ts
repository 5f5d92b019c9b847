// Synthetic laws shaped like BWB "toestand" XML (wetten.overheid.nl): bwbId ("BWBR" + 7 digits),
// citeertitel, soort, versie (date of the version) and tekst, an XML document of articles
// (artikel, lid, al, lijst) of 5–500 KiB, log-normally distributed. A new version rewrites, adds
// or repeals a few articles and leaves every other byte as it was, so content-defined chunking
// of the two versions shares most chunks (the reason to chunk large values at all).
import { SNAPSHOT_DAY, isoDate, longDate } from './calendar.ts';
import type { Birth, Cluster, KindModel, ModelContext } from './model.ts';
import { STREAM } from './model.ts';
import { Rng, WeightedTable, hashWords, zipfPick } from './prng.ts';

export const LAW_MIN_BYTES = 5 * 1024;
export const LAW_MAX_BYTES = 500 * 1024;
// Targets stay inside the bounds with room for the generator's overshoot and later amendments.
const TARGET_MIN = 7 * 1024;
const TARGET_MAX = 440 * 1024;
const TARGET_MEDIAN = 40 * 1024;
const TARGET_SIGMA = 1.0;

const BASE_ID = 1000;
const IDS_PER_LAW = 16;
const BIRTH_ID = 8_000_000;
const MAX_BIRTHS_PER_DAY = 1000;

const SOORTEN = new WeightedTable([
  ['wet', 25],
  ['AMvB', 25],
  ['ministeriele-regeling', 45],
  ['rijkswet', 2],
  ['KB', 3],
] as const);
type Soort = (typeof SOORTEN.items)[number];

const TOPICS = [
  'zorgtoeslag', 'kinderopvang', 'huurtoeslag', 'inburgering', 'schuldhulpverlening', 'basisregistratie personen',
  'basisregistratie adressen en gebouwen', 'langdurige zorg', 'maatschappelijke ondersteuning', 'jeugdzorg', 'participatie',
  'studiefinanciering', 'kinderbijslag', 'algemene ouderdomsverzekering', 'werkloosheid', 'arbeidsongeschiktheid',
  'ziekteverzekering', 'pensioenen', 'inkomstenbelasting', 'loonbelasting', 'omzetbelasting', 'vennootschapsbelasting',
  'erfbelasting', 'gemeentelijke belastingen', 'waterschappen', 'ruimtelijke ordening', 'omgevingsrecht', 'milieubeheer',
  'natuurbescherming', 'bodembescherming', 'drinkwater', 'energie', 'elektriciteit', 'gas', 'warmte', 'telecommunicatie',
  'openbaarheid van bestuur', 'archieven', 'persoonsgegevens', 'elektronische handtekeningen', 'identificatieplicht',
  'paspoorten', 'verkiezingen', 'gemeenten', 'provincies', 'politie', 'brandweer', 'veiligheidsregio\'s', 'rampenbestrijding',
  'wapens en munitie', 'openbare orde', 'vreemdelingen', 'Nederlanderschap', 'burgerlijke stand', 'huwelijk', 'adoptie',
  'rechtsbijstand', 'gerechtsdeurwaarders', 'notarisambt', 'advocatuur', 'strafvordering', 'justitiële documentatie',
  'gevangeniswezen', 'jeugdinrichtingen', 'onderwijs', 'primair onderwijs', 'voortgezet onderwijs', 'hoger onderwijs',
  'volwasseneneducatie', 'cultuurbeleid', 'erfgoed', 'media', 'sport', 'volksgezondheid', 'geneesmiddelen', 'medische hulpmiddelen',
  'infectieziekten', 'kwaliteit van zorg', 'huisvesting', 'woningcorporaties', 'verkeer', 'wegenverkeer', 'rijbewijzen',
  'scheepvaart', 'luchtvaart', 'spoorwegen', 'personenvervoer', 'landbouw', 'visserij', 'dierenwelzijn', 'voedselveiligheid',
  'mededinging', 'consumentenbescherming', 'financieel toezicht', 'pensioenfondsen', 'handelsregister', 'kadaster',
];

const CHAPTER_TITLES = [
  'Algemene bepalingen', 'Begripsbepalingen', 'Aanspraak en voorwaarden', 'Hoogte en berekening', 'Aanvraag en toekenning',
  'Uitvoering', 'Gegevensverwerking', 'Toezicht en handhaving', 'Bestuurlijke sancties', 'Rechtsbescherming',
  'Financiële bepalingen', 'Wijziging van andere wetten', 'Overgangsbepalingen', 'Slotbepalingen',
];

// A legal register, ordered roughly by frequency (Zipf-picked).
const WORDS = (
  'de van het in een en te of op voor is wordt met door bij aan dat die als artikel lid worden tot deze ' +
  'onderdeel bedoeld indien ten zijn kan niet naar uit krachtens onder regels tenzij gesteld eerste tweede derde ' +
  'minister belanghebbende aanvraag beschikking college burgemeester wethouders gemeente bestuursorgaan ' +
  'bepalingen overeenkomstig ingevolge onverminderd alsmede onderscheidenlijk daarbij hiervan nadere vastgesteld ' +
  'verleend ingetrokken gewijzigd toegekend verstrekt gegevens verwerking inlichtingen verplichting bevoegdheid ' +
  'toezicht handhaving boete bestuurlijke sanctie bezwaar beroep uitvoering verordening algemene maatregel bestuur ' +
  'termijn jaar kalenderjaar maand week dagen inkomen vermogen toetsingsinkomen draagkracht premie bijdrage ' +
  'tegemoetkoming uitkering toeslag verzekerde verzekeraar zorgaanbieder instelling rechtspersoon natuurlijke persoon ' +
  'ingezetene partner kind ouder huishouden woning adres registratie basisregistratie besluit regeling wet ' +
  'bepaalde berekend hoogte bedrag euro percentage ten hoogste ten minste uiterlijk voorafgaand daaropvolgend ' +
  'vastgestelde wijze zodanig eveneens voorts evenwel nochtans overigens mede zowel geheel gedeeltelijk ' +
  'schriftelijk elektronisch verzoek melding kennisgeving bekendmaking inwerkingtreding vervallen overgang'
).split(' ');
const WORD_TABLE = new WeightedTable(WORDS.map((w, i) => [w, 1 / Math.pow(i + 1, 0.8)] as const));
const ORDINALS = ['eerste', 'tweede', 'derde', 'vierde', 'vijfde'];

interface Amendment {
  day: number;
  modified: readonly number[];
  repealed: readonly number[];
  /** Articles after which a new one ("12a") is inserted. */
  inserted: readonly number[];
}

export interface LawState {
  id: number;
  /** Seed of everything about this law's text: its structure and every version's words. */
  lawSeed: readonly [number, number];
  soort: Soort;
  citeertitel: string;
  onderwerp: string;
  enactedDay: number;
  versieDay: number;
  articles: number;
  amendments: readonly Amendment[];
}

// ---- text ----------------------------------------------------------------------------------------

/** Roughly `target` characters of legal prose: words until the target is reached, one sentence. */
function prose(rng: Rng, target: number, articles: number): string {
  let s = '';
  let capital = true;
  while (s.length < target) {
    let w: string;
    const u = rng.float();
    if (u < 0.03) w = `artikel ${1 + rng.int(articles)}`;
    else if (u < 0.045) w = `${rng.pick(ORDINALS)} lid`;
    else w = WORD_TABLE.pick(rng);
    if (capital) {
      w = w[0]!.toUpperCase() + w.slice(1);
      capital = false;
    }
    s += s === '' ? w : rng.chance(0.06) ? `, ${w}` : ` ${w}`;
  }
  return `${s}.`;
}

interface ArticleShape {
  /** Target characters of each lid's opening text. */
  leden: number[];
  /** For each lid, target characters of each list item (empty: no list). */
  lists: number[][];
}

function articleShape(law: LawState, n: number): ArticleShape {
  const rng = Rng.for(law.lawSeed, STREAM.article, 0, n);
  const count = [1, 1, 1, 2, 2, 3, 3, 4, 5][rng.int(9)]!;
  const leden: number[] = [];
  const lists: number[][] = [];
  for (let l = 0; l < count; l++) {
    leden.push(Math.round(120 + 200 * Math.exp(0.6 * rng.normal())));
    const items = rng.chance(0.2) ? 2 + rng.int(5) : 0;
    const list: number[] = [];
    for (let k = 0; k < items; k++) list.push(60 + rng.int(160));
    lists.push(list);
  }
  return { leden, lists };
}

/** Markup and text of an article, within a few bytes per paragraph of the real length. */
function estimatedSize(shape: ArticleShape): number {
  let size = 150;
  shape.leden.forEach((t, l) => {
    size += t + 40;
    for (const item of shape.lists[l]!) size += item + 45;
    if (shape.lists[l]!.length > 0) size += 20;
  });
  return size;
}

/**
 * One article: `n` numbers the shape and the text, `label` is what the reader sees ("12",
 * "12a"), `version` the day its text was last rewritten (0: as enacted).
 */
function renderArticle(law: LawState, n: number, label: string, version: number, inwerking: number): string {
  const shape = articleShape(law, n);
  const rng = Rng.for(law.lawSeed, STREAM.article, 1 + version, n);
  let xml = `<artikel label="Artikel ${label}" inwerking="${isoDate(inwerking)}"><kop><label>Artikel</label><nr>${label}</nr></kop>`;
  const single = shape.leden.length === 1;
  shape.leden.forEach((t, l) => {
    const body = `<al>${prose(rng, t, law.articles)}</al>`;
    const list = shape.lists[l]!;
    let items = '';
    if (list.length > 0) {
      items = '<lijst type="expliciet">';
      list.forEach((it, k) => {
        items += `<li><li.nr>${String.fromCharCode(97 + k)}.</li.nr><al>${prose(rng, it, law.articles).slice(0, -1)};</al></li>`;
      });
      items += '</lijst>';
    }
    xml += single ? body + items : `<lid><lidnr>${l + 1}</lidnr>${body}${items}</lid>`;
  });
  return `${xml}</artikel>\n`;
}

function renderRepealed(label: string, day: number): string {
  return `<artikel label="Artikel ${label}" status="vervallen" inwerking="${isoDate(day)}"><kop><label>Artikel</label><nr>${label}</nr></kop><al>[Vervallen per ${longDate(day)}.]</al></artikel>\n`;
}

/** Whether a new chapter (hoofdstuk) starts at article n: fixed per law, about every 12 articles. */
function chapterStarts(law: LawState, n: number): boolean {
  return n === 1 || hashWords(law.lawSeed[0], law.lawSeed[1], STREAM.article, 0x6368, n) % 12 === 0;
}

export function renderLawText(law: LawState): string {
  // The current version of each article, from the amendments in order.
  const version = new Map<number, number>();
  const repealed = new Map<number, number>();
  const inserts = new Map<number, number[]>();
  for (const a of law.amendments) {
    for (const n of a.modified) if (!repealed.has(n)) version.set(n, a.day);
    for (const n of a.repealed) if (!repealed.has(n)) repealed.set(n, a.day);
    for (const n of a.inserted) inserts.set(n, [...(inserts.get(n) ?? []), a.day]);
  }
  const bwbId = bwbIdOf(law.id);
  const chapters = law.articles > 15;
  let xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<toestand bwb-id="${bwbId}" inwerkingtreding="${isoDate(law.versieDay)}">` +
    `<wetgeving soort="${law.soort}">\n<intitule>${intitule(law)}</intitule>\n` +
    `<citeertitel status="officieel">${law.citeertitel}</citeertitel>\n<wet-besluit><wettekst>\n`;
  let chapter = 0;
  for (let n = 1; n <= law.articles; n++) {
    if (chapters && chapterStarts(law, n)) {
      if (chapter > 0) xml += '</hoofdstuk>\n';
      chapter++;
      const title = CHAPTER_TITLES[Math.min(chapter - 1, CHAPTER_TITLES.length - 1)]!;
      xml += `<hoofdstuk><kop><label>Hoofdstuk</label><nr>${chapter}</nr><titel>${title}</titel></kop>\n`;
    }
    const gone = repealed.get(n);
    const v = version.get(n) ?? 0;
    xml += gone !== undefined ? renderRepealed(String(n), SNAPSHOT_DAY + gone) : renderArticle(law, n, String(n), v, v === 0 ? law.enactedDay : SNAPSHOT_DAY + v);
    (inserts.get(n) ?? []).forEach((day, x) => {
      xml += renderArticle(law, 1_000_000 + n * 26 + x, `${n}${String.fromCharCode(97 + x)}`, day, SNAPSHOT_DAY + day);
    });
  }
  if (chapter > 0) xml += '</hoofdstuk>\n';
  return `${xml}</wettekst></wet-besluit></wetgeving></toestand>\n`;
}

function intitule(law: LawState): string {
  const what = law.soort === 'wet' || law.soort === 'rijkswet' ? 'Wet' : law.soort === 'ministeriele-regeling' ? 'Regeling' : 'Besluit';
  return `${what} van ${longDate(law.enactedDay)}, houdende regels inzake ${law.onderwerp} (${law.citeertitel})`;
}

export function bwbIdOf(id: number): string {
  return `BWBR${String(id).padStart(7, '0')}`;
}

// ---- the model -----------------------------------------------------------------------------------

function newLaw(rng: Rng, id: number, lawSeed: readonly [number, number], enactedDay: number): LawState {
  const soort = SOORTEN.pick(rng);
  const onderwerp = rng.pick(TOPICS);
  const year = 1950 + rng.int(76);
  const citeertitel =
    soort === 'wet' || soort === 'rijkswet'
      ? rng.chance(0.5) ? `Wet ${onderwerp}` : `Wet op de ${onderwerp}${rng.chance(0.3) ? ` ${year}` : ''}`
      : soort === 'ministeriele-regeling' ? `Regeling ${onderwerp}${rng.chance(0.4) ? ` ${year}` : ''}` : `Besluit ${onderwerp}`;
  // Log-normal size, redrawn (not clamped) into the target range so that no size piles up at a bound.
  let target = 0;
  for (let k = 0; k < 20 && !(target >= TARGET_MIN && target <= TARGET_MAX); k++) target = TARGET_MEDIAN * Math.exp(TARGET_SIGMA * rng.normal());
  target = Math.min(TARGET_MAX, Math.max(TARGET_MIN, target));
  const law: LawState = { id, lawSeed, soort, citeertitel, onderwerp, enactedDay, versieDay: enactedDay, articles: 0, amendments: [] };
  let size = 600 + citeertitel.length * 2;
  let n = 0;
  while (size < target) size += estimatedSize(articleShape(law, ++n));
  return { ...law, articles: Math.max(1, n) };
}

function lawSeedOf(seed: readonly [number, number], id: number): readonly [number, number] {
  return [hashWords(seed[0], seed[1], STREAM.key, id, 1), hashWords(seed[0], seed[1], STREAM.key, id, 2)];
}

export const lawsModel: KindModel<LawState, null> = {
  keyField: 'bwbId',
  maxCount: Math.floor((BIRTH_ID - BASE_ID) / IDS_PER_LAW),
  maxBirthsPerDay: MAX_BIRTHS_PER_DAY,
  maxDay: Math.floor((10_000_000 - BIRTH_ID) / MAX_BIRTHS_PER_DAY),
  birthShare: 0.02,

  prepare: () => null,

  base(ctx, i) {
    const rng = Rng.for(ctx.seed, STREAM.base, 0, i);
    const id = BASE_ID + i * IDS_PER_LAW + rng.int(IDS_PER_LAW);
    return newLaw(rng, id, lawSeedOf(ctx.seed, id), SNAPSHOT_DAY - 1 - rng.int(20 * 365));
  },

  isFinal: () => false,

  change(ctx, s, day, i) {
    const rng = Rng.for(ctx.seed, STREAM.event, day, i);
    // Intrekking: the law is withdrawn and leaves the collection.
    if (rng.chance(0.05)) return null;
    // Mostly one article, sometimes a few; half the time neighbours (3, 4, 5), as amending acts do.
    const count = 1 + zipfPick(rng, 5, 2);
    const first = 1 + rng.int(s.articles);
    const adjacent = rng.chance(0.5);
    const modified: number[] = [];
    for (let k = 0; k < count; k++) modified.push(adjacent ? 1 + ((first - 1 + k) % s.articles) : 1 + rng.int(s.articles));
    // Small laws lose no articles, so that they stay above LAW_MIN_BYTES.
    const repealed = s.articles > 12 && rng.chance(0.1) ? [1 + rng.int(s.articles)] : [];
    const inserted = rng.chance(0.15) ? [1 + rng.int(s.articles)] : [];
    return { ...s, versieDay: SNAPSHOT_DAY + day, amendments: [...s.amendments, { day, modified, repealed, inserted }] };
  },

  birth(ctx, day, k, _cluster: Cluster | undefined): Birth<LawState> {
    const rng = Rng.for(ctx.seed, STREAM.birth, day, k);
    const id = BIRTH_ID + (day - 1) * MAX_BIRTHS_PER_DAY + k;
    return { after: ctx.count - 1, state: newLaw(rng, id, lawSeedOf(ctx.seed, id), SNAPSHOT_DAY + day) };
  },

  key: (s) => bwbIdOf(s.id),

  render(s) {
    return { bwbId: bwbIdOf(s.id), citeertitel: s.citeertitel, soort: s.soort, tekst: renderLawText(s), versie: isoDate(s.versieDay) };
  },
};

export type LawsContext = ModelContext<null>;
