// Third-party proof that our transparency log is correct C2SP tlog-tiles: builds the Go program in
// ./c2sp-verify (golang.org/x/mod/sumdb/note + sumdb/tlog from Debian, GOPATH mode, offline) and
// runs it (a) on Tessera's test log, where it must pass and must fail on any flipped byte, and
// (b) on a site log made with our own CLI, 700 statements in batches of different sizes, which
// must pass after every batch.
//
// Needs `go` (golang-go) and Debian's golang-golang-x-mod-dev; .ci/go-deps.sh installs both. When
// they are absent the file is skipped with a message, unless EMBASSY_REQUIRE_GO=1 is set, in which
// case it fails.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const GO_SRC = fileURLToPath(new URL('./c2sp-verify/', import.meta.url));
const VECTORS = fileURLToPath(new URL('../../../shared/vectors/', import.meta.url));
const TESSERA_LOG = join(VECTORS, 'tlog-tiles-tessera', 'log');
const TESSERA_VKEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
/** Where Debian's golang-*-dev packages put their sources (a GOPATH root). */
const DEBIAN_GOCODE = '/usr/share/gocode';

function goSkipReason(): string | false {
  let reason: string | false = false;
  const v = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) {
    reason = '`go` is not on PATH';
  } else if (!existsSync(join(DEBIAN_GOCODE, 'src/golang.org/x/mod/sumdb/tlog/tlog.go'))) {
    reason = `golang.org/x/mod sources absent under ${DEBIAN_GOCODE}`;
  }
  if (!reason) return false;
  const msg = `${reason}; run .ci/go-deps.sh (apt-get install golang-go golang-golang-x-mod-dev)`;
  if (process.env.EMBASSY_REQUIRE_GO === '1') throw new Error(`EMBASSY_REQUIRE_GO=1 but ${msg}`);
  return msg;
}

const goSkip = goSkipReason();
const tesseraSkip = goSkip || (existsSync(TESSERA_LOG) ? false : `Tessera vectors absent at ${TESSERA_LOG}`);

// ---------------------------------------------------------------------------------------------
// Temp dirs, removed at the end of the file.

const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

// ---------------------------------------------------------------------------------------------
// The Go verifier: built once, on first use, into a temp dir (GOCACHE there too).

let built: string | undefined;
function verifierBinary(): string {
  if (built) return built;
  const dir = tempDir('c2sp-verify-go-');
  const out = join(dir, 'c2sp-verify');
  const r = spawnSync('go', ['build', '-o', out, '.'], {
    cwd: GO_SRC,
    encoding: 'utf8',
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: `${DEBIAN_GOCODE}:${join(dir, 'gopath')}`,
      GOCACHE: join(dir, 'gocache'),
      GOFLAGS: '',
      GOPROXY: 'off',
      CGO_ENABLED: '0',
    },
  });
  assert.equal(r.status, 0, `go build failed:\n${r.error ?? ''}${r.stdout}${r.stderr}`);
  built = out;
  return out;
}

interface Summary {
  ok: boolean;
  origin: string;
  size: number;
  root: string;
  entries: number;
  bundlesChecked: number;
  tilesChecked: Record<string, number>;
  recordProofs: number;
  treeProofs: number;
  olderCheckpoints: number;
}

function runVerifier(vkey: string, logDir: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(verifierBinary(), ['-vkey', vkey, logDir], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the verifier and asserts success; returns its JSON summary. */
function verifyOk(vkey: string, logDir: string): Summary {
  const r = runVerifier(vkey, logDir);
  assert.equal(r.status, 0, `c2sp-verify rejected ${logDir}:\n${r.stderr}`);
  const s = JSON.parse(r.stdout) as Summary;
  assert.equal(s.ok, true);
  return s;
}

/** Runs the verifier and asserts exit 1 with a message naming `mention`. */
function verifyFails(vkey: string, logDir: string, mention: string, what: string): void {
  const r = runVerifier(vkey, logDir);
  assert.equal(r.status, 1, `${what}: want exit 1, got ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout on failure`);
  assert.ok(r.stderr.includes(mention), `${what}: stderr should name ${mention}:\n${r.stderr}`);
}

// ---------------------------------------------------------------------------------------------
// File helpers. Copies are made file by file so that read-only sources give writable copies.

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    if (statSync(src).isDirectory()) copyTree(src, dst);
    else writeFileSync(dst, readFileSync(src));
  }
}

function flipByte(file: string, at: number): void {
  const b = readFileSync(file);
  assert.ok(at >= 0 && at < b.length, `${file}: offset ${at} outside ${b.length} bytes`);
  b[at] = b[at]! ^ 0x01;
  writeFileSync(file, b);
}

/** A fresh writable copy of `logDir` with `mutate` applied to it. */
function mutatedCopy(logDir: string, mutate: (dir: string) => void): string {
  const dir = join(tempDir('c2sp-verify-mut-'), 'log');
  copyTree(logDir, dir);
  mutate(dir);
  return dir;
}

/** A C2SP Ed25519 verifier key `name+hash+base64(0x01||pub)`, hash = SHA-256(name\n0x01 pub)[:4]. */
function renamedKey(name: string, pub: Uint8Array): string {
  const keyed = Buffer.concat([Buffer.from([0x01]), pub]);
  const hash = createHash('sha256').update(name + '\n').update(keyed).digest().subarray(0, 4);
  return `${name}+${hash.toString('hex')}+${keyed.toString('base64')}`;
}

function verifierKey(name: string, seed: Uint8Array): string {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const jwk = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return renamedKey(name, Buffer.from(jwk.x!, 'base64url'));
}

// ---------------------------------------------------------------------------------------------
// (a) Tessera's log.

test('Go x/mod verifier accepts the third-party Tessera log', { skip: tesseraSkip }, () => {
  const s = verifyOk(TESSERA_VKEY, TESSERA_LOG); // read-only use of the shared folder
  assert.equal(s.origin, 'example.com/log/testdata');
  assert.equal(s.size, 15);
  assert.equal(s.entries, 15);
  assert.equal(s.root, 'rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=');
  assert.deepEqual(s.tilesChecked, { '0': 1 });
  assert.equal(s.olderCheckpoints, 16, 'checkpoint.0 … checkpoint.15 all verified and consistent');
  assert.ok(s.recordProofs >= 3 && s.treeProofs >= 3);
});

test('Go x/mod verifier rejects the Tessera log with one byte flipped anywhere', { skip: tesseraSkip }, () => {
  const cp = readFileSync(join(TESSERA_LOG, 'checkpoint'), 'utf8');
  const rootAt = Buffer.byteLength(cp.slice(0, cp.indexOf('\n', cp.indexOf('\n') + 1) + 1)) + 5;
  const sigAt = Buffer.byteLength(cp) - 10;
  const cases: [string, string, (dir: string) => void][] = [
    ['checkpoint root byte', 'checkpoint', (d) => flipByte(join(d, 'checkpoint'), rootAt)],
    ['checkpoint size byte', 'checkpoint', (d) => flipByte(join(d, 'checkpoint'), cp.indexOf('\n') + 1)],
    ['checkpoint signature byte', 'checkpoint', (d) => flipByte(join(d, 'checkpoint'), sigAt)],
    ['tile hash byte', 'tile/0/000.p/15', (d) => flipByte(join(d, 'tile/0/000.p/15'), 7 * 32 + 9)],
    ['tile last byte', 'tile/0/000.p/15', (d) => flipByte(join(d, 'tile/0/000.p/15'), 15 * 32 - 1)],
    ['bundle entry byte', 'tile/entries/', (d) => flipByte(join(d, 'tile/entries/000.p/15'), 3)],
    ['bundle length byte', 'tile/entries/000.p/15', (d) => flipByte(join(d, 'tile/entries/000.p/15'), 1)],
    ['bundle trailing byte', 'tile/entries/000.p/15', (d) => {
      const f = join(d, 'tile/entries/000.p/15');
      writeFileSync(f, Buffer.concat([readFileSync(f), Buffer.from([0])]));
    }],
    ['tile missing', 'tile/0/000.p/15', (d) => unlinkSync(join(d, 'tile/0/000.p/15'))],
    ['bundle missing', 'tile/entries/000.p/15', (d) => unlinkSync(join(d, 'tile/entries/000.p/15'))],
    ['older checkpoint byte', 'checkpoint.7', (d) => flipByte(join(d, 'checkpoint.7'), 30)],
  ];
  for (const [what, mention, mutate] of cases) {
    verifyFails(TESSERA_VKEY, mutatedCopy(TESSERA_LOG, mutate), mention, what);
  }
  // A well-formed but different key must not verify the checkpoint.
  const otherKey = verifierKey('example.com/log/testdata', new Uint8Array(32).fill(7));
  verifyFails(otherKey, TESSERA_LOG, 'checkpoint', 'another key with the same name');
  // The right key under another name: the origin line no longer matches (and no signature does).
  const pub = Buffer.from(TESSERA_VKEY.split('+').slice(2).join('+'), 'base64').subarray(1);
  verifyFails(renamedKey('example.com/log/other', pub), TESSERA_LOG, 'checkpoint', 'same key, other name');
  // Usage errors exit 2.
  assert.equal(spawnSync(verifierBinary(), [TESSERA_LOG]).status, 2, 'missing -vkey');
  assert.equal(spawnSync(verifierBinary(), ['-vkey', 'not-a-key', TESSERA_LOG]).status, 2, 'malformed -vkey');
});

// ---------------------------------------------------------------------------------------------
// (b) Our own log, made with our CLI: the acceptance criterion.

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'embassy.js'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cliJson<T>(args: string[]): T {
  const r = cli(args);
  assert.equal(r.status, 0, `embassy ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Statement i: varied sizes, a few non-ASCII characters, and an occasional large one. */
function statement(i: number): string {
  const len = i % 97 === 13 ? 4000 + i : (i * 37) % 500;
  const text = ('Statement ' + i + ' — naïve café, ' + 'abcdefghij'.repeat(60)).slice(0, len);
  return JSON.stringify({ type: 'test.note', n: i, text });
}

test('Go x/mod verifier accepts our site log built with the CLI (700 statements)', { skip: goSkip }, () => {
  const work = tempDir('c2sp-verify-site-');
  const site = join(work, 'site');
  const init = cliJson<{ origin: string; logVerifierKey: string }>(
    ['init', '--dir', site, '--name', 'den-haag', '--role', 'home', '--json'],
  );
  assert.equal(typeof init.origin, 'string');
  assert.ok(init.logVerifierKey.startsWith(init.origin + '+'), init.logVerifierKey);
  const logDir = join(site, 'log');

  // The empty log is already a valid C2SP log.
  const empty = verifyOk(init.logVerifierKey, logDir);
  assert.equal(empty.size, 0);
  assert.equal(empty.origin, init.origin);

  // Batches chosen to cross tile boundaries in several ways: partial -> 255 -> exactly 256 (first
  // full tile, first level-1 tile) -> 556 -> 600 -> 700 = 2 full level-0 tiles, a partial one of
  // width 188, and a level-1 partial tile of width 2.
  const batches = [1, 254, 1, 300, 44, 100];
  let total = 0;
  for (const [b, count] of batches.entries()) {
    const file = join(work, `batch-${b}.ndjson`);
    const lines: string[] = [];
    for (let i = total; i < total + count; i++) lines.push(statement(i));
    writeFileSync(file, lines.join('\n') + '\n');
    const added = cliJson<{ appended: number; size: number; root: string }>(
      ['statement', 'add', '--dir', site, file, '--json'],
    );
    total += count;
    assert.equal(added.appended, count);
    assert.equal(added.size, total);

    const s = verifyOk(init.logVerifierKey, logDir);
    assert.equal(s.size, total, `after batch ${b}`);
    assert.equal(s.entries, total);
    assert.equal(s.root, added.root, `after batch ${b}: the Go verifier's root is the CLI's root`);
    assert.equal(s.origin, init.origin);
  }

  assert.ok(total > 600);
  const s = verifyOk(init.logVerifierKey, logDir);
  assert.equal(s.size, 700);
  assert.equal(s.entries, 700);
  assert.equal(s.bundlesChecked, 3);
  assert.deepEqual(s.tilesChecked, { '0': 3, '1': 1 }, 'tile/0/000, tile/0/001, tile/0/002.p/188, tile/1/000.p/2');
  for (const p of ['tile/0/000', 'tile/0/001', 'tile/0/002.p/188', 'tile/1/000.p/2', 'tile/entries/001', 'tile/entries/002.p/188']) {
    assert.ok(existsSync(join(logDir, p)), `${p} exists`);
  }
  assert.ok(s.recordProofs >= 3 && s.treeProofs >= 3);

  // Our own verifier agrees.
  const ours = cli(['log', 'verify', '--dir', site, '--json']);
  assert.equal(ours.status, 0, `embassy log verify:\n${ours.stdout}\n${ours.stderr}`);
  const oursJson = JSON.parse(ours.stdout) as { ok?: boolean; size?: number };
  assert.equal(oursJson.ok, true);
  assert.equal(oursJson.size, 700);

  // And the Go verifier notices a flipped byte in our full level-0 tile and in our level-1 tile.
  for (const p of ['tile/0/001', 'tile/1/000.p/2', 'tile/entries/002.p/188']) {
    const bad = mutatedCopy(logDir, (d) => flipByte(join(d, p), 40));
    verifyFails(init.logVerifierKey, bad, p.startsWith('tile/entries') ? 'tile/entries/' : p, `flipped byte in ${p}`);
  }
});
