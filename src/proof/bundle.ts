// Proof bundles (docs/format.md §7): everything needed to check, offline and with nothing but a
// log's verifier key, that a record is in a signed version of a dataset — the record with its
// membership proof to the version commitment, the version statement, its inclusion proof in the
// log, and the signed checkpoint. verifyProofBundle is pure and never trusts anything in the
// bundle that it has not checked against the checkpoint signature.
import { EmbassyError } from '../errors.ts';
import { fromBase64, toBase64 } from '../format/bytes.ts';
import { encodeStatement } from '../format/statement.ts';
import { parseHomeStatement, type VersionStatement } from '../format/statement-types.ts';
import { openCheckpoint, type Checkpoint } from '../log/checkpoint.ts';
import { hashLeaf, verifyInclusion, type Hash } from '../log/merkle.ts';
import type { NoteVerifier } from '../log/note.ts';
import { recordProofFromJson, recordProofToJson, verifyRecordProof, type RecordProof } from '../tree/proof.ts';
import type { TreeRecord } from '../tree/types.ts';

export const PROOF_BUNDLE_FORMAT = 'data-embassy/proof-bundle/v1';

export interface ProofBundle {
  format: typeof PROOF_BUNDLE_FORMAT;
  record: unknown; // recordProofToJson output
  statement: VersionStatement;
  logIndex: number;
  logProof: string[];
  checkpoint: string;
}

export interface BundleParts {
  recordProof: RecordProof;
  statement: VersionStatement;
  logIndex: bigint;
  logProof: Hash[];
  checkpointNote: string;
}

export function formatProofBundle(p: BundleParts): ProofBundle {
  return {
    format: PROOF_BUNDLE_FORMAT,
    record: recordProofToJson(p.recordProof),
    statement: p.statement,
    logIndex: Number(p.logIndex),
    logProof: p.logProof.map(toBase64),
    checkpoint: p.checkpointNote,
  };
}

export interface VerifiedRecord {
  record: TreeRecord;
  dataset: string;
  version: number;
  sourceTime: string;
  checkpoint: Checkpoint;
  logIndex: bigint;
}

function malformed(what: string): EmbassyError {
  return new EmbassyError('proof.malformed', `proof bundle: ${what}`);
}

/** Checks a bundle against the log's verifier key; throws a coded error on any failure. */
export function verifyProofBundle(bundle: unknown, logVerifier: NoteVerifier): VerifiedRecord {
  if (typeof bundle !== 'object' || bundle === null) throw malformed('expected a JSON object');
  const b = bundle as Record<string, unknown>;
  if (b.format !== PROOF_BUNDLE_FORMAT) throw malformed(`format must be ${PROOF_BUNDLE_FORMAT}`);
  if (typeof b.checkpoint !== 'string') throw malformed('checkpoint must be a signed note');
  if (typeof b.logIndex !== 'number' || !Number.isSafeInteger(b.logIndex) || b.logIndex < 0) throw malformed('bad logIndex');
  if (!Array.isArray(b.logProof) || !b.logProof.every((h) => typeof h === 'string')) throw malformed('logProof must be a list of base64 hashes');
  const logProof = (b.logProof as string[]).map((h) => {
    const bytes = fromBase64(h);
    if (!bytes || bytes.length !== 32) throw malformed('logProof hash is not base64 of 32 bytes');
    return bytes;
  });

  // 1. The checkpoint is signed by the log.
  const { checkpoint } = openCheckpoint(b.checkpoint, logVerifier);
  // 2. The version statement is in that log (its canonical bytes are the log entry).
  let statement: VersionStatement;
  let entry: Uint8Array;
  try {
    entry = encodeStatement(b.statement);
    const parsed = parseHomeStatement(b.statement as VersionStatement);
    if (parsed?.type !== 'version') throw malformed('statement is not a version statement');
    statement = parsed;
  } catch (e) {
    if (e instanceof EmbassyError && e.code === 'proof.malformed') throw e;
    throw malformed(`bad version statement: ${(e as Error).message}`);
  }
  const logIndex = BigInt(b.logIndex);
  verifyInclusion(hashLeaf(entry), logIndex, checkpoint.size, logProof, checkpoint.root);
  // 3. The record is in the version the statement commits to.
  const recordProof = recordProofFromJson(b.record);
  verifyRecordProof(recordProof, fromBase64(statement.commitment)!);
  return {
    record: recordProof.record,
    dataset: statement.dataset,
    version: statement.version,
    sourceTime: statement.sourceTime,
    checkpoint,
    logIndex,
  };
}
