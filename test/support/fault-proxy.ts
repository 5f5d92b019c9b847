// A TCP proxy on 127.0.0.1 that puts network faults between two sites in tests (issue 4): delay,
// stall (a silent partition), cut after a byte budget, refuse, and random resets from a seeded
// PRNG. Mutual TLS passes through it end to end, so it can do to site traffic exactly what a
// network attacker can (hold, delay, drop, cut) and nothing more: it never reads or alters bytes.
// Loopback targets only, node:net only; it honours backpressure in both directions.
import { connect, createServer, isIPv4, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { EmbassyError } from '../../src/errors.ts';

export interface FaultPlan {
  /** Extra delay per forwarded chunk, ms (both directions). A latency, not a throughput limit:
   *  a chunk leaves `delayMs` after it arrived, in arrival order. */
  delayMs?: number;
  /** Cut (destroy both sockets) once this many bytes went upstream->client on one connection.
   *  Exactly this many bytes are forwarded first (counting from the connection's start, also
   *  for a budget set on an open connection); the cut comes with the chunk that reaches it. */
  cutAfterBytes?: number;
  /** Stop forwarding, hold data, never close: a silent partition. Ends, closes and resets from
   *  either side are held too. When lifted, everything held is forwarded in order. */
  stall?: boolean;
  /** Accept new connections and reset them (RST) at once. Open connections are not touched. */
  refuse?: boolean;
  /** Probability 0..1, drawn per forwarded chunk in either direction, that the connection is
   *  reset (RST to both sides). Chunk boundaries follow the kernel, so only traffic that is
   *  one chunk per message (request/response ping-pong) replays exactly for a seed. */
  resetProbability?: number;
  /** Seed of the PRNG behind resetProbability; default 1. A plan with a seed restarts it. */
  seed?: number;
}

export interface FaultProxyStats {
  /** Connections accepted, refused ones included. */
  connections: number;
  /** Bytes forwarded client->upstream. */
  bytesUp: number;
  /** Bytes forwarded upstream->client. */
  bytesDown: number;
  /** Connections cut by cutAfterBytes or cutAll. */
  cuts: number;
  /** Connections reset by refuse or resetProbability (resets passed on from a peer not counted). */
  resets: number;
}

/** Data held in one direction before the source is paused, and the level at which it resumes. */
const HOLD_HIGH = 256 * 1024;
const HOLD_LOW = 64 * 1024;
/** A cut waits for its last slice to reach the kernel, but not forever if the peer stopped reading. */
const CUT_FLUSH_MS = 250;

export class FaultProxy {
  readonly port: number;
  readonly url: string;
  private plan: FaultPlan = {};
  private rng: () => number = mulberry32(1);
  private readonly open = new Set<Connection>();
  private readonly counts: FaultProxyStats = { connections: 0, bytesUp: 0, bytesDown: 0, cuts: 0, resets: 0 };

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new EmbassyError('usage', 'fault proxy: listening socket has no port');
    this.port = address.port;
    this.url = `https://127.0.0.1:${this.port}`;
  }

  /** Listens on 127.0.0.1 on a free port and forwards to `target`, which must be in 127.0.0.0/8. */
  static async start(target: { host: string; port: number }, plan: FaultPlan = {}): Promise<FaultProxy> {
    checkTarget(target);
    checkPlan(plan);
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const proxy = new FaultProxy(server, { host: target.host, port: target.port });
    proxy.setPlan(plan);
    server.on('connection', (socket) => proxy.accept(socket));
    server.on('error', () => {}); // accept errors (EMFILE, …) must not crash a test run
    return proxy;
  }

  /** Replaces the plan; it applies to new and open connections alike. */
  setPlan(plan: FaultPlan): void {
    checkPlan(plan);
    this.plan = { ...plan };
    if (plan.seed !== undefined) this.rng = mulberry32(plan.seed);
    for (const c of this.open) c.kick();
  }

  /** Destroys every open connection now (each counts as a cut). */
  cutAll(): void {
    for (const c of [...this.open]) c.cut(0, undefined);
  }

  stats(): FaultProxyStats {
    return { ...this.counts };
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.open]) c.destroy();
    await closed;
  }

  private accept(client: Socket): void {
    this.counts.connections++;
    client.on('error', () => {});
    if (this.plan.refuse) {
      this.counts.resets++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    const conn = new Connection(client, upstream, {
      plan: () => this.plan,
      draw: () => this.rng(),
      counts: this.counts,
      gone: (c) => this.open.delete(c),
    });
    this.open.add(conn);
  }
}

interface ProxyState {
  plan(): FaultPlan;
  draw(): number;
  counts: FaultProxyStats;
  gone(c: Connection): void;
}

/** One direction of a connection: chunks read from `src`, held, then written to `dst`. */
interface Pipe {
  src: Socket;
  dst: Socket;
  down: boolean;
  held: { chunk: Buffer; at: number }[];
  heldBytes: number;
  /** What `src` did after its last byte: nothing yet, FIN, or closed (by error: reset). */
  srcDone: 'no' | 'end' | 'close' | 'reset';
  /** How much of srcDone was passed on to dst. */
  passed: 'no' | 'end' | 'close';
  timer: NodeJS.Timeout | undefined;
}

class Connection {
  private readonly up: Pipe;
  private readonly down: Pipe;
  private bytesDown = 0;
  /** Set when the proxy itself ended the connection (cut, reset, close): nothing moves after it. */
  private dead = false;
  private closed = 0;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly proxy: ProxyState,
  ) {
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.up = this.pipe(client, upstream, false);
    this.down = this.pipe(upstream, client, true);
  }

  private pipe(src: Socket, dst: Socket, down: boolean): Pipe {
    const p: Pipe = { src, dst, down, held: [], heldBytes: 0, srcDone: 'no', passed: 'no', timer: undefined };
    src.on('error', () => {}); // the 'close' that follows carries it
    src.on('data', (chunk: Buffer) => {
      if (this.dead) return;
      p.held.push({ chunk, at: performance.now() });
      p.heldBytes += chunk.length;
      if (p.heldBytes >= HOLD_HIGH) src.pause();
      this.pump(p);
    });
    src.on('end', () => {
      if (p.srcDone === 'no') p.srcDone = 'end';
      this.pump(p);
    });
    src.on('close', (hadError) => {
      if (hadError) p.srcDone = 'reset';
      else if (p.srcDone !== 'reset') p.srcDone = 'close';
      this.pump(p);
      if (++this.closed === 2) this.finish();
    });
    dst.on('drain', () => this.pump(p));
    return p;
  }

  /** The plan changed: re-evaluate both directions. */
  kick(): void {
    this.pump(this.up);
    this.pump(this.down);
  }

  private pump(p: Pipe): void {
    clearTimeout(p.timer);
    p.timer = undefined;
    if (this.dead) return;
    const plan = this.proxy.plan();
    if (plan.stall) return;
    if (p.dst.destroyed) {
      // Nothing more can reach that side; whatever src still sends is dropped, and src itself is
      // ended or reset by the other direction once dst's own close has been passed on.
      p.held.length = 0;
      p.heldBytes = 0;
      this.resumeIfLow(p);
      return;
    }
    while (p.held.length > 0) {
      if (p.dst.writableNeedDrain) {
        this.resumeIfLow(p);
        return; // 'drain' pumps again
      }
      const head = p.held[0]!;
      const wait = head.at + (plan.delayMs ?? 0) - performance.now();
      if (wait > 0) {
        p.timer = setTimeout(() => this.pump(p), Math.ceil(wait));
        this.resumeIfLow(p);
        return;
      }
      if (plan.resetProbability !== undefined && plan.resetProbability > 0 && this.proxy.draw() < plan.resetProbability) {
        this.reset();
        return;
      }
      p.held.shift();
      p.heldBytes -= head.chunk.length;
      let chunk = head.chunk;
      if (p.down && plan.cutAfterBytes !== undefined) {
        const left = Math.max(0, plan.cutAfterBytes - this.bytesDown);
        if (chunk.length >= left) {
          this.cut(left, chunk.subarray(0, left));
          return;
        }
      }
      this.count(p, chunk.length);
      p.dst.write(chunk);
    }
    this.resumeIfLow(p);
    this.passOn(p);
  }

  /** Once everything held is out, passes src's FIN, close or reset on to dst. */
  private passOn(p: Pipe): void {
    const dst = p.dst;
    if (p.srcDone === 'no' || p.passed === 'close') return;
    if (p.srcDone === 'reset') {
      p.passed = 'close';
      dst.resetAndDestroy(); // a reset from one side reaches the other as a reset
      return;
    }
    if (p.passed === 'no') {
      p.passed = 'end';
      dst.end(); // FIN for FIN; the other direction may go on (half-close)
    }
    if (p.srcDone === 'close') {
      p.passed = 'close'; // src is gone: close dst too once its last bytes are flushed
      if (dst.writableFinished) dst.destroy();
      else dst.once('finish', () => dst.destroy());
    }
  }

  private resumeIfLow(p: Pipe): void {
    if (p.heldBytes <= HOLD_LOW && p.src.isPaused() && !p.src.destroyed) p.src.resume();
  }

  private count(p: Pipe, n: number): void {
    if (p.down) {
      this.bytesDown += n;
      this.proxy.counts.bytesDown += n;
    } else {
      this.proxy.counts.bytesUp += n;
    }
  }

  /** Cuts the connection (FIN, or RST where the kernel still holds unread data) after `last`
   *  (a slice of `n` bytes) has been handed to the client socket. */
  cut(n: number, last: Buffer | undefined): void {
    if (this.dead) return;
    this.stop();
    this.proxy.counts.cuts++;
    if (last === undefined || n === 0) {
      this.destroySockets();
      return;
    }
    this.count(this.down, n);
    const fallback = setTimeout(() => this.destroySockets(), CUT_FLUSH_MS);
    fallback.unref();
    this.client.write(last, () => {
      clearTimeout(fallback);
      this.destroySockets();
    });
  }

  /** Resets both sides (RST). */
  private reset(): void {
    if (this.dead) return;
    this.stop();
    this.proxy.counts.resets++;
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
  }

  /** Destroys both sockets without counting a fault (proxy shutdown). */
  destroy(): void {
    this.stop();
    this.destroySockets();
  }

  private stop(): void {
    this.dead = true;
    for (const p of [this.up, this.down]) {
      clearTimeout(p.timer);
      p.held.length = 0;
      p.heldBytes = 0;
      p.src.pause();
    }
  }

  private destroySockets(): void {
    this.client.destroy();
    this.upstream.destroy();
  }

  private finish(): void {
    this.stop();
    this.proxy.gone(this);
  }
}

function checkTarget(target: { host: string; port: number }): void {
  const { host, port } = target;
  if (!isIPv4(host) || host.split('.')[0] !== '127') {
    throw new EmbassyError('usage', `fault proxy: target host ${JSON.stringify(host)} is not an IPv4 address in 127.0.0.0/8`, {
      hint: 'the proxy is for loopback tests only; name the target by address, e.g. 127.0.0.1',
    });
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new EmbassyError('usage', `fault proxy: target port expected an integer 1..65535, got ${port}`);
  }
}

function checkPlan(plan: FaultPlan): void {
  const { delayMs, cutAfterBytes, resetProbability, seed } = plan;
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new EmbassyError('usage', `fault proxy: delayMs expected a finite number >= 0, got ${delayMs}`);
  }
  if (cutAfterBytes !== undefined && !(Number.isSafeInteger(cutAfterBytes) && cutAfterBytes >= 0)) {
    throw new EmbassyError('usage', `fault proxy: cutAfterBytes expected an integer >= 0, got ${cutAfterBytes}`);
  }
  if (resetProbability !== undefined && !(resetProbability >= 0 && resetProbability <= 1)) {
    throw new EmbassyError('usage', `fault proxy: resetProbability expected 0..1, got ${resetProbability}`);
  }
  if (seed !== undefined && !Number.isSafeInteger(seed)) {
    throw new EmbassyError('usage', `fault proxy: seed expected an integer, got ${seed}`);
  }
}

/** mulberry32: a small 32-bit PRNG, plenty for reproducible fault schedules (not for secrets). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
