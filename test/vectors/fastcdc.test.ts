// FastCDC-2020 against shared/vectors/fastcdc (see its README.md): the fastcdc-rs 4.0.1 v2020
// expectations on SekienAkashita.jpg and 10240 zero bytes (offset, length, 64-bit hash, SHA-256
// of the chunk), and both REAPI FastCDC-2020 lists (min 4096, avg 16384, max 65535, level 2,
// seeds 0 and 666; all four columns). The v2016 and ronomon cases are other algorithms, which we
// do not implement: they are counted and reported as skipped.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toHex } from '../../src/format/bytes.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { GEAR, GEAR_LS, MASKS, fastcdcChunks, fastcdcCuts, seededGear } from '../../src/chunk/fastcdc.ts';

const VECTORS = new URL('../../../shared/vectors/', import.meta.url);
const DIR = fileURLToPath(new URL('fastcdc/', VECTORS));
const skip = existsSync(`${DIR}fastcdc-rs-expected.json`) ? false : `shared vectors absent at ${DIR}`;

interface RsCase {
  variant: 'v2016' | 'v2020' | 'ronomon';
  source_test: string;
  input: string;
  min_size: number;
  avg_size: number;
  max_size: number;
  normalization_level: number | null;
  seed: number | null;
  chunks: { offset: number; length: number; hash: string; sha256_derived?: string }[];
}
interface RsFile {
  input_files: Record<string, { size: number; sha256?: string }>;
  parameters: { gear_v2016_and_v2020: string[]; masks: string[] };
  cases: RsCase[];
}

interface ReapiRow {
  offset: number;
  length: number;
  sha256: string;
  fingerprint: bigint;
}

const load = (): RsFile => JSON.parse(readFileSync(`${DIR}fastcdc-rs-expected.json`, 'utf8')) as RsFile;
const sekien = (): Uint8Array => new Uint8Array(readFileSync(`${DIR}SekienAkashita.jpg`));

function input(name: string): Uint8Array {
  if (name === 'SekienAkashita.jpg') return sekien();
  const m = /^zeros:(\d+)$/.exec(name);
  assert.ok(m, `unknown input ${name}`);
  return new Uint8Array(Number(m[1]));
}

/** Sections "# Seed: N" of the REAPI file, each a list of tab-separated rows. */
function parseReapi(text: string): Map<bigint, ReapiRow[]> {
  const out = new Map<bigint, ReapiRow[]>();
  let rows: ReapiRow[] | undefined;
  for (const line of text.split('\n')) {
    const seed = /^# Seed: (\d+)\s*$/.exec(line);
    if (seed) {
      rows = [];
      out.set(BigInt(seed[1]!), rows);
      continue;
    }
    if (line.trim() === '' || line.startsWith('#')) continue;
    const cols = line.split('\t');
    assert.equal(cols.length, 4, `reapi row: expected 4 columns, got ${cols.length}`);
    assert.ok(rows, 'reapi row before any "# Seed:" line');
    rows.push({ offset: Number(cols[0]), length: Number(cols[1]), sha256: cols[2]!, fingerprint: BigInt(cols[3]!) });
  }
  return out;
}

function checkShape(data: Uint8Array, lengths: number[], min: number, max: number): void {
  assert.equal(
    lengths.reduce((a, b) => a + b, 0),
    data.length,
  );
  lengths.forEach((len, i) => {
    assert.ok(len <= max, `chunk ${i}: ${len} > max ${max}`);
    if (i < lengths.length - 1) assert.ok(len >= min, `chunk ${i}: ${len} < min ${min}`);
  });
}

describe('fastcdc tables', { skip }, () => {
  test('GEAR is the published table and MD5(64 × byte i)[0..8]; GEAR_LS = GEAR << 1', () => {
    const v = load();
    assert.deepEqual([...GEAR].map((g) => '0x' + g.toString(16).padStart(16, '0')), v.parameters.gear_v2016_and_v2020);
    for (let i = 0; i < 256; i++) {
      const md5 = createHash('md5').update(new Uint8Array(64).fill(i)).digest();
      assert.equal(GEAR[i], md5.readBigUInt64BE(0), `GEAR[${i}]`);
      assert.equal(GEAR_LS[i], BigInt.asUintN(64, GEAR[i]! << 1n), `GEAR_LS[${i}]`);
    }
  });
  test('MASKS are the destor/restic masks', () => {
    assert.deepEqual([...MASKS], load().parameters.masks.map((m) => BigInt(m)));
  });
  test('the input image is the one the vectors were made from', () => {
    const want = load().input_files['SekienAkashita.jpg']!;
    const img = sekien();
    assert.equal(img.length, want.size);
    assert.equal(toHex(sha256(img)), want.sha256);
  });
});

describe('fastcdc-rs 4.0.1 v2020 expectations', { skip }, () => {
  test('every v2020 case: offsets, lengths, hashes, chunk SHA-256', () => {
    const cases = load().cases;
    const v2020 = cases.filter((c) => c.variant === 'v2020');
    let checked = 0;
    for (const c of v2020) {
      const data = input(c.input);
      const opts = {
        minSize: c.min_size,
        avgSize: c.avg_size,
        maxSize: c.max_size,
        normalization: c.normalization_level ?? 1,
        ...(c.seed ? { gear: seededGear(BigInt(c.seed)) } : {}),
      };
      const got = fastcdcChunks(data, opts);
      const label = `${c.source_test} (${c.min_size}/${c.avg_size}/${c.max_size}, level ${opts.normalization}, seed ${c.seed})`;
      assert.deepEqual(
        got.map((k) => [k.offset, k.length, k.hash.toString()]),
        c.chunks.map((k) => [k.offset, k.length, k.hash]),
        label,
      );
      for (const [i, k] of c.chunks.entries()) {
        if (k.sha256_derived === undefined) continue;
        assert.equal(toHex(sha256(data.subarray(k.offset, k.offset + k.length))), k.sha256_derived, `${label} chunk ${i}`);
      }
      assert.deepEqual(
        fastcdcCuts(data, opts),
        c.chunks.map((k) => k.offset + k.length),
        `${label}: fastcdcCuts`,
      );
      checkShape(
        data,
        got.map((k) => k.length),
        c.min_size,
        c.max_size,
      );
      checked++;
    }
    assert.equal(checked, 10, 'v2020 cases checked');
    assert.equal(cases.length, 22, 'cases in the file');
  });

  // Not implemented here (other algorithms): listed so that the count of what we do not check is visible.
  test('v2016 (8 cases) and ronomon (4 cases): other algorithms, not implemented', (t) => {
    const others = load().cases.filter((c) => c.variant !== 'v2020');
    assert.equal(others.length, 12);
    t.skip(`${others.length} cases of other algorithms (v2016, ronomon) not checked: only FastCDC-2020 is implemented`);
  });
});

describe('REAPI FastCDC-2020 vectors (min 4096, avg 16384, max 65535, normalization 2)', { skip }, () => {
  test('seeds 0 and 666: offset, length, SHA-256 and fingerprint of every chunk', () => {
    const sections = parseReapi(readFileSync(`${DIR}remote-apis-fastcdc2020_test_vectors.txt`, 'utf8'));
    assert.deepEqual([...sections.keys()], [0n, 666n]);
    const data = sekien();
    let rowsChecked = 0;
    for (const [seed, rows] of sections) {
      const opts = {
        minSize: 4096,
        avgSize: 16384,
        maxSize: 65535,
        normalization: 2,
        ...(seed === 0n ? {} : { gear: seededGear(seed) }),
      };
      const got = fastcdcChunks(data, opts);
      assert.equal(got.length, rows.length, `seed ${seed}: chunk count`);
      for (const [i, row] of rows.entries()) {
        const k = got[i]!;
        assert.deepEqual(
          { offset: k.offset, length: k.length, sha256: toHex(sha256(data.subarray(k.offset, k.offset + k.length))), fingerprint: k.hash },
          row,
          `seed ${seed} chunk ${i}`,
        );
        rowsChecked++;
      }
      checkShape(
        data,
        got.map((k) => k.length),
        4096,
        65535,
      );
    }
    assert.equal(rowsChecked, 12, 'REAPI rows checked');
  });
});
