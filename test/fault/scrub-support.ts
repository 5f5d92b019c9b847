// Helpers for the scrub fault test (scrub.test.ts). HomeStandIn stands on a home's port in place
// of its node: it serves the home's real log (read from <home>/log) and the home's real objects
// (read from <home>/objects with a lock-free reader), except a chosen set it answers as missing,
// so a mirror sees the home's newest checkpoint but cannot get back what its host destroyed from
// the home. The home's own files are never written. It speaks the node's wire formats (C2SP
// tlog-tiles paths under /log/, the POST /objects frames of src/serve/routes-objects.ts) over
// HTTPS with the home's TLS key and certificate, so mirrors accept it by their pinned card.
// It runs in the test's process, so the CLI must then be run without blocking it (embassyAsync).
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { toHex } from '../../src/format/bytes.ts';
import { MISSING_OBJECT_LENGTH, OBJECT_ID_SIZE } from '../../src/serve/routes-objects.ts';
import { FsLogStore } from '../../src/store/fs-log-store.ts';
import { PackObjectStore } from '../../src/store/pack-store.ts';

const MAX_BODY = 4096 * OBJECT_ID_SIZE + 64 * 1024;

export interface HomeStandInOptions {
  /** The home's site directory (read only). */
  dir: string;
  /** The port of the home's card. */
  port: number;
  /** Object ids (hex) answered as missing. */
  withhold: ReadonlySet<string>;
}

export class HomeStandIn {
  /** Receipts mirrors sent (POST /receipts bodies), in arrival order. */
  readonly receipts: string[] = [];
  /** Objects answered as missing because they are withheld. */
  withheld = 0;
  /** Objects sent. */
  served = 0;

  private constructor(
    private readonly server: Server,
    private readonly log: FsLogStore,
    private readonly objects: PackObjectStore,
    private readonly withhold: ReadonlySet<string>,
  ) {}

  static async start(o: HomeStandInOptions): Promise<HomeStandIn> {
    const objects = await PackObjectStore.openReader(join(o.dir, 'objects'));
    const server = createServer({
      key: readFileSync(join(o.dir, 'keys', 'tls.key')),
      cert: readFileSync(join(o.dir, 'tls.crt')),
      // As the node does: ask for the client's certificate; pinning is not what is tested here.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
    });
    const home = new HomeStandIn(server, new FsLogStore(join(o.dir, 'log')), objects, o.withhold);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      home.handle(req, res).catch((e: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`stand-in: ${e.message}`);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, '127.0.0.1', () => resolve());
    });
    return home;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://stand-in');
    const body = await readBody(req);
    if (req.method === 'GET' && url.pathname.startsWith('/log/')) {
      const path = url.pathname.slice('/log/'.length);
      let bytes: Uint8Array | undefined;
      try {
        bytes = await this.log.get(path);
      } catch {
        bytes = undefined; // not a log resource path
      }
      if (bytes === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': path === 'checkpoint' ? 'text/plain; charset=utf-8' : 'application/octet-stream' });
      return void res.end(bytes);
    }
    if (req.method === 'POST' && url.pathname === '/objects') {
      if (body.length === 0 || body.length % OBJECT_ID_SIZE !== 0) return void res.writeHead(400).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < body.length; i += OBJECT_ID_SIZE) {
        const id = new Uint8Array(body.subarray(i, i + OBJECT_ID_SIZE));
        let bytes: Uint8Array | undefined;
        if (this.withhold.has(toHex(id))) this.withheld++;
        else bytes = await this.objects.get(id);
        if (bytes !== undefined) this.served++;
        const header = Buffer.alloc(OBJECT_ID_SIZE + 4);
        header.set(id, 0);
        header.writeUInt32BE(bytes === undefined ? MISSING_OBJECT_LENGTH : bytes.length, OBJECT_ID_SIZE);
        res.write(header);
        if (bytes !== undefined) res.write(bytes);
      }
      return void res.end();
    }
    if (req.method === 'POST' && url.pathname === '/receipts') {
      this.receipts.push(body.toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ stored: true }));
    }
    if (req.method === 'GET' && url.pathname === '/receipts') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ site: 'stand-in', role: 'home', receipts: [] }));
    }
    res.writeHead(404).end();
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.objects.close();
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_BODY) throw new Error(`request body over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Every object id (hex) the store in `objectsDir` indexes, read without its lock. */
export async function storedIds(objectsDir: string): Promise<Set<string>> {
  const store = await PackObjectStore.openReader(objectsDir);
  try {
    const out = new Set<string>();
    for await (const id of store.ids()) out.add(toHex(id));
    return out;
  } finally {
    await store.close();
  }
}

/** Every pack file under <site>/objects/packs, sorted by name (the pack id). */
export function packFiles(siteDir: string): { hex: string; path: string }[] {
  const root = join(siteDir, 'objects', 'packs');
  const out: { hex: string; path: string }[] = [];
  for (const d of readdirSync(root)) {
    for (const f of readdirSync(join(root, d))) if (f.endsWith('.pack')) out.push({ hex: f.slice(0, -'.pack'.length), path: join(root, d, f) });
  }
  return out.sort((a, b) => (a.hex < b.hex ? -1 : 1));
}

/** embassy_objects_served_total from a node's Prometheus text. */
export function objectsServed(metrics: string): number {
  const m = /^embassy_objects_served_total (\d+)$/m.exec(metrics);
  if (m === null) throw new Error('metrics: no embassy_objects_served_total');
  return Number(m[1]);
}

export { embassyAsync } from '../support/cli.ts';
