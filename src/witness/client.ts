// The home side of c2sp.org/tlog-witness: asks one witness to cosign a checkpoint and accepts
// the answer only if it holds a valid tlog-cosignature/v1 by that witness's key over exactly that
// checkpoint. The transport is injected (the node's mTLS client in production, inject() in tests).
import { EmbassyError, isEmbassyError } from '../errors.ts';
import { toHex } from '../format/bytes.ts';
import { parseCheckpoint } from '../log/checkpoint.ts';
import { verifyCosignature } from '../log/cosignature.ts';
import type { Hash } from '../log/merkle.ts';
import { formatSignatureLine, parseNote, type NoteSignature, type NoteVerifier } from '../log/note.ts';
import { formatAddCheckpointRequest, parseAddCheckpointConflict, parseAddCheckpointResponse } from '../log/witness.ts';

export interface WitnessHttpResponse {
  status: number;
  body: string;
  contentType: string | undefined;
}

/** Sends an add-checkpoint body to the witness and returns its answer; rejects only on transport failure. */
export type WitnessPost = (body: string) => Promise<WitnessHttpResponse>;

export type CosignatureAnswer =
  | {
      kind: 'cosigned';
      /** The witness's cosignature, verified; append `line` to the checkpoint note. */
      signature: NoteSignature;
      timestamp: bigint;
      line: string;
    }
  | {
      /** 409: the witness has cosigned up to `knownSize`; retry with a proof from there. */
      kind: 'conflict';
      knownSize: bigint;
    };

function refused(code: 'witness.malformed' | 'note.unverified' | 'site.config' | 'proof.invalid' | 'store.io', what: string, hint?: string) {
  return new EmbassyError(code, `witness: ${what}`, hint === undefined ? undefined : { hint });
}

/**
 * One add-checkpoint round trip. Resolves with the verified cosignature, or with the witness's
 * known size on 409. Rejects with a coded error otherwise: 'cosignature.invalid' when a 200 holds
 * no valid cosignature by `witnessVerifier` over this checkpoint (another key, another checkpoint,
 * a bad signature); 'witness.malformed' for an unreadable answer or a 400; 'note.unverified' for
 * 403; 'site.config' for 404 (the witness does not trust this log); 'proof.invalid' for 422;
 * 'store.io' for any other status.
 */
export async function requestCosignature(
  post: WitnessPost,
  oldSize: bigint,
  proof: readonly Hash[],
  signedCheckpoint: string,
  witnessVerifier: NoteVerifier,
): Promise<CosignatureAnswer> {
  const body = formatAddCheckpointRequest({ oldSize, proof: [...proof], checkpoint: signedCheckpoint });
  const text = parseNote(signedCheckpoint).text;
  parseCheckpoint(text);
  const res = await post(body);
  const who = witnessVerifier.name;
  switch (res.status) {
    case 200: {
      const sigs = parseAddCheckpointResponse(res.body);
      // The spec: ignore cosignatures from unknown keys; require one by the key we asked.
      const mine = sigs.filter((s) => s.name === witnessVerifier.name && toHex(s.keyId) === toHex(witnessVerifier.keyId));
      if (mine.length === 0) {
        throw new EmbassyError('cosignature.invalid', `witness: ${who} answered without a cosignature by its key`);
      }
      let last: unknown;
      for (const s of mine) {
        try {
          const { timestamp } = verifyCosignature(text, s, witnessVerifier);
          return { kind: 'cosigned', signature: s, timestamp, line: formatSignatureLine(s) };
        } catch (e) {
          if (!isEmbassyError(e)) throw e;
          last = e;
        }
      }
      throw new EmbassyError('cosignature.invalid', `witness: cosignature by ${who} does not verify for this checkpoint`, { cause: last });
    }
    case 409:
      return { kind: 'conflict', knownSize: parseAddCheckpointConflict(res.body) };
    case 400:
      throw refused('witness.malformed', `${who} refused the request as malformed (400)`);
    case 403:
      throw refused('note.unverified', `${who} did not accept the log's signature (403)`, "check that the witness trusts this log's current key");
    case 404:
      throw refused('site.config', `${who} does not know this log (404)`, 'the witness operator adds it with `embassy witness add-log`');
    case 422:
      throw refused('proof.invalid', `${who} rejected the consistency proof (422)`);
    default:
      throw refused('store.io', `${who} answered with status ${res.status}`);
  }
}
