import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createGatewayMetrics } from '../../observability/metrics.js';
import { startAdminServer } from './admin-server.js';
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
