// The KEK under custody: share checks, rebuilding from M of N shares, and every refusal — a short
// set, a share from another ceremony, a share of an older epoch, a set whose KEK is not the logged
// one — plus the strict parser of custody statements and the catalog rules (epochs, rewraps).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EmbassyError, type ErrorCode } from '../errors.ts';
import { keyFingerprint } from '../crypto/aead.ts';
import { splitSecret } from '../crypto/shamir.ts';
import { toHex } from '../format/bytes.ts';
import { parseHomeStatement, type CustodyStatement } from '../format/statement-types.ts';
import { applyStatement, type Catalog } from '../catalog/catalog.ts';
import { datasetStatements, keyStatement, rewrapKeyStatements, unwrapDatasetKey } from '../seal/datasets.ts';
import { DEFAULT_TREE_SHAPE } from '../seal/shape.ts';
import { checkShare, custodyStatement, rebuildKek, shareCheck, shareX } from './kek.ts';

const NAMES = ['anna', 'bram', 'cees', 'dirk', 'eva'];

function isCode(code: ErrorCode) {
  return (e: unknown) => e instanceof EmbassyError && e.code === code;
}

async function ceremony(epoch = 1, threshold = 3): Promise<{ kek: Uint8Array; shares: Uint8Array[]; custody: CustodyStatement }> {
  const kek = new Uint8Array(randomBytes(32));
  const shares = await splitSecret(kek, NAMES.length, threshold);
  return { kek, shares, custody: custodyStatement(epoch, kek, threshold, NAMES, shares) };
}

const by = (shares: Uint8Array[], ...idx: number[]) => idx.map((i) => ({ custodian: NAMES[i]!, share: shares[i]! }));

describe('rebuildKek', () => {
  test('any M of N shares rebuild the KEK; the statement records x and share checks, never shares', async () => {
    const { kek, shares, custody } = await ceremony();
    assert.equal(custody.kekFingerprint, toHex(keyFingerprint(kek)));
    assert.deepEqual(custody.custodians.map((c) => c.x), shares.map(shareX));
    assert.equal(custody.custodians[0]!.shareCheck, shareCheck(shares[0]!));
    assert.ok(!JSON.stringify(custody).includes(Buffer.from(shares[0]!).toString('hex')));
    for (const set of [[0, 1, 2], [2, 4, 1], [0, 1, 2, 3, 4]]) {
      assert.deepEqual(await rebuildKek(custody, by(shares, ...set)), kek);
    }
  });

  test('M−1 shares → custody.short', async () => {
    const { shares, custody } = await ceremony();
    await assert.rejects(rebuildKek(custody, by(shares, 0, 3)), isCode('custody.short'));
  });

  test('one share from another ceremony among M → custody.wrong-share', async () => {
    const a = await ceremony();
    const b = await ceremony();
    await assert.rejects(rebuildKek(a.custody, [...by(a.shares, 0, 1), { custodian: NAMES[2]!, share: b.shares[2]! }]), isCode('custody.wrong-share'));
  });

  test("another custodian's share, an unknown custodian, one custodian twice → custody.wrong-share", async () => {
    const { shares, custody } = await ceremony();
    await assert.rejects(rebuildKek(custody, [{ custodian: 'anna', share: shares[1]! }, ...by(shares, 2, 3)]), isCode('custody.wrong-share'));
    await assert.rejects(rebuildKek(custody, [{ custodian: 'zoe', share: shares[0]! }, ...by(shares, 2, 3)]), isCode('custody.wrong-share'));
    await assert.rejects(rebuildKek(custody, [...by(shares, 0, 0, 1)]), isCode('custody.wrong-share'));
  });

  test('a flipped bit in a share → custody.wrong-share', async () => {
    const { shares, custody } = await ceremony();
    const bad = new Uint8Array(shares[0]!);
    bad[5]! ^= 1;
    assert.throws(() => checkShare(custody, 'anna', bad), isCode('custody.wrong-share'));
  });

  test('old-epoch shares after a rotation → custody.wrong-share (the new statement records other share checks)', async () => {
    const old = await ceremony(1);
    const rotated = await ceremony(2);
    await assert.rejects(rebuildKek(rotated.custody, by(old.shares, 0, 1, 2)), isCode('custody.wrong-share'));
  });

  test('shares that all check but rebuild another key (a statement whose fingerprint lies) → custody.mismatch', async () => {
    const { shares, custody } = await ceremony();
    const lying = { ...custody, kekFingerprint: toHex(keyFingerprint(new Uint8Array(32).fill(7))) };
    await assert.rejects(rebuildKek(lying, by(shares, 0, 1, 2)), isCode('custody.mismatch'));
  });
});

describe('custody statement parser', () => {
  const good = (): Record<string, unknown> => ({
    type: 'custody', epoch: 1, kekFingerprint: 'ab'.repeat(16), threshold: 2,
    custodians: [{ name: 'anna', x: 7, shareCheck: 'cd'.repeat(32) }, { name: 'bram', x: 9, shareCheck: 'ef'.repeat(32) }],
  });
  test('a good one parses', () => {
    assert.equal(parseHomeStatement(good() as never)?.type, 'custody');
  });
  const cases: [string, (s: Record<string, any>) => void][] = [
    ['unknown member', (s) => (s.extra = 1)],
    ['epoch 0', (s) => (s.epoch = 0)],
    ['short fingerprint', (s) => (s.kekFingerprint = 'ab')],
    ['uppercase fingerprint', (s) => (s.kekFingerprint = 'AB'.repeat(16))],
    ['threshold 1', (s) => (s.threshold = 1)],
    ['threshold above N', (s) => (s.threshold = 3)],
    ['one custodian', (s) => (s.custodians = [s.custodians[0]])],
    ['name twice', (s) => (s.custodians[1].name = 'anna')],
    ['bad name', (s) => (s.custodians[1].name = '-anna')],
    ['x twice', (s) => (s.custodians[1].x = 7)],
    ['x 0', (s) => (s.custodians[1].x = 0)],
    ['x 256', (s) => (s.custodians[1].x = 256)],
    ['short shareCheck', (s) => (s.custodians[1].shareCheck = 'ab')],
    ['custodian member unknown', (s) => (s.custodians[1].share = 'ab')],
    ['custodian not an object', (s) => (s.custodians[1] = 'anna')],
  ];
  for (const [name, spoil] of cases) {
    test(`refuses: ${name}`, () => {
      const s = good();
      spoil(s);
      assert.throws(() => parseHomeStatement(s as never), isCode('input.malformed'));
    });
  }
});

describe('catalog: custody and rewraps', () => {
  const empty = (): Catalog => ({ checkpoint: undefined as never, checkpointNote: '', datasets: new Map(), statements: 0 });

  test('the newest custody statement is in force; epochs must count up by one', async () => {
    const c = empty();
    const a = await ceremony(1);
    const b = await ceremony(2);
    applyStatement(c, a.custody, 0n);
    applyStatement(c, b.custody, 1n);
    assert.equal(c.custody?.statement.epoch, 2);
    assert.equal(c.custody?.logIndex, 1n);
    assert.throws(() => applyStatement(c, a.custody, 2n), isCode('log.corrupt'));
    assert.throws(() => applyStatement(empty(), b.custody, 0n), isCode('log.corrupt'));
  });

  test('a key statement for an existing number with the same DEK replaces its wrapping; another DEK is refused', () => {
    const c = empty();
    const oldKek = new Uint8Array(randomBytes(32));
    const newKek = new Uint8Array(randomBytes(32));
    const dek = new Uint8Array(randomBytes(32));
    const [ds, k1] = datasetStatements({ dataset: 'nl.test', key: ['id'], indexes: [], tree: DEFAULT_TREE_SHAPE }, oldKek, dek);
    applyStatement(c, ds, 0n);
    applyStatement(c, k1, 1n);
    applyStatement(c, keyStatement('nl.test', 2, oldKek, new Uint8Array(randomBytes(32))), 2n);
    const rewraps = rewrapKeyStatements(c, oldKek, newKek);
    assert.deepEqual(rewraps.map((r) => r.dek), [1, 2]);
    rewraps.forEach((r, i) => applyStatement(c, r, BigInt(3 + i)));
    const info = c.datasets.get('nl.test')!;
    assert.equal(info.keys.size, 2);
    assert.deepEqual(unwrapDatasetKey(info, 1, newKek), dek);
    assert.throws(() => unwrapDatasetKey(info, 1, oldKek), isCode('crypto.auth-failed'));
    // Same number, another data key: a silent re-keying, refused.
    assert.throws(() => applyStatement(c, keyStatement('nl.test', 1, newKek, new Uint8Array(randomBytes(32))), 9n), isCode('log.corrupt'));
    // A new number still has to be the next one.
    assert.throws(() => applyStatement(c, keyStatement('nl.test', 4, newKek, new Uint8Array(randomBytes(32))), 9n), isCode('log.corrupt'));
  });
});
