// `embassy serve`: runs a site node — the Fastify app of src/serve/app.ts over HTTPS with mutual
// TLS. Client certificates are pinned: a connection whose certificate no known card pins is
// dropped right after the handshake (and the app refuses it again with 403). Prints the bound
// address as JSON on stdout; logs (pino) go to stderr. SIGTERM/SIGINT: stop accepting, finish,
// close the stores, exit 0.
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Command } from 'commander';
import { EmbassyError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { toHex } from '../format/bytes.ts';
import { loadPeers } from '../net/peers.ts';
import { join } from 'node:path';
import { buildApp } from '../serve/app.ts';
import { witnessRoutes } from '../serve/witness-routes.ts';
import { SqliteWitnessState, WITNESS_STATE_FILE } from '../witness/sqlite-state.ts';
import { Site } from '../site/site.ts';
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

export function registerServe(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .description('run the site node: log tiles, objects for mirrors, status, metrics, health (HTTPS, mutual TLS)')
    .requiredOption('--dir <dir>', 'site directory')
    .option('--listen <host:port>', 'address to bind', '127.0.0.1:8443')
    .option('--log-level <level>', 'pino log level on stderr', 'info')
    .action(async (o: { dir: string; listen: string; logLevel: string }) => {
      await ctx.run(true, async () => {
        const { host, port } = parseListen(o.listen);
        const site = await Site.open(o.dir);
        const tls = await site.readTlsIdentity();
        const peers = await loadPeers(site);
        // Open (and recover) the object store under the site lock so recovery never races a
        // writer; serving afterwards only reads committed packs.
        const objects = await site.withLock(() => site.openObjects());
        const app = buildApp({
          site: { name: site.config.name, role: site.config.role, origin: site.config.origin },
          log: site.logStore(),
          logVerifier: site.logVerifier(),
          objects,
          peers,
          fastify: {
            logger: { level: o.logLevel, stream: process.stderr },
            // Pinning replaces CA verification: ask for a certificate, decide ourselves below.
            https: { key: tls.keyPem, cert: tls.certPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' },
          },
        });
        // A witness answers C2SP tlog-witness add-checkpoint for the logs it was told to trust.
        let witnessState: SqliteWitnessState | undefined;
        if (site.config.role === 'witness') {
          const now = (): bigint => BigInt(Math.floor(Date.now() / 1000));
          witnessState = SqliteWitnessState.open(join(site.dir, WITNESS_STATE_FILE));
          await app.register(witnessRoutes, {
            state: witnessState,
            cosigner: await site.cosigner(now),
            now,
            onConflict: (f) => app.log.warn({ kind: f.kind, origin: f.origin, cosignedSize: String(f.cosigned.size), presentedSize: String(f.presented.size) }, 'witness: split view or rollback detected'),
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
        try {
          await app.listen({ host, port });
        } catch (e) {
          await objects.close();
          throw new EmbassyError('store.io', `serve: cannot listen on ${o.listen}: ${(e as Error).message}`);
        }
        const addr = app.server.address() as AddressInfo;
        const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
        ctx.io.stdout(JSON.stringify({ listening: `https://${shown}:${addr.port}` }) + '\n');
        const signal = await new Promise<string>((resolve) => {
          process.once('SIGTERM', () => resolve('SIGTERM'));
          process.once('SIGINT', () => resolve('SIGINT'));
        });
        app.log.info({ signal }, 'shutting down');
        await app.close();
        await objects.close();
        witnessState?.close();
        return EXIT.OK;
      });
    });
}
