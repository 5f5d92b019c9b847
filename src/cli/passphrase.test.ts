// readPassphrase: from a file (first line), from an environment variable, from a terminal without
// echo (a fake TTY: typed characters, Backspace, Enter, Ctrl-C), and the refusal when standard
// input is not a terminal.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/support/tmp.ts';
import { EmbassyError } from '../errors.ts';
import { promptNewPassphrase, readPassphrase, type PassphraseIo } from './passphrase.ts';

class FakeTty extends EventEmitter {
  isTTY = true;
  raw: boolean[] = [];
  setRawMode(r: boolean) {
    this.raw.push(r);
    return this;
  }
  resume() {
    return this;
  }
  pause() {
    return this;
  }
}

function fakeIo(tty: boolean, env: NodeJS.ProcessEnv = {}): { io: PassphraseIo; input: FakeTty; written: () => string } {
  const input = new FakeTty();
  input.isTTY = tty;
  let out = '';
  return { io: { input, output: { write: (s: string) => (out += s) }, env }, input, written: () => out };
}

const usage = (e: unknown) => e instanceof EmbassyError && e.code === 'usage';

describe('readPassphrase', () => {
  test('file: the first line, without CR; an empty first line or a missing file is refused', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'p'), 'my long passphrase\r\nsecond line\n');
    assert.equal(await readPassphrase({ file: join(dir, 'p'), prompt: '' }), 'my long passphrase');
    writeFileSync(join(dir, 'e'), '\nx\n');
    await assert.rejects(readPassphrase({ file: join(dir, 'e'), prompt: '' }), usage);
    await assert.rejects(readPassphrase({ file: join(dir, 'none'), prompt: '' }), (e) => usage(e) && /none/.test((e as Error).message));
  });

  test('env: the named variable; unset or empty is refused naming the variable', async () => {
    const { io } = fakeIo(false, { PASS_ANNA: 'sesame sesame!', EMPTY: '' });
    assert.equal(await readPassphrase({ env: 'PASS_ANNA', prompt: '', io }), 'sesame sesame!');
    await assert.rejects(readPassphrase({ env: 'PASS_BRAM', prompt: '', io }), (e) => usage(e) && /PASS_BRAM/.test((e as Error).message));
    await assert.rejects(readPassphrase({ env: 'EMPTY', prompt: '', io }), usage);
  });

  test('terminal: raw mode on and off again, no echo, Backspace, Enter', async () => {
    const { io, input, written } = fakeIo(true);
    const p = readPassphrase({ prompt: 'passphrase: ', io });
    input.emit('data', Buffer.from('secrex'));
    input.emit('data', Buffer.from('\u007ft pass'));
    input.emit('data', Buffer.from('\r'));
    assert.equal(await p, 'secret pass');
    assert.deepEqual(input.raw, [true, false]);
    assert.equal(written(), 'passphrase: \n');
  });

  test('terminal: Ctrl-C cancels', async () => {
    const { io, input } = fakeIo(true);
    const p = readPassphrase({ prompt: '> ', io });
    input.emit('data', 'abc\u0003');
    await assert.rejects(p, (e) => usage(e) && /cancelled/.test((e as Error).message));
    assert.deepEqual(input.raw, [true, false]);
  });

  test('no terminal and neither file nor env: a usage error with a hint', async () => {
    const { io } = fakeIo(false);
    await assert.rejects(readPassphrase({ prompt: '> ', io }), (e) => usage(e) && /not a terminal/.test((e as Error).message) && !!(e as EmbassyError).hint);
  });

  test('file and env together are refused', async () => {
    await assert.rejects(readPassphrase({ file: 'x', env: 'Y', prompt: '' }), usage);
  });

  test('a new passphrase is typed twice and must match', async () => {
    const { io, input } = fakeIo(true);
    const p = promptNewPassphrase(io, 'anna');
    input.emit('data', 'one long phrase\r');
    await new Promise((r) => setImmediate(r));
    input.emit('data', 'one long phrase\r');
    assert.equal(await p, 'one long phrase');
    const q = promptNewPassphrase(io, 'anna');
    input.emit('data', 'one long phrase\r');
    await new Promise((r) => setImmediate(r));
    input.emit('data', 'another phrase\r');
    await assert.rejects(q, (e) => usage(e) && /differ/.test((e as Error).message));
  });
});
