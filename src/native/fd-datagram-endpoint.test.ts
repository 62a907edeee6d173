import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';

import {
  bindUdpSocketFd,
  FdDatagramEndpoint,
  isInetDatagramSocket,
  socketLocalAddress,
} from './fd-datagram-endpoint.js';
import type { DatagramPeer } from './datagram-endpoint.js';

test('FdDatagramEndpoint exchanges datagrams with a node:dgram socket over loopback', async () => {
  const fd = bindUdpSocketFd('127.0.0.1', 0);
  assert.equal(isInetDatagramSocket(fd), true);
  const local = socketLocalAddress(fd);
  assert.equal(local.address, '127.0.0.1');
  assert.ok(local.port > 0);
  const endpoint = new FdDatagramEndpoint(fd);
  assert.deepEqual(endpoint.localAddress(), local);
  const peer = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
  try {
    const received: Array<[string, DatagramPeer]> = [];
    const got = new Promise<void>((resolve) => {
      endpoint.onMessage((bytes, from) => {
        received.push([Buffer.from(bytes).toString(), from]);
        endpoint.send(new TextEncoder().encode(`echo:${Buffer.from(bytes).toString()}`), from.port, from.address);
        if (received.length === 3) resolve();
      });
    });
    const replies: string[] = [];
    peer.on('message', (m) => replies.push(m.toString()));
    for (const s of ['a', 'bb', 'ccc']) peer.send(s, local.port, '127.0.0.1');
    await got;
    for (let i = 0; i < 100 && replies.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(received.map(([s]) => s), ['a', 'bb', 'ccc']);
    assert.equal(received[0]?.[1].port, peer.address().port);
    assert.deepEqual(replies, ['echo:a', 'echo:bb', 'echo:ccc']);
  } finally {
    const t0 = Date.now();
    await endpoint.close();
    assert.ok(Date.now() - t0 < 1000, 'close() does not hang on a blocked poll');
    peer.close();
  }
});

test('isInetDatagramSocket() is false for a non-socket fd', () => {
  assert.equal(isInetDatagramSocket(99999), false);
});

test('FdDatagramEndpoint.close() before any message resolves', async () => {
  const fd = bindUdpSocketFd('127.0.0.1', 0);
  const e = new FdDatagramEndpoint(fd);
  e.onMessage(() => undefined);
  await e.close();
});
