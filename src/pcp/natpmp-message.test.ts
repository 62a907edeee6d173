import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeNatpmpRequest, decodeNatpmpResponse, encodeNatpmpRequest, encodeNatpmpResponse } from './natpmp-message.js';

test('NAT-PMP map request/response round trip with RFC 6886 sizes', () => {
  fc.assert(
    fc.property(fc.constantFrom(1 as const, 2 as const), fc.nat(65535), fc.nat(65535), fc.nat(), (op, internalPort, externalPort, lifetime) => {
      const b = encodeNatpmpRequest({ op, internalPort, externalPort, lifetime });
      assert.equal(b.length, 12);
      assert.deepEqual(decodeNatpmpRequest(b), { kind: 'request', request: { op, internalPort, externalPort, lifetime } });
      const r = { op, result: 0, epoch: 5, internalPort, externalPort, lifetime };
      const rb = encodeNatpmpResponse(r);
      assert.equal(rb.length, 16);
      assert.deepEqual(decodeNatpmpResponse(rb), r);
    }),
  );
  const a = encodeNatpmpResponse({ op: 0, result: 0, epoch: 7, address: '203.0.113.9' });
  assert.deepEqual(Array.from(a), [0, 128, 0, 0, 0, 0, 0, 7, 203, 0, 113, 9]);
});

test('decodeNatpmpRequest() answers unknown opcode and version with the right result', () => {
  assert.deepEqual(decodeNatpmpRequest(Uint8Array.of(0, 9)), { kind: 'error', op: 9, result: 5, reason: 'opcode 9' });
  assert.equal(decodeNatpmpRequest(Uint8Array.of(1, 0)).kind, 'error');
  assert.equal(decodeNatpmpRequest(Uint8Array.of(0, 2, 0, 0)).kind, 'silent');
  fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => void decodeNatpmpRequest(b)), { numRuns: 1000 });
});
