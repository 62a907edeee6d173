/**
 * The transparent socket on loopback (root: IP_TRANSPARENT needs CAP_NET_ADMIN), and the typed
 * permission error as an unprivileged user. Foreign-address interception through tproxy is proven
 * in test/lab/transparent-intercept.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { openTransparentUdp, sendFrom, TransparentSocketError, type InterceptedDatagram } from './index.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const rootSkip = isRoot ? false : 'needs root (IP_TRANSPARENT requires CAP_NET_ADMIN)';

/** Bound on every wait in this file. */
const WAIT_MS = 3_000;

function waitFor<T>(what: string, get: () => T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      const v = get();
      if (v !== undefined) return resolve(v);
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

async function udpClient(): Promise<dgram.Socket> {
  const c = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => c.bind(0, '127.0.0.1', () => resolve()));
  return c;
}

test('openTransparentUdp() delivers each datagram with its source and original destination', { skip: rootSkip }, async () => {
  const got: InterceptedDatagram[] = [];
  const s = openTransparentUdp({ port: 0, address: '127.0.0.1', onDatagram: (d) => got.push(d) });
  const c = await udpClient();
  try {
    assert.equal(s.local.address, '127.0.0.1');
    assert.ok(s.local.port > 0);
    c.send('hello', s.local.port, '127.0.0.1');
    const d = await waitFor('datagram', () => got[0]);
    assert.equal(d.data.toString(), 'hello');
    assert.deepEqual(d.source, { address: '127.0.0.1', port: c.address().port });
    assert.deepEqual(d.originalDestination, { address: '127.0.0.1', port: s.local.port });
    assert.equal(d.truncated, false);
    assert.deepEqual(s.stats(), { received: 1, dropped: 0, truncated: 0, sent: 0 });
  } finally {
    c.close();
    await s.close();
  }
});

test('sendFrom() sends from an address and port no socket of ours is bound to', { skip: rootSkip }, async () => {
  const c = await udpClient();
  const replies: { data: string; from: string }[] = [];
  c.on('message', (m, r) => replies.push({ data: m.toString(), from: `${r.address}:${r.port}` }));
  const s = openTransparentUdp({ port: 0, address: '127.0.0.1', onDatagram: () => undefined });
  try {
    s.sendFrom(Buffer.from('as-if-518'), { from: { address: '127.0.0.9', port: 518 }, to: { address: '127.0.0.1', port: c.address().port } });
    sendFrom(new Uint8Array(Buffer.from('standalone')), { from: { address: '127.0.0.10', port: 517 }, to: { address: '127.0.0.1', port: c.address().port } });
    await waitFor('two replies', () => (replies.length === 2 ? true : undefined));
    assert.deepEqual(replies, [
      { data: 'as-if-518', from: '127.0.0.9:518' },
      { data: 'standalone', from: '127.0.0.10:517' },
    ]);
    assert.equal(s.stats().sent, 1);
  } finally {
    c.close();
    await s.close();
  }
});

test('a datagram longer than maxDatagramBytes arrives marked truncated with its first bytes', { skip: rootSkip }, async () => {
  const got: InterceptedDatagram[] = [];
  const s = openTransparentUdp({ port: 0, address: '127.0.0.1', maxDatagramBytes: 8, onDatagram: (d) => got.push(d) });
  const c = await udpClient();
  try {
    c.send('0123456789abcdef', s.local.port, '127.0.0.1');
    const d = await waitFor('datagram', () => got[0]);
    assert.equal(d.truncated, true);
    assert.equal(d.data.toString(), '01234567');
    assert.equal(s.stats().truncated, 1);
  } finally {
    c.close();
    await s.close();
  }
});

test('a burst of 200 datagrams is received completely and in order', { skip: rootSkip }, async () => {
  const got: string[] = [];
  const s = openTransparentUdp({ port: 0, address: '127.0.0.1', onDatagram: (d) => got.push(d.data.toString()) });
  const c = await udpClient();
  try {
    for (let i = 0; i < 200; i++) {
      c.send(String(i), s.local.port, '127.0.0.1');
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 10)); // stay below the receive buffer
    }
    await waitFor('200 datagrams', () => (got.length >= 200 ? true : undefined));
    assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => String(i)));
  } finally {
    c.close();
    await s.close();
  }
});

test('an exception in onDatagram goes to onError and the socket keeps receiving', { skip: rootSkip }, async () => {
  const errors: Error[] = [];
  const got: string[] = [];
  const s = openTransparentUdp({
    port: 0,
    address: '127.0.0.1',
    onDatagram: (d) => {
      got.push(d.data.toString());
      if (got.length === 1) throw new Error('handler bug');
    },
    onError: (e) => errors.push(e),
  });
  const c = await udpClient();
  try {
    c.send('a', s.local.port, '127.0.0.1');
    await waitFor('first', () => got[0]);
    c.send('b', s.local.port, '127.0.0.1');
    await waitFor('second', () => got[1]);
    assert.deepEqual(got, ['a', 'b']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.message, 'handler bug');
  } finally {
    c.close();
    await s.close();
  }
});

test('close() returns promptly while a poll is in flight, is idempotent, and sendFrom() afterwards throws', { skip: rootSkip }, async () => {
  const s = openTransparentUdp({ port: 0, address: '127.0.0.1', onDatagram: () => undefined });
  await new Promise((r) => setTimeout(r, 50)); // the threadpool poll is now waiting
  const t0 = performance.now();
  const p1 = s.close();
  const p2 = s.close();
  assert.equal(p1, p2);
  await p1;
  const ms = performance.now() - t0;
  assert.ok(ms < 200, `close took ${ms.toFixed(1)} ms (poll timeout is 1000 ms: the eventfd must wake it)`);
  assert.throws(
    () => s.sendFrom(Buffer.from('x'), { from: { address: '127.0.0.1', port: 1 }, to: { address: '127.0.0.1', port: 2 } }),
    (e: unknown) => e instanceof TransparentSocketError && e.code === 'TRANSPARENT_CLOSED',
  );
});

test('close() from inside onDatagram stops delivery', { skip: rootSkip }, async () => {
  const got: string[] = [];
  let closed: Promise<void> | undefined;
  const s = openTransparentUdp({
    port: 0,
    address: '127.0.0.1',
    onDatagram: (d) => {
      got.push(d.data.toString());
      closed = s.close();
    },
  });
  const c = await udpClient();
  try {
    c.send('one', s.local.port, '127.0.0.1');
    c.send('two', s.local.port, '127.0.0.1');
    await waitFor('close', () => closed);
    await closed;
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, ['one']);
  } finally {
    c.close();
  }
});

test('binding a port held by a socket without SO_REUSEADDR gives TRANSPARENT_ADDRESS_IN_USE', { skip: rootSkip }, async () => {
  const holder = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', () => resolve()));
  try {
    assert.throws(
      () => openTransparentUdp({ port: holder.address().port, address: '127.0.0.1', onDatagram: () => undefined }),
      (e: unknown) => e instanceof TransparentSocketError && e.code === 'TRANSPARENT_ADDRESS_IN_USE' && e.errno === 98,
    );
  } finally {
    holder.close();
  }
});

const RUNUSER = '/usr/sbin/runuser';
function canRunAsNobody(): string | false {
  if (!isRoot) return 'needs root to switch to an unprivileged user';
  try {
    accessSync(RUNUSER, constants.X_OK);
  } catch {
    return `${RUNUSER} missing`;
  }
  return false;
}

test('without CAP_NET_ADMIN, openTransparentUdp() and sendFrom() throw TRANSPARENT_PERMISSION', { skip: canRunAsNobody() }, () => {
  const ts = import.meta.url.endsWith('.ts');
  const mod = new URL(`./index.${ts ? 'ts' : 'js'}`, import.meta.url).href;
  const script = `
    const m = await import(${JSON.stringify(mod)});
    const out = [];
    try { m.openTransparentUdp({ port: 0, address: '127.0.0.1', onDatagram() {} }); out.push('opened'); }
    catch (e) { out.push([e.code, e.syscall, e.errno, e instanceof m.TransparentSocketError]); }
    try { m.sendFrom(new Uint8Array(1), { from: { address: '127.0.0.9', port: 518 }, to: { address: '127.0.0.1', port: 9 } }); out.push('sent'); }
    catch (e) { out.push([e.code, e.syscall, e.errno]); }
    console.log(JSON.stringify(out));`;
  const loader = ts ? ['--import', import.meta.resolve('tsx')] : [];
  const r = spawnSync(RUNUSER, ['-u', 'nobody', '--', process.execPath, ...loader, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
    cwd: '/',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? 'null'), [
    ['TRANSPARENT_PERMISSION', 'setsockopt(IP_TRANSPARENT)', 1, true],
    ['TRANSPARENT_PERMISSION', 'setsockopt(IP_TRANSPARENT)', 1],
  ]);
});
