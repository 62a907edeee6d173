import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AF_INET, SOCKADDR_SIZE } from './constants.js';
import { DecodeError, EncodeError } from './decode-error.js';
import { decodeSockAddr, encodeSockAddr, formatSockAddr, sockAddr } from './osockaddr.js';

// 10.1.0.2:44111 as ntalk sends it (capture 01 #3 addr): family 00 02, port ac 4f, then 8 zeros.
const BE = Uint8Array.from([0x00, 0x02, 0xac, 0x4f, 0x0a, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]);

test('decodeSockAddr() reads family in the given order, port and address big-endian', () => {
  assert.deepEqual(decodeSockAddr(BE, 0, 'big', 'addr'), { family: AF_INET, port: 44111, address: '10.1.0.2' });
  // The same bytes read with a little-endian family: 0x0200; port and address unchanged.
  assert.deepEqual(decodeSockAddr(BE, 0, 'little', 'addr'), { family: 0x0200, port: 44111, address: '10.1.0.2' });
});

test('decodeSockAddr() ignores the 8 trailing bytes', () => {
  const junk = Uint8Array.from(BE);
  junk.fill(0x5a, 8);
  assert.deepEqual(decodeSockAddr(junk, 0, 'big', 'addr'), decodeSockAddr(BE, 0, 'big', 'addr'));
});

test('decodeSockAddr() throws DecodeError(field, offset) when fewer than 16 bytes remain', () => {
  assert.throws(
    () => decodeSockAddr(new Uint8Array(30), 15, 'big', 'ctl_addr'),
    (e: unknown) => e instanceof DecodeError && e.field === 'ctl_addr' && e.offset === 15,
  );
});

test('encodeSockAddr() writes family in the given order and zeroes the tail', () => {
  const out = new Uint8Array(SOCKADDR_SIZE + 2).fill(0xff);
  encodeSockAddr(out, 1, sockAddr('10.1.0.2', 44111), 'big');
  assert.deepEqual(out.subarray(1, 17), BE);
  assert.equal(out[0], 0xff);
  assert.equal(out[17], 0xff);
  const le = new Uint8Array(SOCKADDR_SIZE);
  encodeSockAddr(le, 0, sockAddr('10.1.0.2', 44111), 'little');
  assert.deepEqual([...le.subarray(0, 4)], [0x02, 0x00, 0xac, 0x4f]);
});

test('encodeSockAddr() throws EncodeError for a bad port, family, address or offset', () => {
  const out = new Uint8Array(SOCKADDR_SIZE);
  assert.throws(() => encodeSockAddr(out, 0, sockAddr('10.1.0.2', 70000), 'big'), EncodeError);
  assert.throws(() => encodeSockAddr(out, 0, { family: -1, port: 1, address: '1.2.3.4' }, 'big'), EncodeError);
  assert.throws(() => encodeSockAddr(out, 0, sockAddr('example.org', 1), 'big'), EncodeError);
  assert.throws(() => encodeSockAddr(out, 1, sockAddr('1.2.3.4', 1), 'big'), EncodeError);
});

test('sockAddr() and formatSockAddr()', () => {
  assert.deepEqual(sockAddr('1.2.3.4', 518), { family: AF_INET, port: 518, address: '1.2.3.4' });
  assert.equal(formatSockAddr(sockAddr('1.2.3.4', 518)), '1.2.3.4:518');
});
