import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CMSGHDR_SIZE,
  IP_ORIGDSTADDR,
  MSGHDR,
  MSGHDR_SIZE,
  ORIGDST_CMSG_SPACE,
  SOCKADDR_IN_SIZE,
  SOL_IP,
  SOL_SOCKET,
  cmsgAlign,
  decodeMsghdrResult,
  decodeSockaddrIn,
  encodeCmsg,
  encodeIovec,
  encodeMsghdr,
  encodeSockaddrIn,
  findOrigDstAddr,
  ipv4Bytes,
  sockaddrIn,
  supportedPlatform,
} from './socket-abi.js';

const arbEndpoint = fc.record({
  address: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((t) => t.join('.')),
  port: fc.nat(65_535),
}).map((r) => ({ address: r.address, port: r.port })); // plain objects (fc.record's have a null prototype)

test('sockaddrIn() lays out family LE at 0, port BE at 2, address at 4, zero padding to 16', () => {
  const b = sockaddrIn({ address: '198.51.100.2', port: 518 });
  assert.equal(b.length, SOCKADDR_IN_SIZE);
  assert.deepEqual([...b], [2, 0, 0x02, 0x06, 198, 51, 100, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test('decodeSockaddrIn() inverts encodeSockaddrIn() at any offset', () => {
  fc.assert(
    fc.property(arbEndpoint, fc.nat(32), (ep, off) => {
      const buf = new Uint8Array(off + SOCKADDR_IN_SIZE + 3).fill(0xee);
      encodeSockaddrIn(buf, off, ep);
      assert.deepEqual(decodeSockaddrIn(buf, off), ep);
    }),
  );
});

test('decodeSockaddrIn() returns null for a non-AF_INET family, a short length or out-of-bounds offset', () => {
  const b = sockaddrIn({ address: '10.1.0.2', port: 1 });
  b.writeUInt16LE(10, 0); // AF_INET6
  assert.equal(decodeSockaddrIn(b, 0), null);
  const ok = sockaddrIn({ address: '10.1.0.2', port: 1 });
  assert.equal(decodeSockaddrIn(ok, 0, 7), null);
  assert.equal(decodeSockaddrIn(ok, 9), null);
  assert.equal(decodeSockaddrIn(ok, -1), null);
});

test('ipv4Bytes() rejects anything but a dotted quad', () => {
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', ' 1.2.3.4', 'a.b.c.d', '::1']) {
    assert.throws(() => ipv4Bytes(bad), RangeError, bad);
  }
  assert.deepEqual([...ipv4Bytes('0.0.0.0')], [0, 0, 0, 0]);
  assert.deepEqual([...ipv4Bytes('255.255.255.255')], [255, 255, 255, 255]);
});

test('encodeSockaddrIn() rejects a port out of range and a buffer too short', () => {
  assert.throws(() => sockaddrIn({ address: '1.2.3.4', port: 65_536 }), RangeError);
  assert.throws(() => sockaddrIn({ address: '1.2.3.4', port: -1 }), RangeError);
  assert.throws(() => encodeSockaddrIn(new Uint8Array(15), 0, { address: '1.2.3.4', port: 1 }), RangeError);
});

test('encodeMsghdr() writes the LP64 struct msghdr offsets (56 bytes)', () => {
  const b = new Uint8Array(MSGHDR_SIZE).fill(0xff);
  encodeMsghdr(b, { name: 0x1111n, namelen: 16, iov: 0x2222n, iovlen: 1, control: 0x3333n, controllen: 64 });
  const dv = new DataView(b.buffer);
  assert.deepEqual(MSGHDR, { name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32, controllen: 40, flags: 48 });
  assert.equal(dv.getBigUint64(0, true), 0x1111n);
  assert.equal(dv.getUint32(8, true), 16);
  assert.equal(dv.getUint32(12, true), 0, 'padding after msg_namelen is zeroed');
  assert.equal(dv.getBigUint64(16, true), 0x2222n);
  assert.equal(dv.getBigUint64(24, true), 1n);
  assert.equal(dv.getBigUint64(32, true), 0x3333n);
  assert.equal(dv.getBigUint64(40, true), 64n);
  assert.equal(dv.getInt32(48, true), 0);
  dv.setUint32(8, 16, true);
  dv.setBigUint64(40, 32n, true);
  dv.setInt32(48, 0x20, true);
  assert.deepEqual(decodeMsghdrResult(b), { namelen: 16, controllen: 32, flags: 0x20 });
  assert.throws(() => encodeMsghdr(new Uint8Array(55), { name: 0n, namelen: 0, iov: 0n, iovlen: 0, control: 0n, controllen: 0 }), RangeError);
});

test('encodeIovec() writes base at 0 and length at 8', () => {
  const b = new Uint8Array(16);
  encodeIovec(b, 0xdeadbeefn, 2048);
  const dv = new DataView(b.buffer);
  assert.equal(dv.getBigUint64(0, true), 0xdeadbeefn);
  assert.equal(dv.getBigUint64(8, true), 2048n);
});

test('ORIGDST_CMSG_SPACE is CMSG_SPACE(sizeof(struct sockaddr_in)) = 32', () => {
  assert.equal(CMSGHDR_SIZE, 16);
  assert.equal(ORIGDST_CMSG_SPACE, 32);
  assert.equal(cmsgAlign(1), 8);
  assert.equal(cmsgAlign(16), 16);
  assert.equal(cmsgAlign(17), 24);
});

test('findOrigDstAddr() finds IP_ORIGDSTADDR after other control messages', () => {
  fc.assert(
    fc.property(arbEndpoint, fc.array(fc.uint8Array({ minLength: 0, maxLength: 20 }), { maxLength: 3 }), (ep, others) => {
      const parts = others.map((d, i) => encodeCmsg(SOL_SOCKET, 29 + i, d)); // e.g. SO_TIMESTAMP-like
      parts.push(encodeCmsg(SOL_IP, IP_ORIGDSTADDR, sockaddrIn(ep)));
      const control = Buffer.concat(parts);
      assert.deepEqual(findOrigDstAddr(control, control.length), ep);
    }),
  );
});

test('findOrigDstAddr() returns null when absent, truncated or with a corrupt cmsg_len', () => {
  const good = encodeCmsg(SOL_IP, IP_ORIGDSTADDR, sockaddrIn({ address: '198.51.100.2', port: 518 }));
  assert.equal(findOrigDstAddr(good, 0), null);
  assert.equal(findOrigDstAddr(good, 20), null, 'controllen shorter than the message');
  const other = encodeCmsg(SOL_IP, 8 /* IP_PKTINFO */, new Uint8Array(12));
  assert.equal(findOrigDstAddr(other, other.length), null);
  const corrupt = Uint8Array.from(good);
  new DataView(corrupt.buffer).setBigUint64(0, 3n, true); // cmsg_len smaller than the header
  assert.equal(findOrigDstAddr(corrupt, corrupt.length), null);
  const huge = Uint8Array.from(good);
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  assert.equal(findOrigDstAddr(huge, huge.length), null);
});

test('findOrigDstAddr() never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 128 }), fc.nat(200), (bytes, len) => {
      const r = findOrigDstAddr(bytes, len);
      assert.ok(r === null || typeof r.address === 'string');
    }),
  );
});

test('supportedPlatform() accepts LP64 Linux only', () => {
  assert.equal(supportedPlatform('linux', 'x64'), true);
  assert.equal(supportedPlatform('linux', 'arm64'), true);
  assert.equal(supportedPlatform('linux', 'ia32'), false);
  assert.equal(supportedPlatform('darwin', 'arm64'), false);
});
