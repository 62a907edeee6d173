import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from './decode-error.js';
import { decodeAnyCtlMsg, ntalkCodec, otalkCodec } from './talk-codec.js';
import { arbNtalkCtlMsg, arbOtalkCtlMsg } from './testing/arbitraries.js';
import * as api from './index.js';

test('ntalkCodec and otalkCodec() describe their wire sizes and ports', () => {
  assert.equal(ntalkCodec.name, 'ntalk');
  assert.equal(ntalkCodec.port, 518);
  assert.equal(ntalkCodec.requestSize, 84);
  assert.deepEqual(ntalkCodec.responseSizes, [24]);
  for (const order of ['big', 'little'] as const) {
    const c = otalkCodec(order);
    assert.equal(c.name, 'otalk');
    assert.equal(c.port, 517);
    assert.equal(c.requestSize, 76);
    assert.equal(c.responseSize, 24);
    assert.deepEqual(c.responseSizes, [24, 22]);
    assert.equal(otalkCodec(order), c, 'one codec object per byte order');
  }
});

test('otalkCodec(order).decodeResponse() decodes in that order', () => {
  const bytes = otalkCodec('big').encodeResponse({
    byteOrder: 'little',
    layout: 'padded',
    type: 1,
    answer: 0,
    id: 7,
    addr: api.sockAddr('10.1.0.2', 44111),
  });
  assert.equal(otalkCodec('little').decodeResponse(bytes).id, 7);
  assert.equal(otalkCodec('big').decodeResponse(bytes).id, 0x07000000);
});

test('decodeAnyCtlMsg() chooses ntalk for 84 bytes and otalk for 76 bytes', () => {
  fc.assert(
    fc.property(arbNtalkCtlMsg, arbOtalkCtlMsg, (n, o) => {
      assert.deepEqual(decodeAnyCtlMsg(ntalkCodec.encodeRequest(n)), { protocol: 'ntalk', msg: n });
      assert.deepEqual(decodeAnyCtlMsg(otalkCodec('big').encodeRequest(o)), { protocol: 'otalk', msg: o });
    }),
    { numRuns: 100 },
  );
});

test('decodeAnyCtlMsg() rejects every other length with DecodeError on field length', () => {
  for (let n = 0; n <= 200; n++) {
    if (n === 84 || n === 76) continue;
    assert.throws(() => decodeAnyCtlMsg(new Uint8Array(n)), (e: unknown) => e instanceof DecodeError && e.field === 'length');
  }
});

test('decodeAnyCtlMsg() passes on the otalk byte-order DecodeError for 76 undetectable bytes', () => {
  assert.throws(() => decodeAnyCtlMsg(new Uint8Array(76)), (e: unknown) => e instanceof DecodeError && e.field === 'ctl_addr.family');
});

test('the index barrel exports the public protocol API', () => {
  for (const name of [
    'decodeNtalkCtlMsg', 'encodeNtalkCtlMsg', 'decodeNtalkCtlResponse', 'encodeNtalkCtlResponse',
    'decodeOtalkCtlMsg', 'encodeOtalkCtlMsg', 'decodeOtalkCtlResponse', 'encodeOtalkCtlResponse',
    'decodeSockAddr', 'encodeSockAddr', 'sockAddr', 'formatSockAddr', 'decodeAnyCtlMsg', 'otalkCodec',
    'requestTypeName', 'answerName', 'readFixedString', 'writeFixedString',
  ] as const) {
    assert.equal(typeof api[name], 'function', name);
  }
  assert.equal(api.ntalkCodec, ntalkCodec);
  assert.equal(api.NTALK_CTL_MSG_SIZE, 84);
  assert.equal(api.RequestType.ANNOUNCE, 3);
  assert.ok(new api.DecodeError('x', 0, 'y') instanceof Error);
  assert.ok(new api.EncodeError('x', 'y') instanceof Error);
});
