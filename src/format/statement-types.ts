// The typed statements a home site writes to its log (docs/format.md §2.1): dataset
// declarations, wrapped data keys, sealed versions, retention and placement policies, and the
// custody of the KEK (who holds which Shamir share). Each has
// a builder that produces exactly the object that is canonicalised into the log, and a strict
// parser used when reading the log back, so that a malformed statement is a finding, not a crash.
import { EmbassyError } from '../errors.ts';
import { fromBase64, fromHex } from './bytes.ts';
import type { Statement } from './statement.ts';

export const DATASET_ID_RE = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;

export interface DatasetStatement extends Statement {
  type: 'dataset';
  dataset: string;
  /** Field paths whose values form the record key (joined with '/' when more than one). */
  key: string[];
  /** Secondary indexes: each a list of field paths. */
  indexes: string[][];
  /** Tree shape parameters, so that any key holder can check history independence. */
  tree: { leafTarget: number; fanout: number; chunkThreshold: number; chunkMin: number; chunkAvg: number; chunkMax: number };
  /** Target recovery point objective in seconds (used by replication status). */
  rpoTarget?: number;
}

export interface KeyStatement extends Statement {
  type: 'key';
  dataset: string;
  /** Number of this data key within the dataset: 1, 2, ... */
  dek: number;
  /** base64 of wrapKey(KEK, DEK, context) — see docs/format.md §4. */
  wrapped: string;
  /** hex fingerprint of the KEK that wraps it, and of the DEK itself. */
  kekFingerprint: string;
  dekFingerprint: string;
}

export interface IndexRootInfo {
  fields: string[];
  root: string; // hex object id
  /** Level of the root node (0: a leaf). */
  level: number;
  commitment: string; // base64
  records: number;
}

export interface VersionStatement extends Statement {
  type: 'version';
  dataset: string;
  version: number;
  previous: number | null;
  /** hex object id of the root node */
  root: string;
  /** Level of the root node (0: the root is a leaf). */
  level: number;
  /** base64 of the root commitment */
  commitment: string;
  records: number;
  /** ISO 8601 UTC time the source data represents. */
  sourceTime: string;
  dek: number;
  indexes: IndexRootInfo[];
}

export interface RetentionStatement extends Statement {
  type: 'retention';
  dataset: string;
  /** Versions below this number are no longer retained and may be garbage collected. */
  keepFrom: number;
}

/**
 * A dataset's placement policy: where complete copies must be and how fresh. The newest one per
 * dataset is in force (src/catalog/catalog.ts); src/federation/evaluate.ts checks it against
 * the mirrors' receipts.
 */
export interface PlacementStatement extends Statement {
  type: 'placement';
  dataset: string;
  /** Durability quorum: a version is durable when `threshold` of `sites` hold it. */
  quorum: { threshold: number; sites: string[] };
  /** Complete copies required at mirror sites (the home does not count). */
  minCopies: number;
  /** At least one complete copy at least this far from the home (km, great circle). */
  minDistanceKm?: number;
  /** At least one complete copy in a jurisdiction other than the home's. */
  foreignJurisdiction?: boolean;
  /** At least one complete copy whose risk tags share none with the home's. */
  distinctRisk?: boolean;
  /** Overrides the dataset statement's rpoTarget (seconds). */
  rpoTarget?: number;
}

/** A custodian as the custody statement names them; the share itself is never logged. */
export interface CustodianEntry {
  /** Custodian name, as in the share file name `<name>.share`. */
  name: string;
  /** The share's x-coordinate (its last byte), 1–255. */
  x: number;
  /** hex SHA-256("data-embassy share-check v1\n" ‖ share): recognises the share, reveals nothing of it. */
  shareCheck: string;
}

/**
 * The custody of the home's KEK after a key ceremony (`embassy custody init|rotate|reshare`):
 * the KEK's fingerprint and which custodians hold which of its Shamir shares, `threshold` of
 * which rebuild it. The newest one is in force (src/catalog/catalog.ts); epochs count 1, 2, ...
 * Not a dataset statement: it has no `dataset` member.
 */
export interface CustodyStatement extends Statement {
  type: 'custody';
  epoch: number;
  /** hex keyFingerprint of the KEK (32 hex digits). */
  kekFingerprint: string;
  threshold: number;
  custodians: CustodianEntry[];
}

export type HomeStatement = DatasetStatement | KeyStatement | VersionStatement | RetentionStatement | PlacementStatement | CustodyStatement;

/** Custodian names: lowercase letters, digits and '-', starting with a letter or digit, 1–63. */
export const CUSTODIAN_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Shamir over GF(256): at most 255 shares, at least 2 needed to rebuild. */
export const CUSTODY_MAX_CUSTODIANS = 255;

/** Site names, as in site.json and site cards: lowercase letters, digits and '-', 1–63. */
export const SITE_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Half the Earth's circumference (mean radius): no two places are farther apart. */
export const MAX_DISTANCE_KM = 20_015;

export interface PlacementInput {
  dataset: string;
  quorum: { threshold: number; sites: string[] };
  minCopies: number;
  minDistanceKm?: number;
  foreignJurisdiction?: boolean;
  distinctRisk?: boolean;
  rpoTarget?: number;
}

/**
 * The placement statement exactly as it goes into the log: optional members only when they
 * ask for something (false flags are left out), checked as a reader will check it.
 */
export function placementStatement(p: PlacementInput): PlacementStatement {
  const s: PlacementStatement = {
    type: 'placement',
    dataset: p.dataset,
    quorum: { threshold: p.quorum.threshold, sites: [...p.quorum.sites] },
    minCopies: p.minCopies,
    ...(p.minDistanceKm !== undefined ? { minDistanceKm: p.minDistanceKm } : {}),
    ...(p.foreignJurisdiction ? { foreignJurisdiction: true } : {}),
    ...(p.distinctRisk ? { distinctRisk: true } : {}),
    ...(p.rpoTarget !== undefined ? { rpoTarget: p.rpoTarget } : {}),
  };
  parseHomeStatement(s);
  return s;
}

/** Context bound into a wrapped data key: which dataset and which key number it is. */
export function dekContext(dataset: string, dek: number): Uint8Array {
  return new TextEncoder().encode(`dataset ${dataset}\ndek ${dek}\n`);
}

function bad(type: string, what: string): EmbassyError {
  return new EmbassyError('input.malformed', `${type} statement: ${what}`);
}

function posInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}
function nonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
function fieldList(v: unknown): v is string[] {
  return Array.isArray(v) && v.length > 0 && v.every((f) => typeof f === 'string' && f.length > 0);
}
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/**
 * Checks a statement of one of the home types; returns it typed, or undefined for types this
 * module does not know (other statement types may share the log).
 */
export function parseHomeStatement(s: Statement): HomeStatement | undefined {
  const o = s as Record<string, unknown>;
  const dataset = o.dataset;
  const needDataset = (): void => {
    if (typeof dataset !== 'string' || !DATASET_ID_RE.test(dataset)) throw bad(s.type, 'bad dataset id');
  };
  switch (s.type) {
    case 'dataset': {
      needDataset();
      if (!fieldList(o.key)) throw bad('dataset', 'key must be a non-empty list of field paths');
      if (!Array.isArray(o.indexes) || !o.indexes.every(fieldList)) throw bad('dataset', 'indexes must be lists of field paths');
      const t = o.tree as Record<string, unknown> | undefined;
      if (!t || !['leafTarget', 'fanout', 'chunkThreshold', 'chunkMin', 'chunkAvg', 'chunkMax'].every((k) => posInt(t[k]))) {
        throw bad('dataset', 'tree parameters missing or not positive integers');
      }
      if (o.rpoTarget !== undefined && !posInt(o.rpoTarget)) throw bad('dataset', 'rpoTarget must be a positive integer');
      return s as DatasetStatement;
    }
    case 'key': {
      needDataset();
      if (!posInt(o.dek)) throw bad('key', 'dek must be a positive integer');
      if (typeof o.wrapped !== 'string' || fromBase64(o.wrapped) === undefined) throw bad('key', 'wrapped must be base64');
      for (const f of ['kekFingerprint', 'dekFingerprint']) {
        if (typeof o[f] !== 'string' || fromHex(o[f] as string)?.length !== 16) throw bad('key', `${f} must be 32 hex digits`);
      }
      return s as KeyStatement;
    }
    case 'version': {
      needDataset();
      if (!posInt(o.version)) throw bad('version', 'version must be a positive integer');
      if (!(o.previous === null || posInt(o.previous))) throw bad('version', 'previous must be null or a positive integer');
      if (typeof o.root !== 'string' || fromHex(o.root)?.length !== 32) throw bad('version', 'root must be 64 hex digits');
      if (!nonNegInt(o.level) || o.level > 64) throw bad('version', 'level must be an integer 0–64');
      if (typeof o.commitment !== 'string' || fromBase64(o.commitment)?.length !== 32) throw bad('version', 'commitment must be base64 of 32 bytes');
      if (!nonNegInt(o.records)) throw bad('version', 'records must be a non-negative integer');
      if (typeof o.sourceTime !== 'string' || !ISO_RE.test(o.sourceTime)) throw bad('version', 'sourceTime must be ISO 8601 UTC');
      if (!posInt(o.dek)) throw bad('version', 'dek must be a positive integer');
      if (!Array.isArray(o.indexes)) throw bad('version', 'indexes must be a list');
      for (const ix of o.indexes as Record<string, unknown>[]) {
        if (!fieldList(ix?.fields) || typeof ix.root !== 'string' || fromHex(ix.root)?.length !== 32 || !nonNegInt(ix.level) ||
            typeof ix.commitment !== 'string' || fromBase64(ix.commitment)?.length !== 32 || !nonNegInt(ix.records)) {
          throw bad('version', 'malformed index entry');
        }
      }
      return s as VersionStatement;
    }
    case 'retention': {
      needDataset();
      if (!posInt(o.keepFrom)) throw bad('retention', 'keepFrom must be a positive integer');
      return s as RetentionStatement;
    }
    case 'placement': {
      needDataset();
      const q = o.quorum as Record<string, unknown> | undefined;
      if (typeof q !== 'object' || q === null || Array.isArray(q)) throw bad('placement', 'quorum must be an object {threshold, sites}');
      const sites = q.sites;
      if (!Array.isArray(sites) || sites.length === 0) throw bad('placement', 'quorum.sites must be a non-empty list of site names');
      for (const name of sites) {
        if (typeof name !== 'string' || !SITE_NAME_RE.test(name)) {
          throw bad('placement', `quorum.sites: ${JSON.stringify(name)} is not a site name (lowercase letters, digits and '-', 1–63)`);
        }
      }
      if (new Set(sites).size !== sites.length) throw bad('placement', 'quorum.sites names a site twice');
      if (!posInt(q.threshold) || q.threshold > sites.length) {
        throw bad('placement', `quorum.threshold must be an integer 1–${sites.length} (the number of quorum sites)`);
      }
      if (!nonNegInt(o.minCopies)) throw bad('placement', 'minCopies must be a non-negative integer');
      if (o.minDistanceKm !== undefined &&
          !(typeof o.minDistanceKm === 'number' && Number.isFinite(o.minDistanceKm) && o.minDistanceKm > 0 && o.minDistanceKm <= MAX_DISTANCE_KM)) {
        throw bad('placement', `minDistanceKm must be a number of km above 0 and at most ${MAX_DISTANCE_KM}`);
      }
      for (const f of ['foreignJurisdiction', 'distinctRisk']) {
        if (o[f] !== undefined && typeof o[f] !== 'boolean') throw bad('placement', `${f} must be true or false`);
      }
      if (o.rpoTarget !== undefined && !posInt(o.rpoTarget)) throw bad('placement', 'rpoTarget must be a positive integer (seconds)');
      return s as PlacementStatement;
    }
    case 'custody':
      return parseCustody(s);
    default:
      return undefined;
  }
}

const CUSTODY_MEMBERS = new Set(['type', 'epoch', 'kekFingerprint', 'threshold', 'custodians']);
const CUSTODIAN_MEMBERS = new Set(['name', 'x', 'shareCheck']);

// Strict, members included: a custody statement decides whose shares can activate a mirror, so
// nothing in it may be ignored by one reader and honoured by another.
function parseCustody(s: Statement): CustodyStatement {
  const o = s as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!CUSTODY_MEMBERS.has(k)) throw bad('custody', `unknown member ${JSON.stringify(k)}`);
  if (!posInt(o.epoch)) throw bad('custody', 'epoch must be a positive integer');
  if (typeof o.kekFingerprint !== 'string' || fromHex(o.kekFingerprint)?.length !== 16) throw bad('custody', 'kekFingerprint must be 32 hex digits');
  const list = o.custodians;
  if (!Array.isArray(list) || list.length < 2 || list.length > CUSTODY_MAX_CUSTODIANS) {
    throw bad('custody', `custodians must be a list of 2–${CUSTODY_MAX_CUSTODIANS} entries`);
  }
  if (!posInt(o.threshold) || o.threshold < 2 || o.threshold > list.length) {
    throw bad('custody', `threshold must be an integer 2–${list.length} (the number of custodians)`);
  }
  const names = new Set<string>();
  const xs = new Set<number>();
  for (const [i, c] of (list as unknown[]).entries()) {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad('custody', `custodians[${i}] must be an object {name, x, shareCheck}`);
    const e = c as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!CUSTODIAN_MEMBERS.has(k)) throw bad('custody', `custodians[${i}]: unknown member ${JSON.stringify(k)}`);
    if (typeof e.name !== 'string' || !CUSTODIAN_NAME_RE.test(e.name)) throw bad('custody', `custodians[${i}].name must be lowercase letters, digits and '-' (1–63)`);
    if (names.has(e.name)) throw bad('custody', `custodian ${e.name} is named twice`);
    names.add(e.name);
    if (!posInt(e.x) || e.x > 255) throw bad('custody', `custodians[${i}].x must be an integer 1–255`);
    if (xs.has(e.x)) throw bad('custody', `custodians[${i}].x repeats another custodian's x`);
    xs.add(e.x);
    if (typeof e.shareCheck !== 'string' || fromHex(e.shareCheck)?.length !== 32) throw bad('custody', `custodians[${i}].shareCheck must be 64 hex digits`);
  }
  return s as CustodyStatement;
}
