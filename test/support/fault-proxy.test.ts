// Tests of the fault-injecting proxy against a plain TCP echo server and a real mutual-TLS
// server: byte-exact pass-through, delay (order kept), cut after a byte budget, stall and
// release, backpressure (bounded holding), refuse, cutAll, seeded resets, loopback-only targets.
// "Nothing arrived" checks wait a short window: a broken proxy fails them, a correct one never.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { isEmbassyError } from '../../src/errors.ts';
import { createTlsIdentity, normalizeFingerprint } from '../../src/net/tls-identity.ts';
import { FaultProxy, type FaultPlan } from './fault-proxy.ts';

const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 8000 };

// --- harness ---------------------------------------------------------------------------------

/** Listens on 127.0.0.1:0; the server and its sockets are destroyed when the test ends. */
async function listen(t: TestContext, server: Server): Promise<{ host: string; port: number }> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => s.on('error', () => {}));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { host: '127.0.0.1', port: address.port };
}

function echoServer(t: TestContext): Promise<{ host: string; port: number }> {
  return listen(t, createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  }));
}

/** A server that records what each connection sent, and whether it ended. */
function recordingServer(t: TestContext, sinks: { bytes: Buffer[]; ended: boolean; socket: Socket }[], pauseOnConnect = false) {
  return listen(t, createServer({ pauseOnConnect }, (s) => {
    const sink = { bytes: [] as Buffer[], ended: false, socket: s };
    sinks.push(sink);
    s.on('error', () => {});
    s.on('data', (b: Buffer) => sink.bytes.push(b));
    s.on('end', () => {
      sink.ended = true;
      s.end();
    });
  }));
}

async function startProxy(t: TestContext, target: { host: string; port: number }, plan?: FaultPlan): Promise<FaultProxy> {
  const proxy = await FaultProxy.start(target, plan);
  t.after(() => proxy.close());
  return proxy;
}

function dial(t: TestContext, proxy: FaultProxy): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port: proxy.port }, () => resolve(s));
    s.on('error', reject);
    t.after(() => s.destroy());
  });
}

/** Everything a socket receives until it closes, and the error it closed with, if any. */
function outcome(s: Socket): Promise<{ bytes: Buffer; error: string | undefined }> {
  const chunks: Buffer[] = [];
  let error: string | undefined;
  s.on('data', (b: Buffer) => chunks.push(b));
  s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  return new Promise((resolve) => s.on('close', () => resolve({ bytes: Buffer.concat(chunks), error })));
}

/** Resolves with the first `n` bytes the socket receives; rejects if it closes first. */
function receive(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (b: Buffer): void => {
      chunks.push(b);
      got += b.length;
      if (got >= n) {
        done();
        resolve(Buffer.concat(chunks).subarray(0, n));
      }
    };
    const onClose = (): void => {
      done();
      reject(new Error(`socket closed after ${got} of ${n} bytes`));
    };
    const done = (): void => {
      s.off('data', onData);
      s.off('close', onClose);
    };
    s.on('data', onData);
    s.on('close', onClose);
  });
}

async function ping(s: Socket, text: string): Promise<void> {
  const msg = Buffer.from(text);
  const back = receive(s, msg.length);
  s.write(msg);
  assert.equal((await back).toString(), text);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `cond()` holds; throws after 5 s so that a broken proxy fails instead of hanging. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited > 5000) throw new Error(`gave up waiting: ${what}`);
    await sleep(10);
  }
}

/** Polls until `read()` stops changing (same value 5 polls in a row), and returns it. */
async function settle(read: () => number): Promise<number> {
  let last = read();
  for (let same = 0, polls = 0; same < 5; polls++) {
    if (polls > 200) throw new Error('gave up waiting for a steady value');
    await sleep(30);
    const now = read();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

const sha = (b: Buffer | Buffer[]): string => {
  const h = createHash('sha256');
  for (const x of Array.isArray(b) ? b : [b]) h.update(x);
  return h.digest('hex');
};

// --- tests -----------------------------------------------------------------------------------

test('fault proxy: a target outside 127.0.0.0/8 throws usage, and a bad plan too', async (t) => {
  const rejectsUsage = (target: { host: string; port: number }, plan?: FaultPlan): Promise<void> =>
    assert.rejects(
      FaultProxy.start(target, plan).then((p) => p.close()), // should it start, close it so the run ends
      (e) => isEmbassyError(e, 'usage'),
      `${JSON.stringify(target)} ${JSON.stringify(plan)}`,
    );
  for (const host of ['10.0.0.1', '192.168.1.1', '0.0.0.0', '128.0.0.1', '::1', '::ffff:127.0.0.1', 'localhost', 'example.org', '127.0.0.1.nip.io', '']) {
    await rejectsUsage({ host, port: 443 });
  }
  await rejectsUsage({ host: '127.0.0.1', port: 0 });
  for (const plan of [{ delayMs: -1 }, { cutAfterBytes: 1.5 }, { resetProbability: 2 }, { resetProbability: Number.NaN }, { seed: 0.5 }]) {
    await rejectsUsage({ host: '127.0.0.1', port: 443 }, plan);
  }
  const proxy = await startProxy(t, { host: '127.0.0.2', port: 443 });
  assert.throws(() => proxy.setPlan({ delayMs: Number.POSITIVE_INFINITY }), (e) => isEmbassyError(e, 'usage'));
  assert.match(proxy.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(proxy.url, `https://127.0.0.1:${proxy.port}`);
});

test('fault proxy: plain TCP passes through byte-exact, 4 MiB each way', TIMEOUT, async (t) => {
  const proxy = await startProxy(t, await echoServer(t));
  const s = await dial(t, proxy);
  const payload = randomBytes(4 * MiB);
  const back = receive(s, payload.length);
  s.write(payload);
  assert.ok((await back).equals(payload));
  assert.deepEqual(proxy.stats(), { connections: 1, bytesUp: 4 * MiB, bytesDown: 4 * MiB, cuts: 0, resets: 0 });
});

test('fault proxy: mutual TLS passes through end to end, byte-exact, 3 MiB each way', TIMEOUT, async (t) => {
  const home = createTlsIdentity('home', new Date());
  const mirror = createTlsIdentity('mirror', new Date());
  const target = await listen(
    t,
    createTlsServer({ key: home.keyPem, cert: home.certPem, ca: [mirror.certPem], requestCert: true, rejectUnauthorized: true }, (s) => {
      s.on('error', () => {});
      s.pipe(s);
    }),
  );
  const proxy = await startProxy(t, target);
  const s = await new Promise<TLSSocket>((resolve, reject) => {
    const c = tlsConnect(
      {
        host: '127.0.0.1',
        port: proxy.port,
        key: mirror.keyPem,
        cert: mirror.certPem,
        ca: [home.certPem],
        checkServerIdentity: (_host, cert) =>
          normalizeFingerprint(cert.fingerprint256) === home.fingerprint ? undefined : new Error('not the pinned certificate'),
      },
      () => resolve(c),
    );
    c.on('error', reject);
    t.after(() => c.destroy());
  });
  assert.equal(s.authorized, true);
  assert.equal(normalizeFingerprint(s.getPeerCertificate().fingerprint256), home.fingerprint);
  const payload = randomBytes(3 * MiB);
  const back = receive(s, payload.length);
  s.write(payload);
  assert.ok((await back).equals(payload));
  const st = proxy.stats();
  // The proxy carried the ciphertext: records, MACs and handshake on top of the payload.
  assert.ok(st.bytesUp > payload.length && st.bytesDown > payload.length, JSON.stringify(st));
});

test('fault proxy: delay holds data until it is due and keeps order when the delay changes', TIMEOUT, async (t) => {
  const sinks: { bytes: Buffer[]; ended: boolean; socket: Socket }[] = [];
  const proxy = await startProxy(t, await recordingServer(t, sinks), { delayMs: 3_600_000 });
  const s = await dial(t, proxy);
  s.write('first');
  await sleep(150);
  assert.equal(proxy.stats().bytesUp, 0, 'an hour-long delay forwarded nothing yet');
  // Decreasing delays: chunks held under a longer delay must not be overtaken by later ones.
  const sent: string[] = ['first'];
  for (const [i, delayMs] of [30, 5, 0, 20, 1].entries()) {
    proxy.setPlan({ delayMs });
    for (let j = 0; j < 20; j++) {
      const line = `<${i}.${j}>`;
      sent.push(line);
      s.write(line);
      if (j % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await sleep(5);
  }
  const expected = sent.join('');
  await until(() => Buffer.concat(sinks[0]?.bytes ?? []).length >= expected.length, 'all lines at the server');
  assert.equal(Buffer.concat(sinks[0]!.bytes).toString(), expected);
});

test('fault proxy: cutAfterBytes cuts once the budget is used; new connections work after setPlan({})', TIMEOUT, async (t) => {
  const proxy = await startProxy(t, await echoServer(t), { cutAfterBytes: 100_000 });
  const s = await dial(t, proxy);
  const result = outcome(s);
  s.write(randomBytes(1 * MiB));
  const { bytes } = await result;
  assert.ok(bytes.length <= 100_000, `client got ${bytes.length} bytes`);
  assert.equal(proxy.stats().bytesDown, 100_000);
  assert.equal(proxy.stats().cuts, 1);

  proxy.setPlan({});
  const s2 = await dial(t, proxy);
  const payload = randomBytes(1 * MiB);
  const back = receive(s2, payload.length);
  s2.write(payload);
  assert.ok((await back).equals(payload));

  // A budget set on an open connection counts from its start: already spent, so the next
  // upstream chunk cuts it without forwarding anything.
  await ping(s2, 'still here');
  proxy.setPlan({ cutAfterBytes: 1000 });
  const r2 = outcome(s2);
  s2.write('one more');
  assert.equal((await r2).bytes.length, 0);
  assert.equal(proxy.stats().cuts, 2);
});

test('fault proxy: a cut in the middle of a TLS stream reaches the TLS client as a failure', TIMEOUT, async (t) => {
  const home = createTlsIdentity('home', new Date());
  const payload = randomBytes(2 * MiB);
  const target = await listen(
    t,
    createTlsServer({ key: home.keyPem, cert: home.certPem }, (s) => {
      s.on('error', () => {});
      s.end(payload);
    }),
  );
  const proxy = await startProxy(t, target, { cutAfterBytes: 500_000 });
  const c = tlsConnect({ host: '127.0.0.1', port: proxy.port, ca: [home.certPem] });
  t.after(() => c.destroy());
  // Node's TLS socket reports a FIN without close_notify as a plain 'end': only the missing
  // bytes show the cut, so callers must check their framing (HTTP content-length does).
  const { bytes } = await outcome(c);
  assert.ok(bytes.length < payload.length, `got ${bytes.length}`);
  assert.ok(payload.subarray(0, bytes.length).equals(bytes), 'what arrived is a prefix');
  assert.equal(proxy.stats().cuts, 1);
});

test('fault proxy: stall holds data and FIN without closing; setPlan({}) forwards what was held', TIMEOUT, async (t) => {
  const sinks: { bytes: Buffer[]; ended: boolean; socket: Socket }[] = [];
  const proxy = await startProxy(t, await recordingServer(t, sinks));
  const s = await dial(t, proxy);
  s.write('before;');
  await until(() => Buffer.concat(sinks[0]?.bytes ?? []).length === 7, 'first bytes at the server');

  proxy.setPlan({ stall: true });
  let closed = false;
  s.on('close', () => (closed = true));
  s.write('held-1;');
  s.write('held-2;');
  s.end();
  await sleep(150);
  assert.equal(Buffer.concat(sinks[0]!.bytes).toString(), 'before;', 'nothing passed during the stall');
  assert.equal(sinks[0]!.ended, false, 'the FIN was held too');
  assert.equal(closed, false, 'the client connection stays open');

  proxy.setPlan({});
  await outcome(s); // the server ends after our FIN; that end is forwarded and the socket closes
  assert.equal(Buffer.concat(sinks[0]!.bytes).toString(), 'before;held-1;held-2;');
  assert.equal(sinks[0]!.ended, true);
});

test('fault proxy: during a stall the proxy holds a bounded amount and the sender is pushed back', TIMEOUT, async (t) => {
  const sinks: { bytes: Buffer[]; ended: boolean; socket: Socket }[] = [];
  const proxy = await startProxy(t, await recordingServer(t, sinks), { stall: true });
  const s = await dial(t, proxy);
  const payload = randomBytes(32 * MiB);
  let written = false;
  s.write(payload, () => (written = true));
  s.end();
  const stuck = await settle(() => s.writableLength);
  // A proxy that read without pausing would take all 32 MiB into memory and the write would finish.
  assert.equal(written, false);
  assert.ok(stuck > 0);
  assert.equal(proxy.stats().bytesUp, 0);

  proxy.setPlan({});
  await outcome(s);
  assert.equal(written, true);
  assert.equal(sha(sinks[0]!.bytes), sha(payload));
});

test('fault proxy: toward an upstream that does not read, forwarding stops at what the kernel takes', TIMEOUT, async (t) => {
  const sinks: { bytes: Buffer[]; ended: boolean; socket: Socket }[] = [];
  const proxy = await startProxy(t, await recordingServer(t, sinks, true));
  const s = await dial(t, proxy);
  const payload = randomBytes(32 * MiB);
  s.write(payload);
  s.end();
  const forwarded = await settle(() => proxy.stats().bytesUp);
  // Ignoring write()'s backpressure would hand all 32 MiB to the upstream socket's buffer.
  assert.ok(forwarded < 16 * MiB, `forwarded ${forwarded} bytes to a server that reads nothing`);

  await until(() => sinks.length === 1, 'upstream connection');
  sinks[0]!.socket.resume();
  await outcome(s);
  assert.equal(sha(sinks[0]!.bytes), sha(payload));
  assert.equal(proxy.stats().bytesUp, payload.length);
});

test('fault proxy: refuse resets new connections and leaves open ones alone', TIMEOUT, async (t) => {
  const proxy = await startProxy(t, await echoServer(t));
  const open = await dial(t, proxy);
  await ping(open, 'a');
  proxy.setPlan({ refuse: true });
  const refused = outcome(netConnect({ host: '127.0.0.1', port: proxy.port }));
  const { bytes, error } = await refused;
  assert.equal(error, 'ECONNRESET');
  assert.equal(bytes.length, 0);
  await ping(open, 'b');
  assert.equal(proxy.stats().resets, 1);
  assert.equal(proxy.stats().connections, 2);

  proxy.setPlan({});
  await ping(await dial(t, proxy), 'c');
});

test('fault proxy: cutAll closes every open connection; new ones work', TIMEOUT, async (t) => {
  const proxy = await startProxy(t, await echoServer(t));
  const a = await dial(t, proxy);
  const b = await dial(t, proxy);
  await ping(a, 'a');
  await ping(b, 'b');
  const ends = [outcome(a), outcome(b)];
  proxy.cutAll();
  await Promise.all(ends);
  assert.equal(proxy.stats().cuts, 2);
  await ping(await dial(t, proxy), 'c');
});

test('fault proxy: resetProbability resets, and a seed replays the same schedule', TIMEOUT, async (t) => {
  const target = await echoServer(t);
  const always = await startProxy(t, target, { resetProbability: 1 });
  const s = await dial(t, always);
  const r = outcome(s);
  s.write('x');
  assert.equal((await r).error, 'ECONNRESET');
  assert.deepEqual(always.stats(), { connections: 1, bytesUp: 0, bytesDown: 0, cuts: 0, resets: 1 });

  // Ping-pong keeps one chunk per message, so the draws line up run after run; a plan with a
  // seed restarts the PRNG.
  const proxy = await startProxy(t, target);
  async function roundTripsBeforeReset(seed: number): Promise<number> {
    proxy.setPlan({ resetProbability: 0.1, seed });
    const resets = proxy.stats().resets;
    const c = await dial(t, proxy);
    c.on('error', () => {});
    let n = 0;
    try {
      for (; n < 200; n++) await ping(c, `ping ${String(n).padStart(4, '0')}`);
    } catch {
      // reset: the count so far is the answer
    }
    assert.equal(proxy.stats().resets - resets, n < 200 ? 1 : 0);
    return n;
  }
  const first = await roundTripsBeforeReset(42);
  assert.ok(first < 200, 'with p = 0.1 over 400 draws a reset comes');
  assert.equal(await roundTripsBeforeReset(42), first);
  const others = [];
  for (const seed of [1, 2, 3, 4, 5]) others.push(await roundTripsBeforeReset(seed));
  assert.ok(new Set([first, ...others]).size > 1, `the seed matters: ${[first, ...others].join(' ')}`);
  assert.equal(await roundTripsBeforeReset(42), first);
});

test('fault proxy: close stops listening and ends open connections', TIMEOUT, async (t) => {
  const proxy = await FaultProxy.start(await echoServer(t));
  t.after(() => proxy.close()); // a second close is harmless
  const s = await dial(t, proxy);
  await ping(s, 'a');
  const ended = outcome(s);
  await proxy.close();
  await ended;
  const refused = await outcome(netConnect({ host: '127.0.0.1', port: proxy.port }));
  assert.equal(refused.error, 'ECONNREFUSED');
});
