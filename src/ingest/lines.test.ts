import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import fc from 'fast-check';
import { isEmbassyError } from '../errors.ts';
import { tempDir } from '../../test/support/tmp.ts';
import { isBlankLine, readLines, type TextLine } from './lines.ts';

async function lines(file: string, maxLineBytes: number, chunkBytes: number): Promise<TextLine[]> {
  const out: TextLine[] = [];
  for await (const batch of readLines(file, { maxLineBytes, chunkBytes })) out.push(...batch);
  return out;
}

describe('readLines', () => {
  test('splits on \\n exactly like String.split, whatever the read chunk size', async (t) => {
    const dir = tempDir(t);
    const text = fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 12 }).map((ls) => ls.join('\n'));
    await fc.assert(
      fc.asyncProperty(text, fc.integer({ min: 1, max: 40 }), async (s, chunkBytes) => {
        const f = join(dir, 'l.txt');
        writeFileSync(f, s);
        const want = s === '' ? [] : s.endsWith('\n') ? s.slice(0, -1).split('\n') : s.split('\n');
        const got = await lines(f, 1 << 20, chunkBytes);
        assert.deepEqual(
          got.map((l) => l.text),
          want,
        );
        assert.deepEqual(
          got.map((l) => l.line),
          want.map((_, i) => i + 1),
        );
      }),
      { numRuns: 300 },
    );
  });

  test('a line longer than maxLineBytes is refused with its number, even across chunks', async (t) => {
    const f = join(tempDir(t), 'l.txt');
    writeFileSync(f, `short\n${'x'.repeat(100)}\nshort\n`);
    for (const chunkBytes of [7, 64, 1 << 16]) {
      await assert.rejects(lines(f, 50, chunkBytes), (e: unknown) => {
        assert.ok(isEmbassyError(e, 'input.too-large'));
        assert.ok(e.message.startsWith(`${f}:2: line is longer than 50 bytes`), e.message);
        return true;
      });
    }
  });

  test('invalid UTF-8 is found in the right line whatever the chunking', async (t) => {
    const f = join(tempDir(t), 'l.txt');
    writeFileSync(f, Buffer.concat([Buffer.from('aé\nbb\ncc'), Buffer.from([0xe2, 0x28]), Buffer.from('\ndd\n')]));
    for (const chunkBytes of [1, 2, 3, 5, 100]) {
      await assert.rejects(lines(f, 1000, chunkBytes), (e: unknown) => {
        assert.ok(isEmbassyError(e, 'input.malformed'));
        assert.equal(e.message, `${f}:3: invalid UTF-8 at byte 4 of the line`);
        return true;
      });
    }
  });

  test('blank lines', () => {
    for (const s of ['', ' ', '\t', '\r', ' \t\r ']) assert.equal(isBlankLine(s), true, JSON.stringify(s));
    for (const s of ['x', ' {}', '\u00a0', '\ufeff']) assert.equal(isBlankLine(s), false, JSON.stringify(s));
  });
});
