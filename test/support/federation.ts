// A federation of real sites for end-to-end tests: each site made with the real CLI, cards
// exchanged with `embassy site card` / `site add`, and nodes run as separate `embassy serve`
// processes on 127.0.0.1. Ports are chosen before the cards are signed (a card names its URL).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { embassy, EMBASSY_BIN, type CliResult } from './cli.ts';
import { httpsJson, type JsonAnswer } from '../../src/net/https-json.ts';
import { RECEIPTS_FILE, ReceiptStore } from '../../src/federation/receipt-store.ts';

export function ok(args: string[]): CliResult {
  const r = embassy(args);
  assert.equal(r.status, 0, `embassy ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r;
}

export { freePort } from '../../src/net/free-port.ts';
import { freePort } from '../../src/net/free-port.ts';

export interface SiteSpec {
  name: string;
  role: 'home' | 'mirror' | 'witness';
  lat?: number;
  lon?: number;
  jurisdiction?: string;
  risk?: string[];
  /** The port the node will listen on; default a free one. */
  port?: number;
  /** The URL in the card when peers must go through something else (a proxy); default the node's own. */
  cardUrl?: (port: number) => string;
}

export interface FedSite extends SiteSpec {
  dir: string;
  port: number;
  card: string;
}

export interface Node {
  child: ChildProcess;
  /** The JSON line `embassy serve` printed: listening, site, role, and api / admin when set up. */
  info: { listening: string; site: string; role: string; api?: string; admin?: string };
  stderr: () => string;
  exit: Promise<number | null>;
  stop: () => Promise<number | null>;
}

/** Makes every site, and has each know the others as a real deployment would. */
export async function makeFederation(tmp: string, specs: SiteSpec[]): Promise<Map<string, FedSite>> {
  const sites = new Map<string, FedSite>();
  for (const s of specs) {
    const dir = join(tmp, s.name);
    const origin = s.role === 'home' ? `${s.name}.example/embassy` : undefined;
    ok(['init', '--dir', dir, '--name', s.name, '--role', s.role, ...(origin ? ['--origin', origin] : [])]);
    const port = s.port ?? (await freePort());
    const url = s.cardUrl ? s.cardUrl(port) : `https://127.0.0.1:${port}`;
    const card = join(tmp, `${s.name}.card`);
    ok([
      'site', 'card', '--dir', dir, '--url', url, '--out', card,
      ...(s.lat !== undefined ? ['--lat', String(s.lat), '--lon', String(s.lon)] : []),
      ...(s.jurisdiction ? ['--jurisdiction', s.jurisdiction] : []),
      ...(s.risk ? ['--risk', s.risk.join(',')] : []),
    ]);
    sites.set(s.name, { ...s, dir, port, card });
  }
  for (const a of sites.values()) {
    for (const b of sites.values()) {
      if (a === b) continue;
      // Homes know everyone; mirrors know homes and each other; witnesses know homes.
      const knows = a.role === 'home' || (a.role === 'mirror' && b.role !== 'witness') || (a.role === 'witness' && b.role === 'home');
      if (knows) ok(['site', 'add', '--dir', a.dir, b.card]);
    }
    if (a.role === 'witness') {
      for (const h of sites.values()) {
        if (h.role !== 'home') continue;
        const vkey = JSON.parse(readText(h.card)).logVerifierKey as string;
        ok(['witness', 'add-log', '--dir', a.dir, '--vkey', vkey]);
      }
    }
  }
  return sites;
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Starts `embassy serve` for a site and resolves once it listens. Killed at the end of the test. */
export async function startNode(t: TestContext, site: FedSite, extra: string[] = []): Promise<Node> {
  const child = spawn(process.execPath, [EMBASSY_BIN, 'serve', '--dir', site.dir, '--listen', `127.0.0.1:${site.port}`, '--log-level', 'info', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`serve ${site.name} exited with ${code} before listening:\n${err}`)));
  });
  return {
    child,
    info: JSON.parse(out.slice(0, out.indexOf('\n'))),
    stderr: () => err,
    exit,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exit;
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(what: string, ms: number, check: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes an NDJSON snapshot of `n` person-like records (keys bsn), version `v` changing every 10th. */
export function writeSnapshot(path: string, n: number, v: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify({ bsn: String(100_000_000 + i), naam: `Persoon ${i}`, versie: i % 10 === 0 ? v : 1 }));
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/**
 * One request to a node's serving API (HTTPS, server-auth only). The site's own certificate is
 * the trust anchor, as a client given the site card would pin it; the host name is not checked.
 */
export async function apiRequest(site: { dir: string }, api: string, method: 'GET' | 'POST', path: string, o: { token?: string; body?: unknown } = {}): Promise<JsonAnswer> {
  return httpsJson(new URL(path, api).href, { method, ca: readFileSync(join(site.dir, 'tls.crt'), 'utf8'), ...o });
}

/** The statements of a site's own log, in order (read from its files, checkpoint verified). */
export async function ownLogStatements(dir: string): Promise<{ index: bigint; statement: Record<string, any> }[]> {
  const { Site } = await import('../../src/site/site.ts');
  const { readLogEntries } = await import('../../src/catalog/catalog.ts');
  const { openCheckpoint } = await import('../../src/log/checkpoint.ts');
  const { parseStatement } = await import('../../src/format/statement.ts');
  const site = await Site.open(dir);
  const store = site.logStore();
  const note = readFileSync(join(dir, 'log', 'checkpoint'), 'utf8');
  const { checkpoint } = openCheckpoint(note, site.logVerifier());
  const out: { index: bigint; statement: Record<string, any> }[] = [];
  for await (const { index, entry } of readLogEntries(store, checkpoint.size)) out.push({ index, statement: parseStatement(entry) });
  return out;
}

/** Passphrases of three test custodians, given to `embassy` through the environment (prefix PASS_). */
export const CUSTODIAN_PASS_ENV = { PASS_CUSTODIAN_1: 'first custodian passphrase', PASS_CUSTODIAN_2: 'second custodian passphrase', PASS_CUSTODIAN_3: 'third custodian passphrase' };

/** A key ceremony at `homeDir`: three custodians, two needed, the cheapest scrypt cost; share files in `out`. */
export function holdCeremony(homeDir: string, out: string): void {
  const r = embassy(['custody', 'init', '--dir', homeDir, '--custodians', '3', '--threshold', '2', '--out', out, '--passphrase-env', 'PASS_', '--kdf-cost', '14'], { env: CUSTODIAN_PASS_ENV });
  assert.equal(r.status, 0, r.stderr);
}

/** The size of a site's log, from its checkpoint file. */
export function logSize(dir: string): bigint {
  return BigInt(readFileSync(join(dir, 'log', 'checkpoint'), 'utf8').split('\n')[1]!);
}

/** The newest cosigned size per site in a receipt store (a home's receipts, or a mirror's own-log cosignatures). */
export function receiptSizes(dir: string, file = RECEIPTS_FILE): Map<string, bigint> {
  const store = ReceiptStore.open(join(dir, file));
  try {
    return new Map(store.all().map((r) => [r.site, r.size]));
  } finally {
    store.close();
  }
}

