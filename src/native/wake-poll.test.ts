import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { libc } from './libc.js';
import { EFD_CLOEXEC, EFD_NONBLOCK, POLLFD_SIZE, POLLIN } from './socket-abi.js';
import { bindUdpSocketFd, socketLocalAddress } from './fd-datagram-endpoint.js';
import { WakePoll } from './wake-poll.js';

const linux = process.platform === 'linux';

function open(onRelease: () => void): { poll: WakePoll; fd: number; wake: number } {
  const c = libc();
  const fd = bindUdpSocketFd('127.0.0.1', 0);
  const wake = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  assert.ok(wake >= 0);
  const mem = Buffer.alloc(2 * POLLFD_SIZE);
  return { poll: new WakePoll(c, fd, wake, { ptr: mem, bytes: mem }, onRelease), fd, wake };
}

test('a poll reports the readable socket; close() wakes a blocked poll and closes both fds once', { skip: linux ? false : 'needs Linux (poll(2) and eventfd through koffi)' }, async () => {
  let released = 0;
  const { poll, fd, wake } = open(() => released++);
  const peer = createSocket('udp4');
  try {
    const readable = new Promise<[number, number]>((resolve) => poll.arm(-1, (_e, result, revents) => resolve([result, revents])));
    peer.send('x', socketLocalAddress(fd).port, '127.0.0.1');
    const [result, revents] = await readable;
    assert.equal(result, 1);
    assert.equal(revents & POLLIN, POLLIN);

    // With the datagram read, the next poll (no timeout) blocks until close() wakes it.
    let called = false;
    libc().read(fd, Buffer.alloc(16), 16);
    poll.arm(-1, () => (called = true));
    poll.arm(-1, () => (called = true)); // in flight: ignored
    const t0 = Date.now();
    await poll.close();
    assert.ok(Date.now() - t0 < 1000, 'close() does not wait for the blocked poll');
    assert.equal(called, false, 'done never runs after close()');
    assert.equal(released, 1);
    assert.equal(existsSync(`/proc/self/fd/${fd}`), false);
    assert.equal(existsSync(`/proc/self/fd/${wake}`), false);
    assert.equal(poll.close(), poll.close(), 'idempotent');
    poll.arm(-1, () => (called = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(called, false, 'arm() after close() polls nothing');
    assert.equal(released, 1, 'released exactly once');
  } finally {
    peer.close();
  }
});

test('close() with no poll in flight releases at once, and only once', { skip: linux ? false : 'needs Linux (poll(2) and eventfd through koffi)' }, async () => {
  let released = 0;
  const { poll } = open(() => released++);
  await poll.close();
  await poll.close();
  poll.arm(-1, () => assert.fail('polled after close'));
  assert.equal(released, 1);
});
