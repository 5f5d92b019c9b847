import { describe, test } from 'node:test';
import { Buffer } from 'node:buffer';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { canonicalJson, parseJsonStrict } from '../format/canonical-json.ts';
import { utf8 } from '../format/bytes.ts';
import { buildTree } from './build.ts';
import { MemoryTreeStore } from './memory-store.ts';
import { proveRecord, recordProofFromJson, recordProofToJson, verifyRecordProof } from './proof.ts';
import type { InternalProofStep, RecordProof } from './proof.ts';
import { record, sortedRecords, syntheticRecord, testParams } from './testing.ts';
import type { TreeRecord, TreeRoot } from './types.ts';

const params = testParams({ leafTarget: 4, fanout: 3 });

function fails(f: () => unknown): void {
  assert.throws(f, (e: unknown) => isEmbassyError(e, 'proof.invalid') || isEmbassyError(e, 'proof.malformed'));
}

function malformed(f: () => unknown): void {
  assert.throws(f, (e: unknown) => isEmbassyError(e, 'proof.malformed'));
}

/** A deep copy, so each tampering starts from the genuine proof. */
function clone(p: RecordProof): RecordProof {
  return recordProofFromJson(recordProofToJson(p));
}

let store: MemoryTreeStore;
let root: TreeRoot;
const records = Array.from({ length: 500 }, (_, i) => syntheticRecord(i, 80));

describe('record proofs', () => {
  test('setup', async () => {
    store = new MemoryTreeStore();
    root = await buildTree(records, params, store);
    assert.ok(root.level >= 3, 'root.level >= 3');
  });

  test('every record has a proof that verifies against the commitment', async () => {
    for (const r of records) {
      const p = await proveRecord(root, r.key, params, store);
      assert.ok(p, `no proof for ${r.key}`);
      assert.deepEqual(p.record, r);
      assert.equal(p.steps.length, root.level + 1);
      verifyRecordProof(p, root.commitment);
    }
  });

  test('absent keys have no proof', async () => {
    assert.equal(await proveRecord(root, 'nl.example/absent', params, store), undefined);
    assert.equal(await proveRecord(root, 'zzz', params, store), undefined);
    assert.equal(await proveRecord(root, '0', params, store), undefined);
  });

  test('a proof from a single-leaf tree and from random trees', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }).filter((k) => !/[\uD800-\uDFFF]/.test(k)), { minLength: 1, maxLength: 60 }), async (keys) => {
        const s = new MemoryTreeStore();
        const m = new Map(keys.map((k): [string, TreeRecord] => [k, record(k, k)]));
        const r = await buildTree(sortedRecords(m), params, s);
        for (const k of keys) verifyRecordProof((await proveRecord(r, k, params, s))!, r.commitment);
      }),
      { numRuns: 40 },
    );
  });

  test('the proof reveals no other key or value', async () => {
    const p = await proveRecord(root, records[123]!.key, params, store);
    const text = canonicalJson(recordProofToJson(p!));
    for (const other of [records[122]!, records[124]!, records[0]!]) {
      assert.ok(!text.includes(other.key), 'another key appears in the proof');
      assert.ok(!text.includes(Buffer.from(other.value).toString('base64')), 'another value appears in the proof');
    }
  });

  test('a proof does not verify against another version', async () => {
    const other = await buildTree(records.slice(1), params, new MemoryTreeStore());
    const p = await proveRecord(root, records[42]!.key, params, store);
    assert.throws(() => verifyRecordProof(p!, other.commitment), (e: unknown) => isEmbassyError(e, 'proof.invalid'));
  });
});

describe('record proofs: every tampered field fails', () => {
  let genuine: RecordProof;
  test('setup', async () => {
    genuine = (await proveRecord(root, records[77]!.key, params, store))!;
    verifyRecordProof(genuine, root.commitment);
  });

  const tamperings: [string, (p: RecordProof) => void][] = [
    ['key', (p) => (p.record.key = records[78]!.key)],
    ['value', (p) => (p.record.value = utf8.encode('{"forged":true}'))],
    ['one value byte', (p) => (p.record.value[3]! ^= 1)],
    ['content type', (p) => (p.record.contentType = 'text/plain')],
    ['salt', (p) => (p.salt[0]! ^= 1)],
    ['leaf index', (p) => (p.steps[0]!.index = (p.steps[0]!.index + 1) % p.steps[0]!.size)],
    ['leaf size', (p) => (p.steps[0]!.size += 1)],
    ['internal index', (p) => (p.steps[1]!.index = p.steps[1]!.index === 0 ? 1 : 0)],
    ['internal size', (p) => (p.steps[1]!.size += 1)],
    ['child count', (p) => ((p.steps[2] as InternalProofStep).childCount += 1)],
    ['child count at the top', (p) => ((p.steps[p.steps.length - 1] as InternalProofStep).childCount += 1)],
    ['child level', (p) => ((p.steps[2] as InternalProofStep).childLevel += 1)],
    ['a step removed', (p) => void p.steps.pop()],
    ['a step duplicated', (p) => void p.steps.push(p.steps[p.steps.length - 1]!)],
    ['a path hash removed', (p) => void p.steps[0]!.path.pop()],
    ['a path hash added', (p) => void p.steps[0]!.path.push(new Uint8Array(32))],
  ];
  for (const [name, tamper] of tamperings) {
    test(name, () => {
      const p = clone(genuine);
      tamper(p);
      fails(() => verifyRecordProof(p, root.commitment));
    });
  }

  test('any single path hash, on any step', () => {
    let n = 0;
    genuine.steps.forEach((s, i) => {
      s.path.forEach((_, j) => {
        const p = clone(genuine);
        p.steps[i]!.path[j]![j % 32]! ^= 0x80;
        assert.throws(() => verifyRecordProof(p, root.commitment), (e: unknown) => isEmbassyError(e, 'proof.invalid'));
        n++;
      });
    });
    assert.ok(n >= 5, `only ${n} path hashes`);
  });

  test('every index of every step', () => {
    genuine.steps.forEach((s, i) => {
      for (const d of [-1, 1, 2]) {
        const p = clone(genuine);
        p.steps[i]!.index += d;
        fails(() => verifyRecordProof(p, root.commitment));
      }
    });
  });

  test('the leaf size, bound through the first child count', () => {
    for (const d of [-1, 1, 2]) {
      const p = clone(genuine);
      p.steps[0]!.size += d;
      fails(() => verifyRecordProof(p, root.commitment));
    }
  });

  // Every node commitment binds its number of entries (docs/format.md, node commitment), so a
  // changed size at any step fails even where the RFC 6962 path alone would still verify.
  test('every internal size', () => {
    genuine.steps.forEach((s, i) => {
      if (i === 0) return;
      for (const d of [-1, 1, 2]) {
        const p = clone(genuine);
        p.steps[i]!.size += d;
        fails(() => verifyRecordProof(p, root.commitment));
      }
    });
  });

  test('the commitment', () => {
    const c = root.commitment.slice();
    c[31]! ^= 1;
    assert.throws(() => verifyRecordProof(genuine, c), (e: unknown) => isEmbassyError(e, 'proof.invalid'));
  });
});

describe('record proofs: malformed proof objects', () => {
  let genuine: RecordProof;
  test('setup', async () => {
    genuine = (await proveRecord(root, records[5]!.key, params, store))!;
  });
  test('short salt', () => malformed(() => verifyRecordProof({ ...clone(genuine), salt: new Uint8Array(23) }, root.commitment)));
  test('no steps', () => malformed(() => verifyRecordProof({ ...clone(genuine), steps: [] }, root.commitment)));
  test('negative or fractional index', () => {
    const p = clone(genuine);
    p.steps[0]!.index = -1;
    malformed(() => verifyRecordProof(p, root.commitment));
    p.steps[0]!.index = 0.5;
    malformed(() => verifyRecordProof(p, root.commitment));
  });
  test('index not below size', () => {
    const p = clone(genuine);
    p.steps[0]!.index = p.steps[0]!.size;
    malformed(() => verifyRecordProof(p, root.commitment));
  });
  test('leaf step with a child level', () => {
    const p = clone(genuine);
    (p.steps[0] as InternalProofStep).childLevel = 0;
    malformed(() => verifyRecordProof(p, root.commitment));
  });
  test('first internal child count differs from the leaf size', () => {
    const p = clone(genuine);
    (p.steps[1] as InternalProofStep).childCount = p.steps[0]!.size + 1;
    malformed(() => verifyRecordProof(p, root.commitment));
  });
  test('path hash of the wrong length', () => {
    const p = clone(genuine);
    p.steps[0]!.path[0] = new Uint8Array(31);
    malformed(() => verifyRecordProof(p, root.commitment));
  });
  test('invalid key in the record', () => malformed(() => verifyRecordProof({ ...clone(genuine), record: { ...genuine.record, key: '' } }, root.commitment)));
  test('commitment of the wrong length', () => malformed(() => verifyRecordProof(genuine, new Uint8Array(31))));
});

describe('record proofs: JSON', () => {
  let genuine: RecordProof;
  test('setup', async () => {
    genuine = (await proveRecord(root, records[300]!.key, params, store))!;
  });

  test('round trip through canonical JSON text', () => {
    const text = canonicalJson(recordProofToJson(genuine));
    const back = recordProofFromJson(parseJsonStrict(text));
    assert.deepEqual(back, genuine);
    verifyRecordProof(back, root.commitment);
    assert.equal(canonicalJson(recordProofToJson(back)), text);
  });

  test('shape: base64 bytes, value with its content type, steps from the leaf up', () => {
    const j = recordProofToJson(genuine) as Record<string, unknown>;
    assert.deepEqual(Object.keys(j).sort(), ['contentType', 'format', 'key', 'salt', 'steps', 'value']);
    assert.equal(j.format, 'data-embassy/record-proof/v1');
    const steps = j.steps as Record<string, unknown>[];
    assert.deepEqual(Object.keys(steps[0]!).sort(), ['index', 'path', 'size']);
    assert.deepEqual(Object.keys(steps[1]!).sort(), ['childCount', 'childLevel', 'index', 'path', 'size']);
  });

  const json = (): Record<string, unknown> => JSON.parse(canonicalJson(recordProofToJson(genuine))) as Record<string, unknown>;
  const bad: [string, (j: Record<string, unknown>) => unknown][] = [
    ['not an object', () => 'proof'],
    ['array', () => []],
    ['missing member', (j) => ((delete j.salt, j))],
    ['extra member', (j) => ({ ...j, extra: 1 })],
    ['wrong format', (j) => ({ ...j, format: 'data-embassy/record-proof/v2' })],
    ['key not a string', (j) => ({ ...j, key: 5 })],
    ['empty key', (j) => ({ ...j, key: '' })],
    ['value not base64', (j) => ({ ...j, value: 'not base64!' })],
    ['value base64 without padding', (j) => ({ ...j, value: 'YQ' })],
    ['salt of 23 bytes', (j) => ({ ...j, salt: Buffer.from(new Uint8Array(23)).toString('base64') })],
    ['steps empty', (j) => ({ ...j, steps: [] })],
    ['steps not an array', (j) => ({ ...j, steps: {} })],
    ['index a string', (j) => ({ ...j, steps: [{ ...(j.steps as object[])[0], index: '1' }, ...(j.steps as object[]).slice(1)] })],
    ['size zero', (j) => ({ ...j, steps: [{ ...(j.steps as object[])[0], size: 0 }, ...(j.steps as object[]).slice(1)] })],
    ['leaf step with childCount', (j) => ({ ...j, steps: [{ ...(j.steps as object[])[0], childCount: 1 }, ...(j.steps as object[]).slice(1)] })],
    ['internal step without childLevel', (j) => {
      const [s0, s1, ...rest] = j.steps as Record<string, unknown>[];
      const { childLevel: _, ...s1b } = s1!;
      return { ...j, steps: [s0, s1b, ...rest] };
    }],
    ['path hash of 31 bytes', (j) => ({ ...j, steps: [{ ...(j.steps as object[])[0], path: [Buffer.alloc(31).toString('base64')] }, ...(j.steps as object[]).slice(1)] })],
  ];
  for (const [name, mutate] of bad) {
    test(`refused: ${name}`, () => malformed(() => recordProofFromJson(mutate(json()))));
  }
});
