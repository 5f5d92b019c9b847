// The typed statements a mirror writes to its OWN log (docs/format-fragments/activation.md):
// share submissions, activations, extensions, deactivations, access-journal digests and drill
// reports. Each has a builder that returns exactly the object canonicalised into the log, and a
// strict parser for reading the log back, so that a malformed statement is a finding, not a crash.
// No statement ever carries key material, share bytes or record contents.
import { EmbassyError } from '../errors.ts';
import { DATASET_ID_RE } from './statement-types.ts';
import type { Statement } from './statement.ts';

export const DEACTIVATION_REASONS = ['operator', 'expired', 'restart', 'drill-complete', 'shutdown'] as const;
export type DeactivationReason = (typeof DEACTIVATION_REASONS)[number];

/** Activation ids: lowercase letters, digits and '-', 1–64 (see newActivationId). */
export const ACTIVATION_ID_RE = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
/** Custodian names as in custody statements and share files. */
export { CUSTODIAN_NAME_RE as CUSTODIAN_RE } from './statement-types.ts';
import { CUSTODIAN_NAME_RE as CUSTODIAN_RE } from './statement-types.ts';
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const HEX_RE = /^(?:[0-9a-f]{2})+$/;
const MAX_REASON = 500;

export interface ActivationShareStatement extends Statement {
  type: 'activation-share';
  /** The collection the share was submitted to; null for a refused share that started none. */
  activation: string | null;
  /** Origin of the home log whose custody the share claims to belong to. */
  home: string;
  /** The custodian the share file names (for a refused share: the name it claims). */
  custodian: string;
  accepted: boolean;
  /** Refused: the error code (custody.wrong-share, ...). Absent when accepted. */
  reason?: string;
  at: string;
}

export interface ActivationStatement extends Statement {
  type: 'activation';
  id: string;
  home: string;
  kekFingerprint: string;
  custodyEpoch: number;
  custodians: string[];
  datasets: string[];
  notBefore: string;
  notAfter: string;
  drill: boolean;
  readOnly: true;
  reason: string;
}

export interface ActivationExtensionStatement extends Statement {
  type: 'activation-extension';
  activation: string;
  notAfter: string;
  custodians: string[];
  at: string;
}

export interface JournalHead {
  seq: number;
  /** hex hash of the journal's newest entry (its chain head). */
  head: string;
}

export interface DeactivationStatement extends Statement {
  type: 'deactivation';
  activation: string;
  reason: DeactivationReason;
  journal: JournalHead;
  at: string;
}

export interface AccessDigestStatement extends Statement {
  type: 'access-digest';
  activation: string;
  seq: number;
  head: string;
  at: string;
}

export interface DrillDatasetResult {
  dataset: string;
  version: number;
  records: number;
  /** The recomputed commitment and count equal the signed version statement's. */
  commitmentOk: boolean;
  /** Objects read (nodes and chunks) during the full verification. */
  objects: number;
  /** Sample lookups whose proof bundle verified. */
  samplesOk: number;
  /** When not ok: the error code of what failed. */
  error?: string;
}

export interface DrillStatement extends Statement {
  type: 'drill';
  activation: string;
  home: string;
  datasets: DrillDatasetResult[];
  rto: { firstVerifiedAnswerMs: number; fullVerificationMs: number };
  samples: number;
  ok: boolean;
  at: string;
}

export type MirrorStatement =
  | ActivationShareStatement
  | ActivationStatement
  | ActivationExtensionStatement
  | DeactivationStatement
  | AccessDigestStatement
  | DrillStatement;

export const MIRROR_STATEMENT_TYPES = ['activation-share', 'activation', 'activation-extension', 'deactivation', 'access-digest', 'drill'] as const;

function bad(type: string, what: string): EmbassyError {
  return new EmbassyError('input.malformed', `${type} statement: ${what}`);
}
const nonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const iso = (v: unknown): v is string => typeof v === 'string' && ISO_RE.test(v) && !Number.isNaN(Date.parse(v));
const id = (v: unknown): v is string => typeof v === 'string' && ACTIVATION_ID_RE.test(v);
const origin = (v: unknown): v is string => typeof v === 'string' && /^[\x21-\x2a\x2c-\x7e]{1,255}$/.test(v);
const text = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_REASON && !/[\u0000-\u001f]/.test(v);
const hex = (v: unknown): v is string => typeof v === 'string' && v.length <= 128 && HEX_RE.test(v);
const custodians = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length > 0 && v.length <= 255 && v.every((c) => typeof c === 'string' && CUSTODIAN_RE.test(c)) && new Set(v).size === v.length;
const datasets = (v: unknown): v is string[] => Array.isArray(v) && v.every((d) => typeof d === 'string' && DATASET_ID_RE.test(d)) && new Set(v).size === v.length;

function members(type: string, o: Record<string, unknown>, required: string[], optional: string[] = []): void {
  for (const k of required) if (!(k in o)) throw bad(type, `missing ${k}`);
  const allowed = new Set(['type', ...required, ...optional]);
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw bad(type, `unknown member ${JSON.stringify(k.slice(0, 40))}`);
}

/**
 * Checks a statement of one of the mirror types; returns it typed, or undefined for types this
 * module does not know. Throws 'input.malformed' naming the statement type and what is wrong.
 */
export function parseMirrorStatement(s: Statement): MirrorStatement | undefined {
  const o = s as Record<string, unknown>;
  switch (s.type) {
    case 'activation-share': {
      members(s.type, o, ['activation', 'home', 'custodian', 'accepted', 'at'], ['reason']);
      if (!(o.activation === null || id(o.activation))) throw bad(s.type, 'activation must be an activation id or null');
      if (!origin(o.home)) throw bad(s.type, 'home must be a log origin');
      if (typeof o.custodian !== 'string' || !CUSTODIAN_RE.test(o.custodian)) throw bad(s.type, 'bad custodian name');
      if (typeof o.accepted !== 'boolean') throw bad(s.type, 'accepted must be a boolean');
      if (o.accepted ? o.reason !== undefined : !text(o.reason)) throw bad(s.type, 'a refused share has a reason, an accepted one none');
      if (!iso(o.at)) throw bad(s.type, 'at must be ISO 8601 UTC');
      return s as ActivationShareStatement;
    }
    case 'activation': {
      members(s.type, o, ['id', 'home', 'kekFingerprint', 'custodyEpoch', 'custodians', 'datasets', 'notBefore', 'notAfter', 'drill', 'readOnly', 'reason']);
      if (!id(o.id)) throw bad(s.type, 'bad id');
      if (!origin(o.home)) throw bad(s.type, 'home must be a log origin');
      if (!hex(o.kekFingerprint)) throw bad(s.type, 'kekFingerprint must be hex');
      if (!nonNegInt(o.custodyEpoch)) throw bad(s.type, 'custodyEpoch must be a non-negative integer');
      if (!custodians(o.custodians)) throw bad(s.type, 'custodians must be distinct custodian names');
      if (!datasets(o.datasets) || (o.datasets as string[]).length === 0) throw bad(s.type, 'datasets must be distinct dataset ids');
      if (!iso(o.notBefore) || !iso(o.notAfter)) throw bad(s.type, 'notBefore and notAfter must be ISO 8601 UTC');
      if (Date.parse(o.notAfter as string) <= Date.parse(o.notBefore as string)) throw bad(s.type, 'notAfter must be after notBefore');
      if (typeof o.drill !== 'boolean') throw bad(s.type, 'drill must be a boolean');
      if (o.readOnly !== true) throw bad(s.type, 'readOnly must be true');
      if (!text(o.reason)) throw bad(s.type, 'reason must be a line of at most 500 characters');
      return s as ActivationStatement;
    }
    case 'activation-extension': {
      members(s.type, o, ['activation', 'notAfter', 'custodians', 'at']);
      if (!id(o.activation)) throw bad(s.type, 'bad activation id');
      if (!iso(o.notAfter) || !iso(o.at)) throw bad(s.type, 'notAfter and at must be ISO 8601 UTC');
      if (!custodians(o.custodians)) throw bad(s.type, 'custodians must be distinct custodian names');
      return s as ActivationExtensionStatement;
    }
    case 'deactivation': {
      members(s.type, o, ['activation', 'reason', 'journal', 'at']);
      if (!id(o.activation)) throw bad(s.type, 'bad activation id');
      if (!DEACTIVATION_REASONS.includes(o.reason as DeactivationReason)) throw bad(s.type, `reason must be one of ${DEACTIVATION_REASONS.join(', ')}`);
      const j = o.journal as Record<string, unknown> | null;
      if (typeof j !== 'object' || j === null || Array.isArray(j) || !nonNegInt(j.seq) || !(j.head === '' || hex(j.head)) || Object.keys(j).length !== 2) {
        throw bad(s.type, 'journal must be {seq, head}');
      }
      if (!iso(o.at)) throw bad(s.type, 'at must be ISO 8601 UTC');
      return s as DeactivationStatement;
    }
    case 'access-digest': {
      members(s.type, o, ['activation', 'seq', 'head', 'at']);
      if (!id(o.activation)) throw bad(s.type, 'bad activation id');
      if (!nonNegInt(o.seq)) throw bad(s.type, 'seq must be a non-negative integer');
      if (!(o.head === '' || hex(o.head))) throw bad(s.type, 'head must be hex');
      if (!iso(o.at)) throw bad(s.type, 'at must be ISO 8601 UTC');
      return s as AccessDigestStatement;
    }
    case 'drill': {
      members(s.type, o, ['activation', 'home', 'datasets', 'rto', 'samples', 'ok', 'at']);
      if (!id(o.activation)) throw bad(s.type, 'bad activation id');
      if (!origin(o.home)) throw bad(s.type, 'home must be a log origin');
      if (!Array.isArray(o.datasets)) throw bad(s.type, 'datasets must be a list');
      for (const d of o.datasets as Record<string, unknown>[]) {
        if (typeof d !== 'object' || d === null) throw bad(s.type, 'a dataset result must be an object');
        members(s.type, d, ['dataset', 'version', 'records', 'commitmentOk', 'objects', 'samplesOk'], ['error']);
        if (typeof d.dataset !== 'string' || !DATASET_ID_RE.test(d.dataset)) throw bad(s.type, 'bad dataset id');
        if (!nonNegInt(d.version) || !nonNegInt(d.records) || !nonNegInt(d.objects) || !nonNegInt(d.samplesOk)) throw bad(s.type, `dataset ${d.dataset}: counts must be non-negative integers`);
        if (typeof d.commitmentOk !== 'boolean') throw bad(s.type, `dataset ${d.dataset}: commitmentOk must be a boolean`);
        if (d.error !== undefined && !text(d.error)) throw bad(s.type, `dataset ${d.dataset}: bad error`);
      }
      const r = o.rto as Record<string, unknown> | null;
      if (typeof r !== 'object' || r === null || !nonNegInt(r.firstVerifiedAnswerMs) || !nonNegInt(r.fullVerificationMs) || Object.keys(r).length !== 2) {
        throw bad(s.type, 'rto must be {firstVerifiedAnswerMs, fullVerificationMs} in whole milliseconds');
      }
      if (!nonNegInt(o.samples)) throw bad(s.type, 'samples must be a non-negative integer');
      if (typeof o.ok !== 'boolean') throw bad(s.type, 'ok must be a boolean');
      if (!iso(o.at)) throw bad(s.type, 'at must be ISO 8601 UTC');
      return s as DrillStatement;
    }
    default:
      return undefined;
  }
}

/** Checks a builder's output as a reader will, and returns it. */
export function checkedMirrorStatement<T extends MirrorStatement>(s: T): T {
  parseMirrorStatement(s);
  return s;
}

/** A fresh activation id: the UTC time to the second and 4 random hex digits (readable, unique enough per mirror). */
export function newActivationId(nowMs: number, random: Uint8Array): string {
  const t = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'z').toLowerCase();
  return `${t}-${Buffer.from(random.subarray(0, 2)).toString('hex')}`;
}
