import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePcpRequest, encodePcpRequest, type PcpRequest } from './pcp-request.js';
import { decodePcpResponse, encodePcpResponse, type PcpResponse } from './pcp-response.js';
import { PcpOpcode, PcpResult } from './pcp-constants.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const nonce = fc.uint8Array({ minLength: 12, maxLength: 12 });
const options = fc.record({
  preferFailure: fc.boolean(),
  filters: fc.array(fc.record({ prefixLength: fc.integer({ min: 96, max: 128 }), remotePort: fc.nat(65535), remoteAddress: ipv4 }), { maxLength: 3 }),
  thirdParty: fc.option(ipv4, { nil: undefined }),
  description: fc.option(fc.stringMatching(/^[a-z0-9 ]{0,40}$/), { nil: undefined }),
});
const mapBody = fc.record({ nonce, protocol: fc.constantFrom(6, 17), internalPort: fc.nat(65535), externalPort: fc.nat(65535), externalAddress: ipv4 });
const clean = <T extends object>(o: T): T => JSON.parse(JSON.stringify(o, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v))) as T;

const mapRequest = fc.record({ lifetime: fc.nat(), clientAddress: ipv4, body: mapBody, options }).map((r) => ({ opcode: PcpOpcode.MAP, ...r }) as PcpRequest);

test('encodePcpRequest/decodePcpRequest round-trip MAP requests with options', () => {
  fc.assert(
    fc.property(mapRequest, (req) => {
      const d = decodePcpRequest(encodePcpRequest(req));
      assert.equal(d.kind, 'request');
      if (d.kind === 'request') assert.deepEqual(clean(d.request), clean(req));
    }),
  );
});

test('encodePcpRequest/decodePcpRequest round-trip PEER and ANNOUNCE', () => {
  fc.assert(
    fc.property(mapBody, ipv4, fc.nat(65535), ipv4, (body, remoteAddress, remotePort, clientAddress) => {
      const peer: PcpRequest = { opcode: PcpOpcode.PEER, lifetime: 60, clientAddress, body: { ...body, remoteAddress, remotePort }, options: { preferFailure: false, filters: [] } };
      const b = encodePcpRequest(peer);
      assert.equal(b.length, 80);
      const d = decodePcpRequest(b);
      assert.equal(d.kind, 'request');
      if (d.kind === 'request') assert.deepEqual(clean(d.request), clean(peer));
    }),
  );
  const a = encodePcpRequest({ opcode: PcpOpcode.ANNOUNCE, lifetime: 0, clientAddress: '10.0.0.2', options: { preferFailure: false, filters: [] } });
  assert.equal(a.length, 24);
  assert.deepEqual(Array.from(a.subarray(8, 24)), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 0, 0, 2]);
});

test('encodePcpResponse/decodePcpResponse round-trip', () => {
  fc.assert(
    fc.property(mapBody, fc.nat(13), fc.nat(), fc.nat(), (body, result, lifetime, epoch) => {
      const r: PcpResponse = { version: 2, opcode: PcpOpcode.MAP, result, lifetime, epoch, body, options: { preferFailure: false, filters: [] } };
      assert.deepEqual(clean(decodePcpResponse(encodePcpResponse(r))), clean(r));
    }),
  );
});

test('decodePcpRequest() maps malformed input to the RFC 6887 result codes', () => {
  const valid = encodePcpRequest({ opcode: PcpOpcode.MAP, lifetime: 60, clientAddress: '10.0.0.2', body: { nonce: new Uint8Array(12), protocol: 6, internalPort: 80, externalPort: 0, externalAddress: '::' }, options: { preferFailure: false, filters: [] } });
  const mut = (f: (b: Uint8Array) => Uint8Array): Uint8Array => f(Uint8Array.from(valid));
  assert.equal(decodePcpRequest(new Uint8Array(1)).kind, 'silent');
  assert.equal(decodePcpRequest(mut((b) => ((b[1] = 0x81), b))).kind, 'silent');
  const err = (b: Uint8Array): number => {
    const d = decodePcpRequest(b);
    assert.equal(d.kind, 'error');
    return d.kind === 'error' ? d.result : -1;
  };
  assert.equal(err(mut((b) => ((b[0] = 3), b))), PcpResult.UNSUPP_VERSION);
  assert.equal(err(valid.subarray(0, 58)), PcpResult.MALFORMED_REQUEST);
  assert.equal(err(valid.subarray(0, 40)), PcpResult.MALFORMED_REQUEST);
  assert.equal(err(mut((b) => ((b[1] = 5), b))), PcpResult.UNSUPP_OPCODE);
  const withOpt = (code: number, len: number, extra = 0): Uint8Array => {
    const b = new Uint8Array(valid.length + 4 + ((len + 3) & ~3) + extra);
    b.set(valid);
    b[60] = code;
    b[62] = len >> 8;
    b[63] = len & 0xff;
    return b;
  };
  assert.equal(err(withOpt(99, 0)), PcpResult.UNSUPP_OPTION);
  assert.equal(decodePcpRequest(withOpt(200, 4)).kind, 'request');
  assert.equal(err(withOpt(3, 4)), PcpResult.MALFORMED_OPTION);
  assert.equal(err(withOpt(2, 4)), PcpResult.MALFORMED_OPTION);
  const over = withOpt(1, 16);
  over[63] = 200;
  assert.equal(err(over), PcpResult.MALFORMED_OPTION);
});

test('decodePcpRequest() never throws on random or mutated bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1200 }), (b) => {
      const d = decodePcpRequest(b);
      assert.ok(['request', 'silent', 'error'].includes(d.kind));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(mapRequest, fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 6 }), fc.nat(300), (req, flips, cut) => {
      const b = encodePcpRequest(req);
      for (const [i, v] of flips) if (i < b.length) b[i] = v;
      decodePcpRequest(b.subarray(0, Math.min(b.length, cut)));
      decodePcpRequest(b);
    }),
    { numRuns: 2000 },
  );
});
