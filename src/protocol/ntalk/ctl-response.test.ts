import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from '../decode-error.js';
import { sockAddr } from '../osockaddr.js';
import { decodeNtalkCtlResponse, encodeNtalkCtlResponse } from './ctl-response.js';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16));

// shared/captures/01-netkit-netkit #8: rc-in talkd's successful LOOK_UP reply to bob.
const LOOKUP_OK = hex('01 01 00 00 00 00 00 01 00 02 ac 4f 0a 01 00 02 00 00 00 00 00 00 00 00');
// 01 #2: NOT_HERE, addr = uninitialised stack memory of netkit talkd.
const LOOKUP_NOT_HERE = hex('01 01 01 00 00 00 00 00 e0 82 13 1d 3a 7f 00 00 78 31 4b 8a fd 7f 00 00');

test('decodeNtalkCtlResponse() decodes a successful LOOK_UP reply (capture 01 #8)', () => {
  assert.deepEqual(decodeNtalkCtlResponse(LOOKUP_OK), {
    version: 1,
    type: 1,
    answer: 0,
    id: 1,
    addr: sockAddr('10.1.0.2', 44111),
  });
  assert.deepEqual(encodeNtalkCtlResponse(decodeNtalkCtlResponse(LOOKUP_OK)), LOOKUP_OK);
});

test('decodeNtalkCtlResponse() returns garbage addr bytes as data (capture 01 #2)', () => {
  const r = decodeNtalkCtlResponse(LOOKUP_NOT_HERE);
  assert.equal(r.answer, 1);
  assert.deepEqual(r.addr, { family: 0xe082, port: 0x131d, address: '58.127.0.0' });
});

test('encodeNtalkCtlResponse() writes pad 0 whatever was received', () => {
  const b = Uint8Array.from(LOOKUP_OK);
  b[3] = 0x93; // netkit's uninitialised pad
  assert.equal(encodeNtalkCtlResponse(decodeNtalkCtlResponse(b))[3], 0);
});

test('decodeNtalkCtlResponse() rejects 23 and 25 bytes and an 84-byte request', () => {
  for (const n of [0, 23, 25, 84]) {
    assert.throws(
      () => decodeNtalkCtlResponse(new Uint8Array(n)),
      (e: unknown) => e instanceof DecodeError && e.field === 'length' && e.message.includes(`got ${n}`),
    );
  }
});
