import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createGatewayMetrics } from '../../observability/metrics.js';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { ADMIN_MAX_CONNECTIONS_PER_CLIENT, startAdminServer } from './admin-server.js';
import { ClientShares } from './client-shares.js';
import { allowedHosts, isAllowedHost } from './host-check.js';
import { parseHostPort } from './listen-address.js';

test('startAdminServer serves /metrics, /status and /healthz on loopback', async () => {
  const registry = new Registry();
  const m = createGatewayMetrics(registry);
  m.callsTotal.inc({ direction: 'outbound', outcome: 'connected' });
  m.relayBytesTotal.inc({ direction: 'in' }, 42);
  m.setupSeconds.observe(0.02);
  let live = 1;
  const admin = await startAdminServer({ listen: '127.0.0.1:0', status: () => ({ calls: [], live }), registry });
  try {
    assert.equal(admin.address.address, '127.0.0.1');
    const base = `http://127.0.0.1:${admin.address.port}`;
    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
    const text = await metrics.text();
    assert.match(text, /^talkgate_calls_total\{direction="outbound",outcome="connected"\} 1$/m);
    assert.match(text, /^talkgate_relay_bytes_total\{direction="in"\} 42$/m);
    assert.match(text, /^talkgate_setup_seconds_count 1$/m);
    assert.match(text, /^# TYPE talkgate_calls_active gauge$/m);
    live = 3;
    const status = await fetch(`${base}/status`);
    assert.equal(status.status, 200);
    assert.deepEqual(await status.json(), { calls: [], live: 3 });
    const health = await fetch(`${base}/healthz`);
    assert.equal(await health.text(), 'ok\n');
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/status`, { method: 'POST' })).status, 405);
  } finally {
    await admin.close();
  }
});

test('startAdminServer answers 500 without details when status() throws', async () => {
  const admin = await startAdminServer({
    listen: '127.0.0.1:0',
    status: () => {
      throw new TypeError('secret detail');
    },
    registry: new Registry(),
  });
  try {
    const res = await fetch(`http://127.0.0.1:${admin.address.port}/status`);
    assert.equal(res.status, 500);
    assert.doesNotMatch(await res.text(), /secret/);
  } finally {
    await admin.close();
  }
});

test('parseHostPort() accepts host:port and [v6]:port and rejects the rest', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:9518'), { host: '127.0.0.1', port: 9518 });
  assert.deepEqual(parseHostPort('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseHostPort('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['9518', '127.0.0.1', '::1:80', 'host:70000', 'a b:1', '']) {
    assert.throws(() => parseHostPort(bad), RangeError, bad);
  }
});

/** GET over a fresh connection from `localAddress`, with a chosen Host header. */
function get(port: number, path: string, opts: { host?: string; localAddress?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path, agent: false, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}), headers: { host: opts.host ?? `127.0.0.1:${port}` } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(2_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function openIdle(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from({ length: n }, () => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
      s.on('error', () => {});
      s.resume();
      return once(s, 'connect').then(() => s);
    }),
  );
}

test('64 idle connections from one client neither stop a /healthz from another client nor hold more than their share', async () => {
  const admin = await startAdminServer({ listen: '127.0.0.1:0', status: () => ({}), registry: new Registry() });
  const idle = await openIdle(admin.address.port, 64);
  try {
    await new Promise((r) => setTimeout(r, 200));
    const kept = idle.filter((s) => !s.readableEnded).length;
    assert.ok(kept <= ADMIN_MAX_CONNECTIONS_PER_CLIENT, `${kept} of 64 kept`);
    const other = await get(admin.address.port, '/healthz', { localAddress: '127.0.0.2' });
    assert.deepEqual(other, { status: 200, body: 'ok\n' });
  } finally {
    for (const s of idle) s.destroy();
    await admin.close();
  }
});

test('a slow-header connection and a silent one die at the header deadline, not at the next 30 s check', async () => {
  const admin = await startAdminServer({ listen: '127.0.0.1:0', status: () => ({}), registry: new Registry(), timeouts: { requestMs: 300, idleMs: 5_000 } });
  try {
    const t0 = Date.now();
    const [slow, silent] = await openIdle(admin.address.port, 2);
    slow!.write('GET /healthz HTTP/1.1\r\n');
    const drip = setInterval(() => slow!.write('X-Drip: 1\r\n'), 50);
    const closedAt = (s: net.Socket): Promise<number> => (s.closed ? Promise.resolve(Date.now() - t0) : once(s, 'close').then(() => Date.now() - t0));
    const [a, b] = await Promise.race([
      Promise.all([closedAt(slow!), closedAt(silent!)]),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still open after 2 s')), 2_000)),
    ]).finally(() => clearInterval(drip));
    assert.ok(a < 1_000 && b < 1_000, `closed after ${a} / ${b} ms`);
    // A normal request still gets through and its keep-alive connection is answered.
    assert.equal((await get(admin.address.port, '/healthz')).status, 200);
  } finally {
    await admin.close();
  }
});

test('a foreign Host header (DNS rebinding) is refused with 421; the listen address, localhost and configured names are answered', async () => {
  const admin = await startAdminServer({ listen: '127.0.0.1:0', status: () => ({ secret: 1 }), registry: new Registry(), hosts: ['gw.example'] });
  const port = admin.address.port;
  try {
    for (const host of [`attacker.example:${port}`, `127.0.0.2:${port}`, `localhost:${port + 1}`, 'attacker.example', `gw.example.evil:${port}`]) {
      const r = await get(port, '/status', { host });
      assert.equal(r.status, 421, host);
      assert.doesNotMatch(r.body, /secret/, host);
    }
    const raw = net.connect(port, '127.0.0.1');
    raw.end('GET /status HTTP/1.0\r\n\r\n');
    let rawAnswer = '';
    raw.on('data', (d: Buffer) => (rawAnswer += d.toString()));
    await once(raw, 'close');
    assert.match(rawAnswer, /^HTTP\/1\.1 421 /, 'no Host header');
    for (const host of [`127.0.0.1:${port}`, `LOCALHOST:${port}`, `localhost.:${port}`, `gw.example:${port}`]) {
      assert.equal((await get(port, '/status', { host })).status, 200, host);
    }
  } finally {
    await admin.close();
  }
});

test('isAllowedHost() matches authority exactly: name and port, IPv6 in brackets, default ports left out', () => {
  const a = allowedHosts('::1', 9518);
  assert.equal(isAllowedHost('[::1]:9518', a), true);
  assert.equal(isAllowedHost('localhost:9518', a), true);
  assert.equal(isAllowedHost('[::1]', a), false);
  assert.equal(isAllowedHost('::1:9518', a), false);
  assert.equal(isAllowedHost(undefined, a), false);
  const wild = allowedHosts('0.0.0.0', 443, ['gw.example']);
  assert.equal(isAllowedHost('gw.example', wild), true);
  assert.equal(isAllowedHost('gw.example:443', wild), true);
  assert.equal(isAllowedHost('0.0.0.0:443', wild), false);
  assert.equal(isAllowedHost('x'.repeat(400), wild), false);
});

test('ClientShares keeps each client to its share and the total to its bound', () => {
  const s = new ClientShares(2, 3);
  assert.equal(s.acquire('a'), true);
  assert.equal(s.acquire('a'), true);
  assert.equal(s.acquire('a'), false);
  assert.equal(s.acquire('b'), true);
  assert.equal(s.acquire('c'), false);
  s.release('a');
  assert.equal(s.acquire('c'), true);
  s.release('zz');
  assert.equal(s.open(), 3);
  assert.throws(() => new ClientShares(4, 2), RangeError);
});
