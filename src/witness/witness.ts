// The witness side of c2sp.org/tlog-witness add-checkpoint: checks a request against the trusted
// log's key and the latest checkpoint this witness cosigned, advances that state atomically, and
// only then returns a tlog-cosignature/v1 line. Status codes follow the spec text; see
// docs/format-witness.md for the order of checks and where the torchwood vectors differ.
import { EmbassyError, isEmbassyError, type ErrorCode } from '../errors.ts';
import { bytesEqual, utf8 } from '../format/bytes.ts';
import { openCheckpoint, type Checkpoint } from '../log/checkpoint.ts';
import { EMPTY_ROOT, verifyConsistency, type Hash } from '../log/merkle.ts';
import { parseVerifierKey, type NoteSignature, type NoteSigner } from '../log/note.ts';
import { formatAddCheckpointResponse, parseAddCheckpointRequest, type AddCheckpointRequest } from '../log/witness.ts';
import type { WitnessLog, WitnessState } from './state.ts';

export type RefusalStatus = 400 | 403 | 404 | 409 | 422;

export type RefusalReason =
  | 'malformed' // 400: the body or the checkpoint note does not parse
  | 'unknown-log' // 404: no trusted log has this origin
  | 'bad-signature' // 403: no signature by the log's key verifies
  | 'old-beyond-size' // 400: old size above the checkpoint size
  | 'old-size-mismatch' // 409: old size is not the size this witness last cosigned
  | 'bad-proof' // 422: the consistency proof does not verify (or is not empty where it must be)
  | 'same-size-different-root' // 409: a fork, the spec's root check at equal sizes
  | 'lost-race'; // 409: another request advanced the log between our check and our write

/**
 * Evidence that the log misbehaved, built only from checkpoints validly signed by its key:
 * 'fork' = two different trees of the same size (a split view); 'rollback' = a checkpoint smaller
 * than one already cosigned. A rollback may also be a stale retry by a slow client; a fork cannot
 * be anything but misbehaviour.
 */
export interface WitnessFinding {
  kind: 'fork' | 'rollback';
  origin: string;
  /** What this witness had cosigned (checkpoint undefined only for state written before notes were kept). */
  cosigned: { size: bigint; root: Hash; checkpoint: string | undefined };
  /** The validly signed checkpoint that conflicts with it. */
  presented: { size: bigint; root: Hash; checkpoint: string };
  oldSize: bigint;
  /** now() when it was seen, POSIX seconds. */
  at: bigint;
}

export interface AddCheckpointSuccess {
  status: 200;
  origin: string;
  oldSize: bigint;
  size: bigint;
  cosignatures: NoteSignature[];
  /** The response body: one cosignature line per signer. */
  body: string;
}

export interface AddCheckpointRefusal {
  status: RefusalStatus;
  reason: RefusalReason;
  /** Short lowercase text for people (and the free-form error body); never key material. */
  detail: string;
  origin?: string;
  oldSize?: bigint;
  size?: bigint;
  /** Set on every 409: the size of the latest cosigned checkpoint, the body the spec requires. */
  knownSize?: bigint;
  finding?: WitnessFinding;
}

export type AddCheckpointOutcome = AddCheckpointSuccess | AddCheckpointRefusal;

export interface AddCheckpointOptions {
  /** Called once per detected fork or rollback, before the outcome is returned. */
  onConflict?: (finding: WitnessFinding) => void;
}

// Errors from parsing and opening the request, mapped to statuses in this one table.
const STATUS_OF: Partial<Record<ErrorCode, { status: RefusalStatus; reason: RefusalReason; detail: string }>> = {
  'witness.malformed': { status: 400, reason: 'malformed', detail: 'malformed request' },
  'note.malformed': { status: 400, reason: 'malformed', detail: 'malformed checkpoint note' },
  'checkpoint.malformed': { status: 400, reason: 'malformed', detail: 'malformed checkpoint' },
  'checkpoint.origin-mismatch': { status: 400, reason: 'malformed', detail: 'malformed checkpoint' },
  'note.unverified': { status: 403, reason: 'bad-signature', detail: 'invalid signature' },
  'note.bad-signature': { status: 403, reason: 'bad-signature', detail: 'invalid signature' },
  'proof.invalid': { status: 422, reason: 'bad-proof', detail: 'bad consistency proof' },
  'proof.malformed': { status: 422, reason: 'bad-proof', detail: 'bad consistency proof' },
};

function refusalFor(e: unknown): AddCheckpointRefusal {
  const m = isEmbassyError(e) ? STATUS_OF[e.code] : undefined;
  if (m === undefined) throw e;
  return { ...m };
}

/** Fork or rollback of `cp` against the cosigned head `known`, or undefined. */
function conflictOf(known: WitnessLog, cp: Checkpoint, note: string, oldSize: bigint, at: bigint): WitnessFinding | undefined {
  let kind: WitnessFinding['kind'] | undefined;
  if (cp.size < known.size) kind = 'rollback';
  else if (cp.size === known.size && known.size > 0n && !bytesEqual(cp.root, known.root)) kind = 'fork';
  if (kind === undefined) return undefined;
  return {
    kind,
    origin: known.origin,
    cosigned: { size: known.size, root: known.root, checkpoint: known.checkpoint },
    presented: { size: cp.size, root: cp.root, checkpoint: note },
    oldSize,
    at,
  };
}

/** The consistency checks of the spec, for a request whose old size equals the known size. */
function checkProof(req: AddCheckpointRequest, known: WitnessLog, cp: Checkpoint): AddCheckpointRefusal | undefined {
  const bad = (detail: string): AddCheckpointRefusal => ({ status: 422, reason: 'bad-proof', detail });
  if (req.oldSize === 0n) {
    if (req.proof.length !== 0) return bad('consistency proof from size 0 must be empty');
    if (cp.size === 0n && !bytesEqual(cp.root, EMPTY_ROOT)) return bad('checkpoint of size 0 with a non-empty root');
    return undefined;
  }
  if (req.oldSize === cp.size) {
    if (req.proof.length !== 0) return bad('consistency proof between equal sizes must be empty');
    if (!bytesEqual(cp.root, known.root)) {
      return { status: 409, reason: 'same-size-different-root', detail: 'checkpoint conflicts with the cosigned one', knownSize: known.size };
    }
    return undefined;
  }
  try {
    verifyConsistency(req.oldSize, cp.size, req.proof, known.root, cp.root);
    return undefined;
  } catch (e) {
    return refusalFor(e);
  }
}

/**
 * Handles one add-checkpoint request body. Never throws for anything the client sent: every
 * refusal is an outcome with the spec's status. Throws only when the state or the signer fail
 * (the caller answers 500). `cosigner` timestamps with its own clock; `now` stamps findings.
 * When the outcome is 200 the new head is durable in `state`.
 */
export async function addCheckpoint(
  body: string | Uint8Array,
  state: WitnessState,
  cosigner: NoteSigner,
  now: () => bigint,
  options: AddCheckpointOptions = {},
): Promise<AddCheckpointOutcome> {
  let req: AddCheckpointRequest;
  try {
    req = parseAddCheckpointRequest(body);
  } catch (e) {
    return refusalFor(e);
  }
  const { oldSize } = req;
  const eol = req.checkpoint.indexOf('\n');
  if (eol <= 0) return { status: 400, reason: 'malformed', detail: 'malformed checkpoint', oldSize };
  const origin = req.checkpoint.slice(0, eol);

  const known = await state.get(origin);
  // The origin is echoed to the log only once it is known to be one we trust.
  if (known === undefined) return { status: 404, reason: 'unknown-log', detail: 'unknown log', oldSize };

  let cp: Checkpoint;
  let text: string;
  try {
    const opened = openCheckpoint(req.checkpoint, parseVerifierKey(known.verifierKey), [], { origin });
    cp = opened.checkpoint;
    text = opened.note.text;
  } catch (e) {
    return { ...refusalFor(e), origin, oldSize };
  }
  const size = cp.size;
  const report = (f: WitnessFinding | undefined): WitnessFinding | undefined => {
    if (f !== undefined) options.onConflict?.(f);
    return f;
  };

  // From here the checkpoint is signed by the log: a conflict with what we cosigned is evidence.
  const finding = report(conflictOf(known, cp, req.checkpoint, oldSize, now()));
  const withFinding = (r: AddCheckpointRefusal): AddCheckpointRefusal =>
    finding === undefined ? { ...r, origin, oldSize, size } : { ...r, origin, oldSize, size, finding };

  if (oldSize > size) return withFinding({ status: 400, reason: 'old-beyond-size', detail: 'old size beyond checkpoint size' });
  if (oldSize !== known.size) {
    return withFinding({ status: 409, reason: 'old-size-mismatch', detail: 'old size does not match', knownSize: known.size });
  }
  const proofRefusal = checkProof(req, known, cp);
  if (proofRefusal !== undefined) return withFinding(proofRefusal);

  // The check above and this write are one step only through compareAndSet: if another request
  // moved the head meanwhile, nothing is written and this one gets the 409 it would have got.
  if (!(await state.compareAndSet(origin, known, { size, root: cp.root, checkpoint: req.checkpoint }))) {
    const current = await state.get(origin);
    if (current === undefined) throw new EmbassyError('store.io', `witness: log ${origin} vanished from the state`);
    const raced = report(conflictOf(current, cp, req.checkpoint, oldSize, now()));
    const r: AddCheckpointRefusal = {
      status: 409,
      reason: 'lost-race',
      detail: 'old size does not match',
      origin,
      oldSize,
      size,
      knownSize: current.size,
    };
    return raced === undefined ? r : { ...r, finding: raced };
  }

  // Durable: the witness has moved to this checkpoint, so signing it can conflict with nothing.
  const cosignature: NoteSignature = { name: cosigner.name, keyId: cosigner.keyId, signature: cosigner.sign(utf8.encode(text)) };
  return { status: 200, origin, oldSize, size, cosignatures: [cosignature], body: formatAddCheckpointResponse([cosignature]) };
}
