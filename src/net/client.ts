// The mTLS HTTPS client one site uses to talk to another: presents this site's certificate,
// and accepts a server only if its certificate is the one pinned by the peer's card (the card's
// certificate is the sole trust anchor, and checkServerIdentity compares SHA-256 fingerprints;
// host names play no part). One keep-alive agent per peer. Also HttpLogReader, a LogReader over
// a peer's /log/ resources, so src/verify/log.ts can verify a remote log unchanged.
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { EmbassyError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { bytesEqual, toHex } from '../format/bytes.ts';
import type { LogReader } from '../store/log-store.ts';
import type { SiteCard } from './card.ts';
import type { TlsIdentity } from './tls-identity.ts';
import { normalizeFingerprint } from './tls-identity.ts';

export const OBJECT_ID_SIZE = 32;
export const MAX_OBJECTS_PER_REQUEST = 4096;
const MISSING = 0xffffffff;
/** No single object is this large; a bigger length frame means a broken or hostile peer. */
const MAX_OBJECT_SIZE = 256 * 1024 * 1024;
const MAX_LOG_RESOURCE_SIZE = 16 * 1024 * 1024;

export interface PeerResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Uint8Array;
}

export interface PeerClientOptions {
  /** Socket inactivity timeout; default 30 s. */
  timeoutMs?: number;
}

export class PeerClient {
  private readonly agents = new Map<string, Agent>();
  private readonly timeoutMs: number;

  constructor(
    private readonly identity: Pick<TlsIdentity, 'keyPem' | 'certPem'>,
    options: PeerClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  private agentFor(card: SiteCard): Agent {
    const key = `${card.name} ${card.tlsFingerprint}`;
    let agent = this.agents.get(key);
    if (!agent) {
      // No TLS session resumption: a resumed session shows no peer certificate to check against the pin.
      agent = new Agent({ keepAlive: true, maxSockets: 8, maxCachedSessions: 0 });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Opens a request to the peer; resolves with the response once headers arrived. */
  private open(card: SiteCard, method: string, path: string, body?: Uint8Array, contentType?: string): Promise<IncomingMessage> {
    const url = new URL(path, card.url + '/');
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          agent: this.agentFor(card),
          key: this.identity.keyPem,
          cert: this.identity.certPem,
          ca: [card.tlsCertificate],
          checkServerIdentity: (_host: string, cert: PeerCertificate) => checkPinned(card, cert),
          headers: body ? { 'content-type': contentType ?? 'application/octet-stream', 'content-length': String(body.length) } : {},
          timeout: this.timeoutMs,
        },
        (res) => {
          // Belt and braces: a resumed session skips checkServerIdentity; the anchor still holds, check again.
          const err = checkPinned(card, (res.socket as TLSSocket).getPeerCertificate());
          if (err) {
            res.destroy();
            reject(err);
            return;
          }
          resolve(res);
        },
      );
      req.on('timeout', () => req.destroy(new EmbassyError('store.io', `peer ${card.name}: ${method} ${url.pathname} timed out`)));
      req.on('error', (e) => {
        if (e instanceof EmbassyError) return reject(e);
        // A chain that does not lead to the pinned certificate is an authentication failure, not I/O.
        const tlsCode = (e as NodeJS.ErrnoException).code ?? '';
        const code = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/.test(tlsCode) ? 'crypto.auth-failed' : 'store.io';
        reject(new EmbassyError(code, `peer ${card.name}: ${method} ${url.pathname}: ${e.message}`, { cause: e }));
      });
      req.end(body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : undefined);
    });
  }

  /** A whole response, up to `limit` bytes. */
  async request(card: SiteCard, method: string, path: string, body?: Uint8Array, limit = MAX_LOG_RESOURCE_SIZE, contentType?: string): Promise<PeerResponse> {
    const res = await this.open(card, method, path, body, contentType);
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > limit) throw new EmbassyError('input.too-large', `peer ${card.name}: response to ${path} is over ${limit} bytes`);
        chunks.push(chunk);
      }
    } catch (e) {
      res.destroy();
      if (e instanceof EmbassyError) throw e;
      throw new EmbassyError('store.io', `peer ${card.name}: ${path}: ${(e as Error).message}`, { cause: e });
    }
    return { status: res.statusCode ?? 0, headers: res.headers, body: new Uint8Array(Buffer.concat(chunks)) };
  }

  /** A log resource ("checkpoint", "tile/0/000"), or undefined on 404. */
  async getLogResource(card: SiteCard, path: string): Promise<Uint8Array | undefined> {
    const res = await this.request(card, 'GET', `log/${path}`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new EmbassyError('store.io', `peer ${card.name}: GET /log/${path} answered ${res.status}`);
    return res.body;
  }

  /**
   * Fetches objects in one request; the result is aligned with `ids` (undefined: the peer does
   * not hold it). Every object is checked against its id; a peer that serves other bytes, or
   * frames out of order, is refused with 'object.id-mismatch' or 'input.malformed'.
   */
  async fetchObjects(card: SiteCard, ids: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (ids.length === 0) return [];
    if (ids.length > MAX_OBJECTS_PER_REQUEST) throw new EmbassyError('input.too-large', `fetch objects: ${ids.length} ids is over ${MAX_OBJECTS_PER_REQUEST}`);
    const body = new Uint8Array(ids.length * OBJECT_ID_SIZE);
    ids.forEach((id, i) => {
      if (id.length !== OBJECT_ID_SIZE) throw new EmbassyError('input.malformed', `fetch objects: id ${i} is not 32 bytes`);
      body.set(id, i * OBJECT_ID_SIZE);
    });
    const res = await this.open(card, 'POST', 'objects', body);
    const out: (Uint8Array | undefined)[] = [];
    let buf: Buffer = Buffer.alloc(0);
    const bad = (what: string): EmbassyError => new EmbassyError('input.malformed', `peer ${card.name}: objects response: ${what}`);
    try {
      if (res.statusCode !== 200) throw new EmbassyError('store.io', `peer ${card.name}: POST /objects answered ${res.statusCode}`);
      for await (const chunk of res as AsyncIterable<Buffer>) {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        // Parse every complete frame in the buffer.
        for (;;) {
          if (buf.length < OBJECT_ID_SIZE + 4) break;
          const i = out.length;
          if (i >= ids.length) throw bad('more frames than ids asked for');
          const id = new Uint8Array(buf.subarray(0, OBJECT_ID_SIZE));
          if (!bytesEqual(id, ids[i]!)) throw bad(`frame ${i} is for another id`);
          const len = buf.readUInt32BE(OBJECT_ID_SIZE);
          if (len === MISSING) {
            out.push(undefined);
            buf = buf.subarray(OBJECT_ID_SIZE + 4);
            continue;
          }
          if (len > MAX_OBJECT_SIZE) throw bad(`frame ${i} claims ${len} bytes`);
          if (buf.length < OBJECT_ID_SIZE + 4 + len) break;
          const bytes = new Uint8Array(buf.subarray(OBJECT_ID_SIZE + 4, OBJECT_ID_SIZE + 4 + len));
          if (!bytesEqual(sha256(bytes), id)) {
            throw new EmbassyError('object.id-mismatch', `peer ${card.name}: object ${toHex(id)} does not hash to its id`);
          }
          out.push(bytes);
          buf = buf.subarray(OBJECT_ID_SIZE + 4 + len);
        }
      }
      if (buf.length !== 0 || out.length !== ids.length) throw new EmbassyError('store.io', `peer ${card.name}: objects response ended after ${out.length} of ${ids.length} objects`);
    } catch (e) {
      res.destroy();
      const err = e instanceof EmbassyError ? e : new EmbassyError('store.io', `peer ${card.name}: POST /objects: ${(e as Error).message}`, { cause: e });
      // What arrived whole before the failure was checked frame by frame: keep it, so that a
      // connection cut again and again still makes progress.
      throw new PartialFetchError(err, [...out, ...new Array<undefined>(ids.length - out.length).fill(undefined)]);
    }
    return out;
  }

  /** A LogReader over the peer's /log/ resources. */
  logReader(card: SiteCard): HttpLogReader {
    return new HttpLogReader(this, card);
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

/**
 * A batch fetch that failed part way: `partial` (aligned with the ids asked for) holds the
 * objects that arrived whole and matched their ids before the failure; the error says why.
 */
export class PartialFetchError extends EmbassyError {
  constructor(
    cause: EmbassyError,
    readonly partial: (Uint8Array | undefined)[],
  ) {
    super(cause.code, cause.message, { cause, ...(cause.hint ? { hint: cause.hint } : {}) });
  }
}

export class HttpLogReader implements LogReader {
  constructor(
    private readonly client: PeerClient,
    readonly card: SiteCard,
  ) {}

  get(path: string): Promise<Uint8Array | undefined> {
    return this.client.getLogResource(this.card, path);
  }
}

function checkPinned(card: SiteCard, cert: PeerCertificate | undefined): Error | undefined {
  const got = cert?.raw ? toHex(sha256(new Uint8Array(cert.raw))) : cert?.fingerprint256 ? normalizeFingerprint(cert.fingerprint256) : undefined;
  if (got === card.tlsFingerprint) return undefined;
  return new EmbassyError('crypto.auth-failed', `peer ${card.name}: server certificate is not the one pinned by its card`);
}
