import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import type { DataPathEvents } from '../modes/data-path.js';
import { RELAY_THREAD_NICE } from './relay-constants.js';
import { RelayDataPath } from './relay-data-path.js';

// Loopback only: the relay listens on 127.0.0.1 and admits 127.0.0.2.
const PEER = '127.0.0.2';
const silent = { info() {}, warn() {}, error() {}, child() { return silent; } };
const BASE = 46000 + (process.pid % 500) * 4;

function path(events: Partial<DataPathEvents> = {}): RelayDataPath {
  return new RelayDataPath({
    portRange: { min: BASE, max: BASE + 3 },
    maxRelays: 4,
    idleTimeoutMs: 5_000,
    maxDurationMs: 10_000,
    sanitize: true,
    logger: silent,
    events: { onConnected() {}, onEnded() {}, ...events },
  });
}

/** Nice values of this process's threads (field 19 of /proc/self/task/TID/stat). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

test('RelayDataPath relays and sanitises on its own thread, reports the bytes and the exact end', async () => {
  const target = net.createServer();
  const accepted = new Promise<net.Socket>((r) => target.once('connection', r));
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  let bytesIn = 0;
  let connected = false;
  let resolveEnded!: (v: { bytesIn: number; bytesOut: number; reason: string }) => void;
  const ended = new Promise<{ bytesIn: number; bytesOut: number; reason: string }>((r) => (resolveEnded = r));
  const dp = path({
    onConnected: () => (connected = true),
    onBytes: (_id, dir, n) => dir === 'in' && (bytesIn += n),
    onEnded: (_id, info) => resolveEnded(info),
  });
  await dp.start();
  try {
    const opened = await dp.open({
      callId: 'c1',
      listenSide: 'outside',
      listenAddress: '127.0.0.1',
      expectedPeer: PEER,
      target: { address: '127.0.0.1', port: (target.address() as net.AddressInfo).port },
      bindAddress: '127.0.0.1',
      acceptDeadlineMs: 5_000,
    });
    assert.ok(opened.ok);
    const peer = net.connect({ host: '127.0.0.1', port: opened.port, localAddress: PEER });
    await once(peer, 'connect');
    const callee = await accepted;
    const sent = Buffer.concat([Buffer.from('\x7f\x15\x17'), Buffer.from('hi \x1b[2Jthere\n')]);
    peer.write(sent);
    let got = Buffer.alloc(0);
    while (!got.includes('there\n')) got = Buffer.concat([got, ((await once(callee, 'data')) as [Buffer])[0]]);
    assert.ok(!got.includes(0x1b), 'the ESC was neutralised on the relay thread');
    assert.ok(connected);
    // Live counts arrive batched; the end carries the exact totals.
    for (let i = 0; i < 50 && dp.bytes('c1')?.bytesIn !== sent.length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(dp.bytes('c1')?.bytesIn, sent.length);
    dp.close('c1');
    const info = await ended;
    assert.equal(info.bytesIn, sent.length);
    assert.equal(info.reason, 'closed');
    assert.equal(bytesIn, sent.length, 'onBytes adds up to the bytes read');
    assert.equal(dp.bytes('c1'), undefined);
    peer.destroy();
    callee.destroy();
  } finally {
    await dp.stop();
    target.close();
  }
});

test('the relay thread runs at a lower priority than the control thread (issue 18)', async () => {
  const before = threadNices().filter((n) => n === RELAY_THREAD_NICE).length;
  const dp = path();
  await dp.start();
  try {
    // The thread lowers its own priority as it starts.
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = threadNices().filter((n) => n === RELAY_THREAD_NICE).length;
    }
    assert.equal(after, before + 1, `one more thread at nice ${RELAY_THREAD_NICE}`);
    assert.equal(threadNices()[0], 0, 'the main (control) thread keeps its priority');
  } finally {
    await dp.stop();
  }
});

test('RelayDataPath.stop() ends the relays still listening and the thread', async () => {
  const ended: string[] = [];
  const dp = path({ onEnded: (_id, info) => ended.push(info.reason) });
  await dp.start();
  const opened = await dp.open({
    callId: 'c2',
    listenSide: 'outside',
    listenAddress: '127.0.0.1',
    expectedPeer: PEER,
    target: { address: '127.0.0.1', port: 9 },
    bindAddress: '127.0.0.1',
    acceptDeadlineMs: 5_000,
  });
  assert.ok(opened.ok);
  await dp.stop();
  assert.deepEqual(ended, ['shutdown']);
  await assert.rejects(new Promise((resolve, reject) => net.connect({ host: '127.0.0.1', port: opened.port }).on('connect', resolve).on('error', reject)));
});
