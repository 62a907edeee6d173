import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { systemClock } from '../../shared/clock.js';
import { RelayManager, type RelayEndInfo, type RelayOpenRequest } from './relay-manager.js';

// Loopback only: the relay listens on 127.0.0.1, the expected peer connects from 127.0.0.2,
// intruders from 127.0.0.3 (all of 127/8 is loopback on Linux).
const PEER = '127.0.0.2';
const INTRUDER = '127.0.0.3';
const silent = { info() {}, warn() {}, error() {}, child() { return silent; } };
/** A port range unlikely to collide with concurrently running tests. */
const BASE = 42000 + (process.pid % 500) * 20;

interface Harness {
  mgr: RelayManager;
  ended: Promise<[string, RelayEndInfo]>;
  connected: Promise<[string, { peer: string; target: string }]>;
  refused: string[];
  endedCount: () => number;
}

function harness(opts: { min?: number; max?: number; maxRelays?: number } = {}): Harness {
  let endedCount = 0;
  const refused: string[] = [];
  let resolveEnded!: (v: [string, RelayEndInfo]) => void;
  let resolveConnected!: (v: [string, { peer: string; target: string }]) => void;
  const ended = new Promise<[string, RelayEndInfo]>((r) => (resolveEnded = r));
  const connected = new Promise<[string, { peer: string; target: string }]>((r) => (resolveConnected = r));
  const mgr = new RelayManager({
    portRange: { min: opts.min ?? BASE, max: opts.max ?? BASE + 9 },
    maxRelays: opts.maxRelays ?? 10,
    clock: systemClock,
    logger: silent,
    events: {
      onConnected: (id, info) => resolveConnected([id, info]),
      onEnded: (id, info) => {
        endedCount++;
        resolveEnded([id, info]);
      },
      onRefusedConnection: (_id, from) => refused.push(from),
    },
  });
  return { mgr, ended, connected, refused, endedCount: () => endedCount };
}

/** A talk peer standing in for the callee: accepts one connection and hands it out. */
async function targetServer(opts: net.ServerOpts = {}): Promise<{ port: number; conn: Promise<net.Socket>; close: () => void }> {
  const server = net.createServer(opts);
  const conn = new Promise<net.Socket>((r) => server.once('connection', r));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, conn, close: () => server.close() };
}

function request(callId: string, targetPort: number, extra: Partial<RelayOpenRequest> = {}): RelayOpenRequest {
  return {
    callId,
    listenAddress: '127.0.0.1',
    expectedPeer: PEER,
    target: { address: '127.0.0.1', port: targetPort },
    acceptDeadlineMs: 5_000,
    idleTimeoutMs: 5_000,
    maxDurationMs: 10_000,
    sanitize: false,
    ...extra,
  };
}

async function connectFrom(localAddress: string, port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port, localAddress });
  await once(s, 'connect');
  return s;
}

/** Resolves when `s` is refused or closed by the other end without sending data. */
async function refusedOrClosed(localAddress: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    let data = 0;
    s.on('data', (d: Buffer) => (data += d.length));
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    s.on('close', () => resolve(data === 0 ? 'closed' : 'got-data'));
  });
}

/** Reads until `n` bytes arrived. */
async function readN(s: net.Socket, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const [chunk] = (await once(s, 'data')) as [Buffer];
    parts.push(chunk);
    have += chunk.length;
  }
  return Buffer.concat(parts);
}

test('RelayManager relays both directions with the edit characters and counts bytes', async () => {
  const h = harness();
  const tgt = await targetServer();
  const res = await h.mgr.open(request('c1', tgt.port));
  assert.ok(res.ok);
  assert.deepEqual(h.mgr.listening(), [res.port]);
  const peer = await connectFrom(PEER, res.port);
  const callee = await tgt.conn;
  const [id, info] = await h.connected;
  assert.equal(id, 'c1');
  assert.match(info.peer, /^127\.0\.0\.2:\d+$/);
  assert.equal(info.target, `127.0.0.1:${tgt.port}`);
  assert.deepEqual(h.mgr.listening(), []);

  peer.write(Buffer.from([0x7f, 0x15, 0x17]));
  assert.deepEqual(await readN(callee, 3), Buffer.from([0x7f, 0x15, 0x17]));
  callee.write(Buffer.from([0x08, 0x15, 0x17]));
  assert.deepEqual(await readN(peer, 3), Buffer.from([0x08, 0x15, 0x17]));
  peer.write('hello');
  assert.equal((await readN(callee, 5)).toString(), 'hello');
  callee.write('hi there');
  assert.equal((await readN(peer, 8)).toString(), 'hi there');

  peer.end();
  const [, end] = await h.ended;
  assert.equal(end.bytesIn, 8);
  assert.equal(end.bytesOut, 11);
  assert.equal(end.reason, 'peer-closed');
  assert.equal(h.endedCount(), 1);
  assert.equal(h.mgr.size, 0);
  tgt.close();
});

test('RelayManager refuses a connection from the wrong peer and still accepts the expected one', async () => {
  const h = harness();
  const tgt = await targetServer();
  const res = await h.mgr.open(request('c2', tgt.port));
  assert.ok(res.ok);
  const outcome = await refusedOrClosed(INTRUDER, res.port);
  assert.ok(['ECONNRESET', 'closed'].includes(outcome), outcome);
  assert.equal(h.refused.length, 1);
  assert.match(h.refused[0]!, /^127\.0\.0\.3:\d+$/);
  assert.deepEqual(h.mgr.listening(), [res.port]);
  const peer = await connectFrom(PEER, res.port);
  await h.connected;
  h.mgr.close('c2');
  const [, end] = await h.ended;
  assert.equal(end.reason, 'closed');
  peer.destroy();
  tgt.close();
});

test('RelayManager accepts exactly one connection: a second one is refused', async () => {
  const h = harness();
  const tgt = await targetServer();
  const res = await h.mgr.open(request('c3', tgt.port));
  assert.ok(res.ok);
  const peer = await connectFrom(PEER, res.port);
  await h.connected;
  const outcome = await refusedOrClosed(PEER, res.port);
  assert.ok(['ECONNREFUSED', 'ECONNRESET', 'closed'].includes(outcome), outcome);
  h.mgr.closeAll();
  assert.equal((await h.ended)[1].reason, 'shutdown');
  peer.destroy();
  tgt.close();
});

test('RelayManager closes an unused listener at its accept deadline', async () => {
  const h = harness();
  const res = await h.mgr.open(request('c4', 9, { acceptDeadlineMs: 100 }));
  assert.ok(res.ok);
  const [id, end] = await h.ended;
  assert.equal(id, 'c4');
  assert.equal(end.reason, 'accept-timeout');
  assert.deepEqual(h.mgr.listening(), []);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await refusedOrClosed(PEER, res.port), 'ECONNREFUSED');
});

test('RelayManager sanitises both directions after the untouched edit characters', async () => {
  const h = harness();
  const tgt = await targetServer();
  const res = await h.mgr.open(request('c5', tgt.port, { sanitize: true }));
  assert.ok(res.ok);
  const peer = await connectFrom(PEER, res.port);
  const callee = await tgt.conn;
  // Edit characters (one of them ESC) in the same segment as an escape sequence.
  peer.write(Buffer.from([0x7f, 0x15, 0x1b, 0x1b, 0x5b, 0x32, 0x4a, 0x15]));
  assert.deepEqual(await readN(callee, 9), Buffer.from([0x7f, 0x15, 0x1b, 0x5e, 0x5b, 0x5b, 0x32, 0x4a, 0x15]));
  callee.write(Buffer.from([0x08, 0x15, 0x17]));
  assert.deepEqual(await readN(peer, 3), Buffer.from([0x08, 0x15, 0x17]));
  callee.write(Buffer.from('\x1b]0;x\x07\xc2\x9bz\x15', 'latin1'));
  assert.equal((await readN(peer, 13)).toString('latin1'), '^[]0;x^G^[[z\x15');
  peer.destroy();
  const [, end] = await h.ended;
  assert.equal(end.bytesIn, 8);
  assert.equal(end.bytesOut, 3 + 10);
  tgt.close();
});

test('RelayManager ends an idle relay after idleTimeoutMs', async () => {
  const h = harness();
  const tgt = await targetServer();
  const res = await h.mgr.open(request('c6', tgt.port, { idleTimeoutMs: 150 }));
  assert.ok(res.ok);
  const peer = await connectFrom(PEER, res.port);
  await h.connected;
  const t0 = Date.now();
  const closed = once(peer, 'close');
  const [, end] = await h.ended;
  assert.equal(end.reason, 'idle-timeout');
  assert.ok(Date.now() - t0 >= 140);
  await closed;
  tgt.close();
});

test('RelayManager ends a busy relay at maxDurationMs', async () => {
  const h = harness();
  const tgt = await targetServer();
  const res = await h.mgr.open(request('c7', tgt.port, { idleTimeoutMs: 120, maxDurationMs: 400 }));
  assert.ok(res.ok);
  const peer = await connectFrom(PEER, res.port);
  peer.on('error', () => undefined);
  await h.connected;
  const typing = setInterval(() => peer.write('k'), 30);
  const [, end] = await h.ended;
  clearInterval(typing);
  assert.equal(end.reason, 'max-duration');
  assert.ok(end.durationMs >= 390 && end.durationMs < 1_000, String(end.durationMs));
  assert.ok(end.bytesIn >= 5);
  tgt.close();
});

test('RelayManager answers limit and no-port as values', async () => {
  const h = harness({ min: BASE + 10, max: BASE + 10, maxRelays: 1 });
  const first = await h.mgr.open(request('c8', 9));
  assert.ok(first.ok);
  const limited = await h.mgr.open(request('c9', 9));
  assert.deepEqual(limited.ok ? 'ok' : limited.reason, 'limit');
  h.mgr.closeAll();
  await h.ended;

  const blocker = net.createServer().listen(BASE + 11, '127.0.0.1');
  await once(blocker, 'listening');
  const h2 = harness({ min: BASE + 11, max: BASE + 11 });
  const none = await h2.mgr.open(request('c10', 9));
  assert.deepEqual(none.ok ? 'ok' : none.reason, 'no-port');
  blocker.close();
});

test('RelayManager reports a failed onward connect once', async () => {
  const h = harness();
  const tgt = await targetServer();
  tgt.close(); // nothing listens there any more
  const res = await h.mgr.open(request('c11', tgt.port));
  assert.ok(res.ok);
  const peer = await connectFrom(PEER, res.port);
  peer.on('error', () => undefined);
  const [, end] = await h.ended;
  assert.equal(end.reason, 'connect-error:ECONNREFUSED');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.endedCount(), 1);
});

test('RelayManager reuses a relay port for a new call while the call that used it still relays', async () => {
  const port = BASE + 15;
  const h = harness({ min: port, max: port });
  const tgt = await targetServer();
  const first = await h.mgr.open(request('r1', tgt.port));
  assert.deepEqual(first, { ok: true, port });
  const peer = await connectFrom(PEER, port);
  const callee = await tgt.conn;
  await h.connected;
  // The one port of the range now carries a live call but no listener: a second call gets it.
  const second = await h.mgr.open(request('r2', tgt.port));
  assert.deepEqual(second, { ok: true, port });
  assert.deepEqual(h.mgr.listening(), [port]);
  // The first call still relays.
  peer.write(Buffer.from([0x7f, 0x15, 0x17, 0x41]));
  assert.deepEqual(await readN(callee, 4), Buffer.from([0x7f, 0x15, 0x17, 0x41]));
  h.mgr.closeAll();
  peer.destroy();
  callee.destroy();
  tgt.close();
});

test('RelayManager forwards a half-close: the other direction still delivers its later bytes', async () => {
  const h = harness({ min: BASE + 16, max: BASE + 16 });
  const tgt = await targetServer({ allowHalfOpen: true });
  const res = await h.mgr.open(request('hc1', tgt.port));
  assert.ok(res.ok);
  const peer = await connectFrom(PEER, res.port);
  const callee = await tgt.conn;
  await h.connected;
  const peerGot: Buffer[] = [];
  peer.on('data', (d: Buffer) => peerGot.push(d));
  const peerEnded = once(peer, 'end');
  peer.end(Buffer.from([0x7f, 0x15, 0x17, 0x61])); // the peer says its last word and half-closes
  const calleeGot: Buffer[] = [];
  callee.on('data', (d: Buffer) => calleeGot.push(d));
  await once(callee, 'end'); // the FIN crossed the relay
  assert.deepEqual(Buffer.concat(calleeGot), Buffer.from([0x7f, 0x15, 0x17, 0x61]));
  callee.end(Buffer.from([0x08, 0x15, 0x17, ...Buffer.from('late reply')]));
  await peerEnded;
  assert.equal(Buffer.concat(peerGot).subarray(3).toString('latin1'), 'late reply');
  const [, end] = await h.ended;
  assert.equal(end.bytesOut, 13);
  tgt.close();
});

test('RelayManager.stats() counts bytes while the call is live, and onBytes reports them as they flow', async () => {
  const seen: Array<[string, number]> = [];
  const mgr = new RelayManager({
    portRange: { min: BASE + 17, max: BASE + 17 },
    maxRelays: 2,
    clock: systemClock,
    logger: silent,
    events: { onConnected() {}, onEnded() {}, onRefusedConnection() {}, onBytes: (_id, dir, n) => seen.push([dir, n]) },
  });
  const tgt = await targetServer();
  const res = await mgr.open(request('st1', tgt.port));
  assert.ok(res.ok);
  assert.deepEqual(mgr.stats('st1'), { bytesIn: 0, bytesOut: 0 });
  assert.equal(mgr.stats('nope'), undefined);
  const peer = await connectFrom(PEER, res.port);
  const callee = await tgt.conn;
  peer.write('hello');
  await readN(callee, 5);
  callee.write('hi');
  await readN(peer, 2);
  assert.deepEqual(mgr.stats('st1'), { bytesIn: 5, bytesOut: 2 });
  assert.deepEqual(
    seen.reduce((a, [d, n]) => ({ ...a, [d]: (a[d] ?? 0) + n }), {} as Record<string, number>),
    { in: 5, out: 2 },
  );
  mgr.closeAll();
  assert.equal(mgr.stats('st1'), undefined);
  peer.destroy();
  callee.destroy();
  tgt.close();
});

test('RelayManager yields between slices: timers keep firing while 20 MB of escape-heavy text is relayed', async (t) => {
  const h = harness({ min: BASE + 18, max: BASE + 18 });
  const tgt = await targetServer();
  const res = await h.mgr.open(request('y1', tgt.port, { sanitize: true, idleTimeoutMs: 30_000, maxDurationMs: 60_000 }));
  assert.ok(res.ok);
  const peer = await connectFrom(PEER, res.port);
  const callee = await tgt.conn;
  const total = 20 * 1024 * 1024;
  const WARM_BYTES = 2 * 1024 * 1024;
  const unit = Buffer.from('\x1b[31mred\x1b[0m \x1b]0;t\x07\x9b2J\x01 ', 'latin1');
  const block = Buffer.alloc(256 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = unit[i % unit.length]!;
  let received = 0;
  callee.on('data', (d: Buffer) => (received += d.length));
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      sent += block.length;
      if (!peer.write(block)) return void peer.once('drain', pump);
    }
    peer.end();
  };
  peer.write(Buffer.from([0x7f, 0x15, 0x17]));
  pump();
  // Lag of a 1 ms timer, sampled while the stream flows (bounded: at most 20 s). The wall-clock lag
  // includes time this process was not scheduled at all (a shared, loaded machine); the CPU this
  // process spent while the timer was due is the time the relay held the event loop, and decides.
  const lags: number[] = [];
  const cpuLags: number[] = [];
  const deadline = Date.now() + 20_000;
  while (!(sent >= total && received >= total) && Date.now() < deadline) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1));
    const c = process.cpuUsage(c0);
    if (received < WARM_BYTES) continue; // the first MiBs warm the JIT up, as in a long-running gateway
    cpuLags.push((c.user + c.system) / 1000);
    lags.push(performance.now() - t0 - 1);
  }
  await once(callee, 'end');
  assert.ok(received >= total, `received ${received}`);
  const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(0.99 * xs.length) - 1)]!;
  assert.ok(lags.length >= 20, `only ${lags.length} samples`);
  const what = `timer lag p99: ${p99(cpuLags).toFixed(1)} ms of CPU, ${p99(lags).toFixed(1)} ms wall, ${lags.length} samples`;
  t.diagnostic(what);
  assert.ok(p99(cpuLags) < 10, what);
  h.mgr.closeAll();
  peer.destroy();
  callee.destroy();
  tgt.close();
});
