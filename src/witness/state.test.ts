// One conformance suite for every WitnessState backend (memory, SQLite), plus the SQLite
// backend's durability across reopen and its sharing between two handles (two processes).
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isEmbassyError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { utf8 } from '../format/bytes.ts';
import { EMPTY_ROOT } from '../log/merkle.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { MemoryWitnessState, type WitnessState } from './state.ts';
import { SqliteWitnessState, WITNESS_STATE_FILE } from './sqlite-state.ts';

const VKEY_A = 'log.example/a+12345678+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const VKEY_B = 'log.example/a+87654321+AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB';
const root = (s: string) => sha256(utf8.encode(s));

const backends: [string, (t: TestContext) => WitnessState][] = [
  ['memory', () => new MemoryWitnessState()],
  [
    'sqlite',
    (t) => {
      const s = SqliteWitnessState.open(join(tempDir(t), WITNESS_STATE_FILE));
      t.after(() => s.close());
      return s;
    },
  ],
];

for (const [name, make] of backends) {
  describe(`WitnessState conformance: ${name}`, () => {
    test('a new log starts at size 0 with the empty root; addLog is idempotent', async (t) => {
      const s = make(t);
      assert.equal(await s.get('log.example/a'), undefined);
      await s.addLog('log.example/a', VKEY_A);
      await s.addLog('log.example/a', VKEY_A);
      const l = await s.get('log.example/a');
      assert.deepEqual(l, { origin: 'log.example/a', verifierKey: VKEY_A, size: 0n, root: EMPTY_ROOT, checkpoint: undefined });
      assert.deepEqual((await s.list()).map((x) => x.origin), ['log.example/a']);
    });

    test('a different key for a trusted origin is refused and changes nothing', async (t) => {
      const s = make(t);
      await s.addLog('log.example/a', VKEY_A);
      assert.ok(await s.compareAndSet('log.example/a', { size: 0n, root: EMPTY_ROOT }, { size: 5n, root: root('5'), checkpoint: 'c5' }));
      await assert.rejects(s.addLog('log.example/a', VKEY_B), (e: unknown) => isEmbassyError(e, 'usage'));
      const l = await s.get('log.example/a');
      assert.equal(l?.verifierKey, VKEY_A);
      assert.equal(l?.size, 5n);
    });

    test('compareAndSet moves only from the exact expected head (size and root)', async (t) => {
      const s = make(t);
      await s.addLog('log.example/a', VKEY_A);
      const h0 = { size: 0n, root: EMPTY_ROOT };
      const h3 = { size: 3n, root: root('3'), checkpoint: 'c3' };
      assert.equal(await s.compareAndSet('log.example/b', h0, h3), false, 'unknown origin');
      assert.equal(await s.compareAndSet('log.example/a', h0, h3), true);
      assert.equal(await s.compareAndSet('log.example/a', h0, { ...h3, size: 4n }), false, 'stale size');
      assert.equal(await s.compareAndSet('log.example/a', { size: 3n, root: root('x') }, { ...h3, size: 4n }), false, 'same size, other root');
      const l = await s.get('log.example/a');
      assert.equal(l?.size, 3n);
      assert.deepEqual(l?.root, root('3'));
      assert.equal(l?.checkpoint, 'c3');
      assert.equal(await s.compareAndSet('log.example/a', h3, { size: 2n ** 63n - 1n, root: root('max'), checkpoint: 'cmax' }), true);
      assert.equal((await s.get('log.example/a'))?.size, 2n ** 63n - 1n);
    });

    test('of many concurrent compareAndSets from the same head exactly one wins', async (t) => {
      const s = make(t);
      await s.addLog('log.example/a', VKEY_A);
      const h0 = { size: 0n, root: EMPTY_ROOT };
      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) => s.compareAndSet('log.example/a', h0, { size: BigInt(i + 1), root: root(`${i}`), checkpoint: `c${i}` })),
      );
      assert.equal(wins.filter(Boolean).length, 1);
      assert.equal((await s.get('log.example/a'))?.size, BigInt(wins.indexOf(true) + 1));
    });

    test('returned heads are copies: mutating them does not change the state', async (t) => {
      const s = make(t);
      await s.addLog('log.example/a', VKEY_A);
      const l = (await s.get('log.example/a'))!;
      l.root[0]! ^= 1;
      assert.deepEqual((await s.get('log.example/a'))?.root, EMPTY_ROOT);
    });
  });
}

describe('SqliteWitnessState durability', () => {
  test('state survives close and reopen', async (t) => {
    const path = join(tempDir(t), WITNESS_STATE_FILE);
    const a = SqliteWitnessState.open(path);
    await a.addLog('log.example/a', VKEY_A);
    assert.ok(await a.compareAndSet('log.example/a', { size: 0n, root: EMPTY_ROOT }, { size: 7n, root: root('7'), checkpoint: 'c7' }));
    a.close();
    const b = SqliteWitnessState.open(path);
    t.after(() => b.close());
    const l = await b.get('log.example/a');
    assert.equal(l?.size, 7n);
    assert.deepEqual(l?.root, root('7'));
    assert.equal(l?.checkpoint, 'c7');
    assert.equal(l?.verifierKey, VKEY_A);
  });

  test('two handles on one file (as serve and the CLI): a log added by one is seen by the other, and CAS is shared', async (t) => {
    const path = join(tempDir(t), WITNESS_STATE_FILE);
    const a = SqliteWitnessState.open(path);
    const b = SqliteWitnessState.open(path);
    t.after(() => (a.close(), b.close()));
    await b.addLog('log.example/a', VKEY_A);
    const h0 = { size: 0n, root: EMPTY_ROOT };
    assert.equal(await a.compareAndSet('log.example/a', h0, { size: 1n, root: root('1'), checkpoint: 'c1' }), true);
    assert.equal(await b.compareAndSet('log.example/a', h0, { size: 2n, root: root('2'), checkpoint: 'c2' }), false);
    assert.equal((await b.get('log.example/a'))?.size, 1n);
  });

  test('a file that is not a database is store.io', async (t) => {
    const dir = tempDir(t);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'bad.sqlite'), 'not a database at all, just some text that is long enough'.repeat(20));
    assert.throws(() => SqliteWitnessState.open(join(dir, 'bad.sqlite')), (e: unknown) => isEmbassyError(e, 'store.io'));
  });
});
