import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256 } from '../crypto/hash.ts';
import { isEmbassyError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { toHex, uint64BE, utf8 } from '../format/bytes.ts';
import {
  EMPTY_ROOT,
  HASH_SIZE,
  hashChildren,
  hashLeaf,
  memorySubtreeReader,
  proveConsistency,
  proveInclusion,
  rootFromInclusionProof,
  rootOfLeafHashes,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';
import type { Hash, SubtreeHashReader, SubtreeNode } from './merkle.ts';

// --- Spec-literal references (RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1), recursive, over numbers. ---

/** k with k < n ≤ 2k. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return hashChildren(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

type Span = [lo: number, hi: number];

/** PATH(m, D[lo:hi]) as leaf ranges, leaf first. */
function pathSpans(m: number, lo: number, hi: number): Span[] {
  if (hi - lo <= 1) return [];
  const mid = lo + split(hi - lo);
  return m < mid ? [...pathSpans(m, lo, mid), [mid, hi]] : [...pathSpans(m, mid, hi), [lo, mid]];
}

/**
 * SUBPROOF(m, D[lo:hi], b) as leaf ranges; m is absolute. `seed` is the range SUBPROOF(m, D[m], true)
 * leaves out because the verifier already holds its hash as root1.
 */
function subproofSpans(m: number, lo: number, hi: number, b: boolean): { spans: Span[]; seed?: Span } {
  if (m === hi) return b ? { spans: [], seed: [lo, hi] } : { spans: [[lo, hi]] };
  const mid = lo + split(hi - lo);
  const below = m <= mid ? subproofSpans(m, lo, mid, b) : subproofSpans(m, mid, hi, false);
  below.spans.push(m <= mid ? [mid, hi] : [lo, mid]);
  return below;
}

/** MTH(D[lo:hi]) where the ranges in `atoms` are known hashes; every other range is split further. */
function evalSpan(lo: number, hi: number, atoms: Map<string, Hash>): Hash {
  const known = atoms.get(`${lo}-${hi}`);
  if (known) return known;
  if (hi - lo <= 1) throw new Error(`reference: range ${lo}-${hi} is neither known nor splittable`);
  const mid = lo + split(hi - lo);
  return hashChildren(evalSpan(lo, mid, atoms), evalSpan(mid, hi, atoms));
}

const same = (a: Uint8Array, b: Uint8Array) => toHex(a) === toHex(b);

/** What an inclusion verifier must decide, derived from PATH's recursive definition alone. */
function referenceInclusion(leaf: Hash, m: number, n: number, proof: readonly Hash[], root: Hash): boolean {
  if (!(m >= 0 && m < n) || leaf.length !== 32 || proof.some((p) => p.length !== 32)) return false;
  const spans = pathSpans(m, 0, n);
  if (spans.length !== proof.length) return false;
  const atoms = new Map(spans.map(([lo, hi], i) => [`${lo}-${hi}`, proof[i]!]));
  atoms.set(`${m}-${m + 1}`, leaf);
  return same(evalSpan(0, n, atoms), root);
}

/** What a consistency verifier must decide, derived from PROOF's recursive definition alone. */
function referenceConsistency(m: number, n: number, proof: readonly Hash[], r1: Hash, r2: Hash): boolean {
  if (!(m > 0 && m <= n)) return false;
  if (m === n) return proof.length === 0 && same(r1, r2);
  if (r1.length !== 32 || r2.length !== 32 || proof.some((p) => p.length !== 32)) return false;
  const { spans, seed } = subproofSpans(m, 0, n, true);
  if (spans.length !== proof.length) return false;
  const atoms = new Map(spans.map(([lo, hi], i) => [`${lo}-${hi}`, proof[i]!]));
  if (seed) atoms.set(`${seed[0]}-${seed[1]}`, r1);
  return same(evalSpan(0, m, atoms), r1) && same(evalSpan(0, n, atoms), r2);
}

// --- helpers ---

function leavesOf(n: number, seed = 0): Hash[] {
  return Array.from({ length: n }, (_, i) => hashLeaf(utf8.encode(`leaf ${seed}/${i}`)));
}

function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const out = h.slice();
  out[(bit >> 3) % out.length]! ^= 1 << (bit & 7);
  return out;
}

function outcome(f: () => void): 'ok' | ErrorCode {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (isEmbassyError(e)) return e.code;
    throw e;
  }
}

async function rejectsWith(code: ErrorCode, f: () => unknown): Promise<void> {
  await assert.rejects(async () => f(), (e: unknown) => isEmbassyError(e, code));
}

/** Reader wrapper that records every batch and checks it only asks for complete, aligned subtrees. */
function recording(size: bigint, inner: SubtreeHashReader, calls: SubtreeNode[][]): SubtreeHashReader {
  return async (nodes) => {
    calls.push([...nodes]);
    for (const { level, index } of nodes) {
      assert.ok((index + 1n) << BigInt(level) <= size, `node (${level}, ${index}) is not complete in size ${size}`);
    }
    return inner(nodes);
  };
}

/**
 * A real tree of any uint64 size without materialising it: leaves are one default value except
 * at `special` indices. A node whose range holds no special leaf has a per-level constant hash;
 * the others are computed and memoised, so a few hundred special leaves cost a few thousand hashes.
 */
function sparseTree(special: readonly bigint[]) {
  const specials = [...new Set(special)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const plain: Hash[] = [hashLeaf(utf8.encode('default leaf'))];
  for (let k = 1; k <= 64; k++) plain.push(hashChildren(plain[k - 1]!, plain[k - 1]!));
  const memo = new Map<string, Hash>();
  const leaf = (i: bigint) => (specials.includes(i) ? hashLeaf(uint64BE(i)) : plain[0]!);
  const node = (level: number, index: bigint): Hash => {
    const lo = index << BigInt(level);
    const hi = lo + (1n << BigInt(level));
    if (!specials.some((s) => s >= lo && s < hi)) return plain[level]!;
    if (level === 0) return leaf(index);
    const key = `${level}/${index}`;
    let h = memo.get(key);
    if (!h) {
      h = hashChildren(node(level - 1, index * 2n), node(level - 1, index * 2n + 1n));
      memo.set(key, h);
    }
    return h;
  };
  const read: SubtreeHashReader = async (nodes) => nodes.map((n) => node(n.level, n.index));
  return { leaf, read };
}

const MAX63 = (1n << 63n) - 1n;
const MAX64 = (1n << 64n) - 1n;

// --- tests ---

test('hashing matches RFC 6962 known answers', () => {
  assert.equal(toHex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(toHex(hashLeaf(new Uint8Array())), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  assert.equal(toHex(hashChildren(utf8.encode('N123'), utf8.encode('N456'))), 'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb');
  assert.equal(HASH_SIZE, 32);
  assert.equal(rootOfLeafHashes([]), EMPTY_ROOT);
});

test('rootOfLeafHashes and treeRoot agree with the recursive MTH', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 3000 }), fc.integer(), async (n, seed) => {
      const leaves = leavesOf(n, seed);
      const want = mth(leaves);
      assert.ok(same(rootOfLeafHashes(leaves), want));
      const calls: SubtreeNode[][] = [];
      assert.ok(same(await treeRoot(BigInt(n), recording(BigInt(n), memorySubtreeReader(leaves), calls)), want));
      assert.ok(calls.length <= 1);
    }),
    { numRuns: 60 },
  );
});

test('inclusion proofs equal PATH, come from one batched read, and verify', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3000 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
      async ([n, m]) => {
        const leaves = leavesOf(n);
        const calls: SubtreeNode[][] = [];
        const read = recording(BigInt(n), memorySubtreeReader(leaves), calls);
        const proof = await proveInclusion(BigInt(m), BigInt(n), read);
        assert.ok(calls.length <= 1);
        const want = pathSpans(m, 0, n).map(([lo, hi]) => mth(leaves.slice(lo, hi)));
        assert.deepEqual(proof.map(toHex), want.map(toHex));
        const root = await treeRoot(BigInt(n), read);
        verifyInclusion(leaves[m]!, BigInt(m), BigInt(n), proof, root);
        assert.ok(same(rootFromInclusionProof(leaves[m]!, BigInt(m), BigInt(n), proof), root));
      },
    ),
    { numRuns: 100 },
  );
});

test('inclusion: flipping any bit of a proof hash, the leaf hash or the root fails as proof.invalid', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3000 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
      fc.nat(255),
      fc.nat(),
      async ([n, m], bit, pick) => {
        const leaves = leavesOf(n, 1);
        const read = memorySubtreeReader(leaves);
        const proof = await proveInclusion(BigInt(m), BigInt(n), read);
        const root = await treeRoot(BigInt(n), read);
        const [i, j] = [BigInt(m), BigInt(n)];
        assert.equal(outcome(() => verifyInclusion(flipBit(leaves[m]!, bit), i, j, proof, root)), 'proof.invalid');
        assert.equal(outcome(() => verifyInclusion(leaves[m]!, i, j, proof, flipBit(root, bit))), 'proof.invalid');
        if (proof.length > 0) {
          const k = pick % proof.length;
          const bad = proof.map((p, x) => (x === k ? flipBit(p, bit) : p));
          assert.equal(outcome(() => verifyInclusion(leaves[m]!, i, j, bad, root)), 'proof.invalid');
        }
      },
    ),
    { numRuns: 100 },
  );
});

test('inclusion: the verifier agrees with the recursive definition on genuine and tampered inputs', async () => {
  // Changing index or size usually fails, but not always: (0, 3) and (0, 4) hash the same way, so
  // a size-3 proof "verifies" as size 4 against the size-3 root. Sizes are bound by the checkpoint,
  // not by the proof. The reference says exactly when acceptance is right.
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
      fc.integer({ min: 0, max: 6 }),
      fc.nat(),
      async ([n, m], how, r) => {
        const leaves = leavesOf(n, 2);
        const read = memorySubtreeReader(leaves);
        let proof = await proveInclusion(BigInt(m), BigInt(n), read);
        let root = mth(leaves);
        let leaf = leaves[m]!;
        let [i, size] = [m, n];
        if (how === 1) i = r % (n + 2);
        if (how === 2) size = r % (2 * n + 2);
        if (how === 3) [i, size] = [r % (n + 2), (r >> 4) % (2 * n + 2)];
        if (how === 4) proof = proof.slice(0, -1);
        if (how === 5) proof = [...proof, leaves[r % n]!];
        if (how === 6) [leaf, root] = [leaves[r % n]!, mth(leaves.slice(0, 1 + (r % n)))];
        const want = referenceInclusion(leaf, i, size, proof, root);
        const got = outcome(() => verifyInclusion(leaf, BigInt(i), BigInt(size), proof, root));
        assert.equal(got === 'ok', want, `how=${how} m=${i} n=${size} got ${got}`);
        if (how === 0) assert.equal(got, 'ok');
      },
    ),
    { numRuns: 400 },
  );
});

test('consistency proofs equal PROOF, come from one batched read, and verify', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3000 }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n))),
      async ([m, n]) => {
        const leaves = leavesOf(n, 3);
        const calls: SubtreeNode[][] = [];
        const read = recording(BigInt(n), memorySubtreeReader(leaves), calls);
        const proof = await proveConsistency(BigInt(m), BigInt(n), read);
        assert.ok(calls.length <= 1);
        const want = subproofSpans(m, 0, n, true).spans.map(([lo, hi]) => mth(leaves.slice(lo, hi)));
        assert.deepEqual(proof.map(toHex), want.map(toHex));
        verifyConsistency(BigInt(m), BigInt(n), proof, mth(leaves.slice(0, m)), mth(leaves));
      },
    ),
    { numRuns: 100 },
  );
});

test('consistency: flipping any bit of a proof hash or either root fails as proof.invalid', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 2, max: 3000 }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.constant(n))),
      fc.nat(255),
      fc.nat(),
      async ([m, n], bit, pick) => {
        const leaves = leavesOf(n, 4);
        const proof = await proveConsistency(BigInt(m), BigInt(n), memorySubtreeReader(leaves));
        const [r1, r2] = [mth(leaves.slice(0, m)), mth(leaves)];
        const [a, b] = [BigInt(m), BigInt(n)];
        assert.equal(outcome(() => verifyConsistency(a, b, proof, flipBit(r1, bit), r2)), 'proof.invalid');
        assert.equal(outcome(() => verifyConsistency(a, b, proof, r1, flipBit(r2, bit))), 'proof.invalid');
        const k = pick % proof.length;
        const bad = proof.map((p, x) => (x === k ? flipBit(p, bit) : p));
        assert.equal(outcome(() => verifyConsistency(a, b, bad, r1, r2)), 'proof.invalid');
      },
    ),
    { numRuns: 100 },
  );
});

test('consistency: the verifier agrees with the recursive definition on genuine and tampered inputs', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n))),
      fc.integer({ min: 0, max: 6 }),
      fc.nat(),
      async ([m, n], how, r) => {
        const leaves = leavesOf(n, 5);
        let proof = await proveConsistency(BigInt(m), BigInt(n), memorySubtreeReader(leaves));
        let [r1, r2] = [mth(leaves.slice(0, m)), mth(leaves)];
        let [s1, s2] = [m, n];
        if (how === 1) s1 = r % (n + 2);
        if (how === 2) s2 = r % (2 * n + 2);
        if (how === 3) [s1, s2] = [r % (n + 2), (r >> 4) % (2 * n + 2)];
        if (how === 4) proof = proof.slice(1);
        if (how === 5) proof = [...proof, leaves[r % n]!];
        if (how === 6) [r1, r2] = [r2, r1];
        const want = referenceConsistency(s1, s2, proof, r1, r2);
        const got = outcome(() => verifyConsistency(BigInt(s1), BigInt(s2), proof, r1, r2));
        assert.equal(got === 'ok', want, `how=${how} m=${s1} n=${s2} got ${got}`);
        if (how === 0) assert.equal(got, 'ok');
      },
    ),
    { numRuns: 400 },
  );
});

describe('large sizes: bigint arithmetic up to 2^64 − 1', () => {
  const cases: [bigint, bigint][] = [
    [MAX63 - 1n, MAX63],
    [0n, MAX63],
    [MAX63 - 1n, MAX63 + 1n],
    [1n << 62n, MAX63],
    [(1n << 62n) - 1n, MAX63],
    [12345678901234567n, MAX63 - 2n],
    [MAX64 - 1n, MAX64],
    [(1n << 63n) + 5n, MAX64 - 7n],
  ];
  for (const [index, size] of cases) {
    test(`inclusion of ${index} in ${size} round-trips`, async () => {
      const tree = sparseTree([index, size - 1n, size - 2n, index ^ 1n, 0n]);
      const calls: SubtreeNode[][] = [];
      const read = recording(size, tree.read, calls);
      const proof = await proveInclusion(index, size, read);
      assert.equal(calls.length, 1);
      const root = await treeRoot(size, read);
      verifyInclusion(tree.leaf(index), index, size, proof, root);
      assert.equal(outcome(() => verifyInclusion(flipBit(tree.leaf(index), 9), index, size, proof, root)), 'proof.invalid');
      if (index > 0n) assert.notEqual(outcome(() => verifyInclusion(tree.leaf(index), index - 1n, size, proof, root)), 'ok');
    });
  }
  const pairs: [bigint, bigint][] = [
    [MAX63 - 2n, MAX63],
    [1n, MAX63],
    [1n << 62n, MAX63],
    [(1n << 62n) + 1n, (1n << 63n) + 1n],
    [MAX63, MAX64],
    [3n, MAX64],
  ];
  for (const [size1, size2] of pairs) {
    test(`consistency ${size1} → ${size2} round-trips`, async () => {
      const tree = sparseTree([size1 - 1n, size1, size2 - 1n, 7n]);
      const calls: SubtreeNode[][] = [];
      const read = recording(size2, tree.read, calls);
      const proof = await proveConsistency(size1, size2, read);
      assert.equal(calls.length, 1);
      const [r1, r2] = [await treeRoot(size1, tree.read), await treeRoot(size2, tree.read)];
      verifyConsistency(size1, size2, proof, r1, r2);
      assert.equal(outcome(() => verifyConsistency(size1, size2, proof, r2, r1)), 'proof.invalid');
      assert.equal(outcome(() => verifyConsistency(size1, size2, proof.slice(1), r1, r2)), 'proof.malformed');
    });
  }
});

describe('malformed: index not below size', () => {
  const h = hashLeaf(utf8.encode('x'));
  test('verify and prove refuse index ≥ size', async () => {
    for (const [i, n] of [[0n, 0n], [1n, 1n], [5n, 3n], [MAX64, 8n]] as const) {
      assert.equal(outcome(() => verifyInclusion(h, i, n, [], h)), 'proof.malformed');
      assert.equal(outcome(() => rootFromInclusionProof(h, i, n, [])), 'proof.malformed');
      await rejectsWith('proof.malformed', () => proveInclusion(i, n, memorySubtreeReader([h])));
    }
  });
});

describe('malformed: sizes and indices outside uint64', () => {
  const h = hashLeaf(utf8.encode('x'));
  test('negative or ≥ 2^64 values are refused everywhere', async () => {
    const read = memorySubtreeReader([h]);
    assert.equal(outcome(() => verifyInclusion(h, -1n, 2n, [h], h)), 'proof.malformed');
    assert.equal(outcome(() => verifyInclusion(h, 0n, 1n << 64n, [], h)), 'proof.malformed');
    assert.equal(outcome(() => verifyConsistency(-1n, 2n, [h], h, h)), 'proof.malformed');
    assert.equal(outcome(() => verifyConsistency(1n, 1n << 64n, [h], h, h)), 'proof.malformed');
    await rejectsWith('proof.malformed', () => treeRoot(-1n, read));
    await rejectsWith('proof.malformed', () => proveConsistency(1n, 1n << 64n, read));
  });
});

describe('malformed: wrong inclusion proof length', () => {
  test('one hash short or one too many', async () => {
    const leaves = leavesOf(13);
    const read = memorySubtreeReader(leaves);
    const proof = await proveInclusion(5n, 13n, read);
    const root = mth(leaves);
    assert.equal(outcome(() => verifyInclusion(leaves[5]!, 5n, 13n, proof.slice(1), root)), 'proof.malformed');
    assert.equal(outcome(() => verifyInclusion(leaves[5]!, 5n, 13n, [...proof, root], root)), 'proof.malformed');
    assert.equal(outcome(() => verifyInclusion(leaves[0]!, 0n, 1n, [root], leaves[0]!)), 'proof.malformed');
  });
});

describe('malformed: hash not 32 bytes', () => {
  const leaves = leavesOf(4);
  const root = mth(leaves);
  test('inclusion: leaf hash, root or proof element', async () => {
    const proof = await proveInclusion(1n, 4n, memorySubtreeReader(leaves));
    assert.equal(outcome(() => verifyInclusion(leaves[1]!.subarray(1), 1n, 4n, proof, root)), 'proof.malformed');
    assert.equal(outcome(() => verifyInclusion(leaves[1]!, 1n, 4n, proof, new Uint8Array(33))), 'proof.malformed');
    assert.equal(outcome(() => verifyInclusion(leaves[1]!, 1n, 4n, [proof[0]!, new Uint8Array()], root)), 'proof.malformed');
  });
  test('consistency: root or proof element, unless the sizes are equal', async () => {
    const proof = await proveConsistency(3n, 4n, memorySubtreeReader(leaves));
    const r1 = mth(leaves.slice(0, 3));
    assert.equal(outcome(() => verifyConsistency(3n, 4n, proof, r1.subarray(2), root)), 'proof.malformed');
    assert.equal(outcome(() => verifyConsistency(3n, 4n, [proof[0]!, new Uint8Array(31), proof[2]!], r1, root)), 'proof.malformed');
    // RFC 9162: equal sizes compare the roots as bytes, whatever their length.
    assert.equal(outcome(() => verifyConsistency(4n, 4n, [], utf8.encode('short'), utf8.encode('short'))), 'ok');
  });
  test('a reader that returns short hashes is refused', async () => {
    const bad: SubtreeHashReader = async (nodes) => nodes.map(() => new Uint8Array(16));
    await rejectsWith('log.corrupt', () => treeRoot(3n, bad));
    const few: SubtreeHashReader = async () => [];
    await rejectsWith('log.corrupt', () => proveInclusion(0n, 3n, few));
  });
});

describe('malformed: consistency sizes', () => {
  const h = hashLeaf(utf8.encode('x'));
  test('size1 > size2', async () => {
    assert.equal(outcome(() => verifyConsistency(3n, 2n, [], h, h)), 'proof.malformed');
    await rejectsWith('proof.malformed', () => proveConsistency(3n, 2n, memorySubtreeReader([h, h, h])));
  });
  test('size1 = 0, with or without a proof (a proof from the empty tree is meaningless)', async () => {
    assert.equal(outcome(() => verifyConsistency(0n, 1n, [h], EMPTY_ROOT, h)), 'proof.malformed');
    assert.equal(outcome(() => verifyConsistency(0n, 1n, [], EMPTY_ROOT, h)), 'proof.malformed');
    assert.equal(outcome(() => verifyConsistency(0n, 0n, [], EMPTY_ROOT, EMPTY_ROOT)), 'proof.malformed');
    await rejectsWith('proof.malformed', () => proveConsistency(0n, 1n, memorySubtreeReader([h])));
  });
  test('equal sizes with a non-empty proof, unequal sizes with an empty or wrong-length proof', async () => {
    const leaves = leavesOf(6);
    assert.equal(outcome(() => verifyConsistency(2n, 2n, [h], h, h)), 'proof.malformed');
    assert.equal(outcome(() => verifyConsistency(2n, 6n, [], mth(leaves.slice(0, 2)), mth(leaves))), 'proof.malformed');
    const proof = await proveConsistency(3n, 6n, memorySubtreeReader(leaves));
    assert.equal(outcome(() => verifyConsistency(3n, 6n, [...proof, h], mth(leaves.slice(0, 3)), mth(leaves))), 'proof.malformed');
  });
});

describe('invalid: well-formed proofs that do not match', () => {
  test('equal sizes with different roots', () => {
    assert.equal(outcome(() => verifyConsistency(5n, 5n, [], EMPTY_ROOT, hashLeaf(new Uint8Array()))), 'proof.invalid');
  });
  test('a proof for another leaf', async () => {
    const leaves = leavesOf(9);
    const proof = await proveInclusion(2n, 9n, memorySubtreeReader(leaves));
    assert.equal(outcome(() => verifyInclusion(leaves[3]!, 2n, 9n, proof, mth(leaves))), 'proof.invalid');
  });
});

describe('memorySubtreeReader', () => {
  test('refuses nodes that are not complete subtrees of its leaves', async () => {
    const read = memorySubtreeReader(leavesOf(5));
    await rejectsWith('proof.malformed', () => read([{ level: 1, index: 2n }]));
    await rejectsWith('proof.malformed', () => read([{ level: 3, index: 0n }]));
    await rejectsWith('proof.malformed', () => read([{ level: 0, index: -1n }]));
    assert.equal((await read([{ level: 2, index: 0n }]))[0]!.length, 32);
  });
});
