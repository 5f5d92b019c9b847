// `embassy serve`: runs a site node — the Fastify app of src/serve/app.ts over HTTPS with mutual
// TLS. Client certificates are pinned: a connection whose certificate no known card pins is
// dropped right after the handshake (and the app refuses it again with 403). Prints the bound
// address as JSON on stdout; logs (pino) go to stderr. SIGTERM/SIGINT: stop accepting, finish,
// close the stores, exit 0.
// With --api-listen, the serving API (src/api/app.ts) runs beside it over HTTPS (server-auth only;
// clients use bearer tokens): at a home always in force, at a mirror only while custodians have
// activated it. A mirror's node also holds the activation manager (src/activation/manager.ts),
// its admin socket <dir>/admin.sock for `embassy activate`/`deactivate`/`drill`, and asks the
// other mirrors to cosign its own log; it answers their requests to cosign theirs. At shutdown
// an activation in force is ended (keys wiped, deactivation logged) before the process exits.
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { toHex } from '../format/bytes.ts';
import pino from 'pino';
import { LivePeers } from '../net/peers.ts';
import { PeerClient } from '../net/client.ts';
import { peerTransport } from '../net/transport.ts';
import { HomeFederation } from '../federation/home.ts';
import { RECEIPTS_FILE, ReceiptStore } from '../federation/receipt-store.ts';
import { federationRoutes } from '../serve/federation-routes.ts';
import { MirrorNode, graphOptions } from '../sync/mirror-node.ts';
import { CHECKPOINT_PATH } from '../store/log-store.ts';
import { join } from 'node:path';
import { buildApp } from '../serve/app.ts';
import { witnessRoutes } from '../serve/witness-routes.ts';
import { SqliteWitnessState, WITNESS_STATE_FILE } from '../witness/sqlite-state.ts';
import { Site } from '../site/site.ts';
import { buildApiApp } from '../api/app.ts';
import { openHomeAccess } from '../api/home-access.ts';
import { AccessJournal, JOURNAL_FILE } from '../api/journal.ts';
import { TOKENS_FILE, TokenStore } from '../api/tokens.ts';
import type { DataAccess } from '../api/access.ts';
import { ActivationManager } from '../activation/manager.ts';
import { MirrorLog } from '../activation/mirror-log.ts';
import { openHomeCopy } from '../activation/home-copy.ts';
import { OwnLogCosigning, PeerMirrorWitnessState } from '../federation/own-log.ts';
import { ADMIN_SOCKET_FILE, buildAdminApp, listenAdmin, publicShareRoutes } from '../serve/admin.ts';
import type { FastifyInstance } from 'fastify';
import { EXIT } from './exit-codes.ts';
import type { CommandContext } from './main.ts';

export function parseListen(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const host = i > 0 ? s.slice(0, i).replace(/^\[(.*)\]$/, '$1') : '';
  const portText = s.slice(i + 1);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (host === '' || !(port >= 0 && port <= 65535)) {
    throw new EmbassyError('usage', `serve: --listen must be HOST:PORT (port 0 picks a free one), got ${JSON.stringify(s)}`);
  }
  return { host, port };
}

export interface ServeOptions {
  dir: string;
  listen: string;
  logLevel: string;
  pollInterval: string;
  scrubInterval: string;
  peerReload: string;
  peerTimeout: string;
  apiListen?: string;
  homeProbeTimeout: string;
  nodeCacheMb: string;
}

function seconds(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new EmbassyError('usage', `serve: ${name} must be a number of seconds ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export function registerServe(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .description('run the site node: log tiles, objects for mirrors, receipts, status, metrics, health (HTTPS, mutual TLS); a mirror follows its homes, a home collects receipts and asks its witnesses')
    .requiredOption('--dir <dir>', 'site directory')
    .option('--listen <host:port>', 'address to bind', '127.0.0.1:8443')
    .option('--log-level <level>', 'pino log level on stderr', 'info')
    .option('--poll-interval <seconds>', 'mirror: poll each home this often; home: collect receipts this often', '10')
    .option('--scrub-interval <seconds>', 'mirror: scrub the store this often (0: never)', '3600')
    .option('--peer-reload <seconds>', 're-read peer cards this often', '5')
    .option('--peer-timeout <seconds>', 'give up on a peer request idle this long', '30')
    .option('--api-listen <host:port>', 'also serve the data API (HTTPS, bearer tokens) here; a mirror serves only while activated')
    .option('--home-probe-timeout <seconds>', 'mirror: an activation asks the home first; it counts as gone after this long without an answer', '3')
    .option('--node-cache-mb <mb>', 'API: decrypted tree nodes kept in memory per data key (an activated mirror fills it in the background)', '1024')
    .action(async (o: ServeOptions) => {
      await ctx.run(true, async () => {
        const site = await Site.open(o.dir);
        // A mirror writes its object store and its copies of home logs for as long as it runs:
        // it holds the site lock throughout. A home's node only reads what `ingest` writes.
        if (site.config.role === 'mirror') return site.withLock(() => serveSite(site, o, ctx));
        return serveSite(site, o, ctx);
      });
    });
}

async function serveSite(site: Site, o: ServeOptions, ctx: CommandContext): Promise<number> {
  const { host, port } = parseListen(o.listen);
  const pollMs = seconds('--poll-interval', o.pollInterval, 0.05) * 1000;
  const scrubMs = seconds('--scrub-interval', o.scrubInterval, 0) * 1000;
  const reloadMs = seconds('--peer-reload', o.peerReload, 0.05) * 1000;
  const cacheMb = Number(o.nodeCacheMb);
  if (!Number.isSafeInteger(cacheMb) || cacheMb < 1) throw new EmbassyError('usage', `serve: --node-cache-mb must be a whole number of MB ≥ 1, got ${JSON.stringify(o.nodeCacheMb)}`);
  const nodeCacheBytes = cacheMb * 1024 * 1024;
  const tls = await site.readTlsIdentity();
  const logger = pino({ level: o.logLevel }, process.stderr);
  const peers = await LivePeers.open(site, reloadMs, (e) => logger.warn({ error: e.message }, 'peers: cannot reload cards; keeping the previous set'));
  // A mirror's node is the writer of its store (it holds the site lock); a home's node only
  // reads, beside `embassy ingest` and `gc` writing in their own processes.
  const objects = site.config.role === 'mirror' ? await site.openObjects() : await site.openObjectsReader();
  const client = new PeerClient(tls, { timeoutMs: seconds('--peer-timeout', o.peerTimeout, 0.1) * 1000 });
  const transport = peerTransport(client);
  const closers: (() => Promise<void> | void)[] = [];
  // Run first at shutdown, before anything else closes: end an activation in force (keys wiped).
  const firstClosers: (() => Promise<void> | void)[] = [];
  let access: DataAccess | undefined;
  let registerPublic: ((app: FastifyInstance) => void) | undefined;
  let journal: AccessJournal | undefined;
  let adminSocket: string | undefined;
  const app = buildApp({
    site: { name: site.config.name, role: site.config.role, origin: site.config.origin },
    log: site.logStore(),
    logVerifier: site.logVerifier(),
    objects,
    peers,
    fastify: {
      loggerInstance: logger,
      // Pinning replaces CA verification: ask for a certificate, decide ourselves below.
      https: { key: tls.keyPem, cert: tls.certPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' },
    },
  });
  const now = (): bigint => BigInt(Math.floor(Date.now() / 1000));

  if (site.config.role === 'witness') {
    // A witness answers C2SP tlog-witness add-checkpoint for the logs it was told to trust.
    const witnessState = SqliteWitnessState.open(join(site.dir, WITNESS_STATE_FILE));
    closers.push(() => witnessState.close());
    await app.register(witnessRoutes, {
      state: witnessState,
      cosigner: await site.cosigner(now),
      now,
      onConflict: (f) => app.log.warn({ kind: f.kind, origin: f.origin, cosignedSize: String(f.cosigned.size), presentedSize: String(f.presented.size) }, 'witness: split view or rollback detected'),
    });
    await app.register(federationRoutes, { published: async () => ({ site: site.config.name, role: 'witness', receipts: [] }) });
  } else if (site.config.role === 'home') {
    const receipts = ReceiptStore.open(join(site.dir, RECEIPTS_FILE));
    closers.push(() => receipts.close());
    const home = new HomeFederation({ origin: site.config.origin, verifier: site.logVerifier(), log: site.logStore(), receipts, peers: () => peers.all(), transport, logger });
    await app.register(federationRoutes, {
      receive: (peer, text) => home.receive(peer, text),
      published: async () => ({
        site: site.config.name,
        role: 'home',
        receipts: receipts.all().map((r) => ({ site: r.site, kind: r.kind, size: String(r.size), cosignedAt: String(r.cosignedAt), note: r.note })),
      }),
    });
    closers.push(watchCheckpoint(site, home, logger, pollMs));
  } else {
    const node = new MirrorNode({ siteDir: site.dir, peers: () => peers.all(), transport, objects, cosigner: await site.cosigner(now), logger, pollMs, scrubMs, ...graphOptions(site) });
    await app.register(federationRoutes, {
      onNotify: (peer) => {
        if (peer.role === 'home') node.notify(peer.name);
      },
      published: () => node.published(site.config.name),
    });
    node.start();
    closers.push(() => node.stop());

    // The mirror's own log: activations and drills, cosigned by the other mirrors; and this
    // mirror cosigns theirs (C2SP tlog-witness add-checkpoint, trusted from their cards).
    const ownLog = new OwnLogCosigning({ siteDir: site.dir, name: site.config.name, origin: site.config.origin, verifier: site.logVerifier(), log: site.logStore(), peers: () => peers.all(), transport, logger });
    closers.push(() => ownLog.close());
    const mirrorWitnessState = SqliteWitnessState.open(join(site.dir, WITNESS_STATE_FILE));
    closers.push(() => mirrorWitnessState.close());
    await app.register(witnessRoutes, {
      state: new PeerMirrorWitnessState(mirrorWitnessState, () => peers.all(), site.config.name),
      cosigner: await site.cosigner(now),
      now,
      onConflict: (f) => app.log.warn({ kind: f.kind, origin: f.origin, cosignedSize: String(f.cosigned.size), presentedSize: String(f.presented.size) }, 'mirror log cosigning: split view or rollback detected'),
    });
    const catchUp = setInterval(() => {
      ownLog.catchUp().catch((e: Error) => logger.warn({ error: e.message }, 'own log: cosigning catch-up failed'));
    }, Math.max(pollMs, 5000));
    closers.push(() => clearInterval(catchUp));

    journal = await AccessJournal.open(join(site.dir, JOURNAL_FILE), { onWarning: (w) => logger.warn({ warning: w }, 'access journal') });
    const j = journal;
    const probe = new PeerClient(tls, { timeoutMs: seconds('--home-probe-timeout', o.homeProbeTimeout, 0.1) * 1000 });
    closers.push(() => probe.close());
    const manager = new ActivationManager({
      site: { name: site.config.name, origin: site.config.origin },
      peers: () => peers.all(),
      openHomeCopy: (card) => openHomeCopy(site.dir, card),
      objects,
      log: new MirrorLog(site.logStore(), await site.logIdentity()),
      homeAnswers: async (card) => (await probe.request(card, 'GET', 'log/checkpoint', undefined, 64 * 1024)).status === 200,
      journalHead: () => {
        const h = j.head();
        return { seq: h.seq, head: h.hash };
      },
      announce: () => ownLog.announce(),
      cosigners: (size) => ownLog.cosigners(size),
      logger,
      nodeCacheBytes,
    });
    const closed = await manager.start();
    if (closed.length > 0) logger.warn({ activations: closed }, 'activations left open by the previous run were closed (reason restart)');
    firstClosers.push(() => manager.stop());
    access = manager;
    registerPublic = publicShareRoutes(manager);
    adminSocket = join(site.dir, ADMIN_SOCKET_FILE);
    closers.push(await listenAdmin(buildAdminApp(manager, { loggerInstance: logger }), adminSocket));
    process.on('SIGUSR1', () => {
      node.scrub().catch((e: Error) => logger.warn({ error: e.message }, 'scrub failed'));
    });
  }

  app.server.on('secureConnection', (socket: TLSSocket) => {
    const cert = socket.getPeerCertificate();
    const fingerprint = cert && cert.raw ? toHex(sha256(new Uint8Array(cert.raw))) : undefined;
    if (fingerprint === undefined || !peers.byFingerprint(fingerprint)) {
      app.log.info({ peerFingerprint: fingerprint ?? null, remoteAddress: socket.remoteAddress }, 'refused at tls: client certificate is not pinned by a known site card');
      socket.destroy();
    }
  });
  let api: FastifyInstance | undefined;
  if (o.apiListen !== undefined && site.config.role !== 'witness') {
    const where = parseListen(o.apiListen);
    if (site.config.role === 'home') {
      const home = await openHomeAccess(site, objects, { nodeCacheBytes, onError: (e) => logger.warn({ error: e.message }, 'home access: cannot reload the catalog') });
      closers.push(() => home.close());
      access = home;
      journal = await AccessJournal.open(join(site.dir, JOURNAL_FILE), { onWarning: (w) => logger.warn({ warning: w }, 'access journal') });
    }
    const tokens = TokenStore.open(join(site.dir, TOKENS_FILE));
    closers.push(() => tokens.close());
    api = buildApiApp({
      access: access!,
      tokens,
      journal: journal!,
      site: { name: site.config.name, role: site.config.role },
      fastify: { loggerInstance: logger, https: { key: tls.keyPem, cert: tls.certPem, minVersion: 'TLSv1.3' } },
      ...(registerPublic ? { register: registerPublic } : {}),
    });
    try {
      await api.listen({ host: where.host, port: where.port });
    } catch (e) {
      await objects.close();
      throw new EmbassyError('store.io', `serve: cannot listen on ${o.apiListen}: ${(e as Error).message}`);
    }
  }
  if (journal) {
    const jl = journal;
    closers.push(() => jl.close());
  }
  try {
    await app.listen({ host, port });
  } catch (e) {
    await objects.close();
    throw new EmbassyError('store.io', `serve: cannot listen on ${o.listen}: ${(e as Error).message}`);
  }
  const url = (a: AddressInfo): string => `https://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  const addr = app.server.address() as AddressInfo;
  ctx.io.stdout(JSON.stringify({
    listening: url(addr),
    site: site.config.name,
    role: site.config.role,
    ...(api ? { api: url(api.server.address() as AddressInfo) } : {}),
    ...(adminSocket ? { admin: adminSocket } : {}),
  }) + '\n');
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  app.log.info({ signal }, 'shutting down');
  for (const c of firstClosers) await c();
  if (api) await api.close();
  await app.close();
  for (const c of closers.reverse()) await c();
  client.close();
  peers.close();
  await objects.close();
  return EXIT.OK;
}

/**
 * The home's watch on its own checkpoint: `embassy ingest` (another process) moves it; each new
 * one is announced (witnesses asked, mirrors notified) once, in order. Every `collectMs`, as a
 * backstop for lost messages, receipts published by mirrors are collected and witnesses behind
 * the current checkpoint are asked again.
 */
function watchCheckpoint(site: Site, home: HomeFederation, logger: pino.Logger, collectMs: number): () => Promise<void> {
  let last = '';
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const tick = async (): Promise<void> => {
    const raw = await site.logStore().get(CHECKPOINT_PATH);
    const note = raw === undefined ? '' : new TextDecoder().decode(raw);
    if (note === last || note === '') return;
    last = note;
    const outcomes = await home.announce();
    logger.info({ size: note.split('\n')[1], witnesses: outcomes.map((w) => `${w.witness}:${w.status}`) }, 'checkpoint announced');
  };
  const watch = setInterval(() => {
    running = running.then(tick).catch((e: Error) => logger.warn({ error: e.message }, 'announce failed'));
  }, 200);
  const collect = setInterval(() => {
    if (stopped) return;
    home.collect().then(
      (r) => {
        const stored = r.filter((x) => x.stored).map((x) => x.mirror);
        if (stored.length > 0) logger.info({ mirrors: stored }, 'receipts collected');
      },
      (e: Error) => logger.warn({ error: e.message }, 'collect failed'),
    );
    // In the announce queue, so that a witness is never asked twice at once.
    running = running.then(() => home.catchUpWitnesses()).then(
      () => undefined,
      (e: Error) => logger.warn({ error: e.message }, 'witness catch-up failed'),
    );
  }, collectMs);
  return async () => {
    stopped = true;
    clearInterval(watch);
    clearInterval(collect);
    await running;
  };
}
