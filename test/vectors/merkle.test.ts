// Runs every transparency-dev/merkle probe file (testdata/, 518 JSON files) and the RFC 6962
// 8-leaf reference tree against src/log/merkle.ts. See the vectors' README for the format.
// subtreeinclusion/ and subtreeconsistency/ are MTC (draft-ietf-plants-merkle-tree-certs)
// subtree probes; they are mapped onto RFC 9162 proofs below, as far as that mapping is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isEmbassyError } from '../../src/errors.ts';
import { bytesEqual, fromBase64, fromHex, toHex } from '../../src/format/bytes.ts';
import {
  EMPTY_ROOT,
  hashChildren,
  hashLeaf,
  memorySubtreeReader,
  proveConsistency,
  proveInclusion,
  rootOfLeafHashes,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../src/log/merkle.ts';

const VECTORS = new URL('../../../shared/vectors/', import.meta.url);
const DIR = fileURLToPath(new URL('merkle-transparency-dev/', VECTORS));
const TESTDATA = join(DIR, 'testdata');
const skip = existsSync(TESTDATA) ? false : `shared vectors absent at ${TESTDATA}`;

/** JSON.parse rounds integers above 2^53 (leafIdx 2^64−1 is in there): keep every integer as text. */
function parseExact(text: string): Record<string, unknown> {
  return JSON.parse(text.replace(/("[A-Za-z0-9_]+"\s*:\s*)(-?\d+)(?=\s*[,}\]])/g, '$1"$2"')) as Record<string, unknown>;
}

function int(v: unknown): bigint {
  assert.equal(typeof v, 'string', `expected an integer, got ${JSON.stringify(v)}`);
  return BigInt(v as string);
}

function b64(v: unknown): Uint8Array {
  const out = fromBase64(v as string);
  assert.ok(out, `not base64: ${JSON.stringify(v)}`);
  return out;
}

/** `proof: null` means an empty proof. */
function proofOf(v: unknown): Uint8Array[] {
  return v === null ? [] : (v as unknown[]).map(b64);
}

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? walk(p) : name.endsWith('.json') ? [p] : [];
    });
}

/** MTC: [start, end) is a valid subtree iff start < end and start is a multiple of BIT_CEIL(end − start). */
function isValidSubtree(start: bigint, end: bigint): boolean {
  if (start >= end) return false;
  let ceil = 1n;
  while (ceil < end - start) ceil <<= 1n;
  return start % ceil === 0n;
}

type Vector = Record<string, unknown>;
const runners: Record<string, (v: Vector) => void> = {
  inclusion: (v) => verifyInclusion(b64(v.leafHash), int(v.leafIdx), int(v.treeSize), proofOf(v.proof), b64(v.root)),
  consistency: (v) => verifyConsistency(int(v.size1), int(v.size2), proofOf(v.proof), b64(v.root1), b64(v.root2)),
  // A valid subtree's hash is the MTH of its leaves, so inclusion in it is RFC 9162 inclusion
  // re-rooted at start.
  subtreeinclusion: (v) => {
    const [index, start, end] = [int(v.leafIdx), int(v.start), int(v.end)];
    if (!isValidSubtree(start, end) || index < start || index >= end) throw new Error('subtree: invalid subtree or leaf outside it');
    verifyInclusion(b64(v.leafHash), index - start, end - start, proofOf(v.proof), b64(v.root));
  },
  // A subtree starting at 0 is the tree of size `end`, so its consistency proof is RFC 9162's.
  // An empty subtree has hash MTH({}) and needs no proof. No accepting probe has start > 0.
  subtreeconsistency: (v) => {
    const [start, end, size] = [int(v.start), int(v.end), int(v.size)];
    const proof = proofOf(v.proof);
    if (start === end) {
      if (end > size || proof.length > 0 || !bytesEqual(b64(v.root1), EMPTY_ROOT)) throw new Error('subtree: bad empty subtree');
      return;
    }
    if (!isValidSubtree(start, end) || end > size) throw new Error('subtree: invalid subtree');
    if (start !== 0n) throw new Error('subtree: start > 0 needs the MTC algorithm; no probe should get here');
    verifyConsistency(end, size, proof, b64(v.root1), b64(v.root2));
  },
};

test('transparency-dev/merkle testdata: all 518 probe files give the expected outcome', { skip }, () => {
  const files = walk(TESTDATA);
  const counts: Record<string, number> = {};
  const wrong: string[] = [];
  for (const file of files) {
    const rel = relative(TESTDATA, file);
    const kind = rel.split('/')[0]!;
    const run = runners[kind];
    assert.ok(run, `unknown probe directory ${kind}`);
    const v = parseExact(readFileSync(file, 'utf8'));
    assert.equal(typeof v.wantErr, 'boolean', rel);
    let threw: unknown;
    try {
      run(v);
    } catch (e) {
      threw = e;
    }
    // The library must reject with its own coded errors, never a raw exception.
    const libraryThrew = isEmbassyError(threw);
    if (threw !== undefined && !libraryThrew && !(threw instanceof Error && threw.message.startsWith('subtree:'))) {
      wrong.push(`${rel}: raw exception ${String(threw)}`);
    } else if ((threw !== undefined) !== v.wantErr) {
      wrong.push(`${rel}: wantErr ${String(v.wantErr)}, got ${threw === undefined ? 'success' : String(threw)}`);
    }
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  assert.deepEqual(wrong, []);
  assert.equal(files.length, 518);
  assert.deepEqual(counts, { consistency: 98, inclusion: 98, subtreeconsistency: 118, subtreeinclusion: 204 });
});

test('the big-integer trap: leafIdx 2^64 − 1 is read exactly and rejected as malformed', { skip }, () => {
  const v = parseExact(readFileSync(join(TESTDATA, 'inclusion/1/leafIdx-sub-@1.json'), 'utf8'));
  assert.equal(int(v.leafIdx), (1n << 64n) - 1n);
  assert.throws(() => runners.inclusion!(v), (e: unknown) => isEmbassyError(e, 'proof.malformed'));
});

test('RFC 6962 reference tree: hashes, roots for sizes 0..8, every node, and all proofs', { skip }, async () => {
  const ref = JSON.parse(readFileSync(join(DIR, 'rfc6962-reference-tree.json'), 'utf8')) as {
    hasherVectors: { op: string; input_hex?: string; left_hex?: string; right_hex?: string; want: string }[];
    leafInputs_hex: string[];
    nodeHashes_byLevel: string[][];
    rootHashes_byTreeSize: string[];
  };
  const hex = (s: string | undefined) => fromHex(s ?? '')!;
  for (const h of ref.hasherVectors) {
    const got =
      h.op === 'emptyRoot' ? EMPTY_ROOT : h.op === 'hashLeaf' ? hashLeaf(hex(h.input_hex)) : hashChildren(hex(h.left_hex), hex(h.right_hex));
    assert.equal(toHex(got), h.want, h.op);
  }
  const leaves = ref.leafInputs_hex.map((x) => hashLeaf(hex(x)));
  assert.equal(leaves.length, 8);
  const read = memorySubtreeReader(leaves);
  for (const [level, row] of ref.nodeHashes_byLevel.entries()) {
    const got = await read(row.map((_, i) => ({ level, index: BigInt(i) })));
    assert.deepEqual(got.map(toHex), row, `level ${level}`);
  }
  const roots = ref.rootHashes_byTreeSize.map(hex);
  assert.equal(roots.length, 9);
  for (let n = 0; n <= 8; n++) {
    assert.equal(toHex(rootOfLeafHashes(leaves.slice(0, n))), toHex(roots[n]!));
    assert.equal(toHex(await treeRoot(BigInt(n), read)), toHex(roots[n]!));
    for (let m = 0; m < n; m++) {
      verifyInclusion(leaves[m]!, BigInt(m), BigInt(n), await proveInclusion(BigInt(m), BigInt(n), read), roots[n]!);
    }
    for (let m = 1; m <= n; m++) {
      verifyConsistency(BigInt(m), BigInt(n), await proveConsistency(BigInt(m), BigInt(n), read), roots[m]!, roots[n]!);
    }
  }
});
