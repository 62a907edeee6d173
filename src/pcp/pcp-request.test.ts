import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePcpRequest, encodePcpRequest, type PcpRequest } from './pcp-request.js';
import { decodePcpResponse, encodePcpResponse, type PcpResponse } from './pcp-response.js';
import { PcpOpcode, PcpResult, pcpResultName } from './pcp-constants.js';

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

test('every RFC 6887 §7.4 result code round-trips in a response header, with its name', () => {
  const names = Object.keys(PcpResult);
  assert.equal(names.length, 14);
  for (const [name, code] of Object.entries(PcpResult)) {
    assert.equal(pcpResultName(code), name);
    const b = encodePcpResponse({ version: 2, opcode: PcpOpcode.ANNOUNCE, result: code, lifetime: 30, epoch: 9, options: { preferFailure: false, filters: [] } });
    assert.equal(b.length, 24);
    assert.equal(b[1], 0x80, 'R bit + ANNOUNCE');
    assert.equal(b[3], code, 'result at offset 3');
    assert.equal(decodePcpResponse(b).result, code);
  }
  assert.equal(pcpResultName(99), 'RESULT_99');
});

test('responses round-trip MAP with THIRD_PARTY, PREFER_FAILURE, FILTER, DESCRIPTION and PEER bodies', () => {
  fc.assert(
    fc.property(mapBody, options, fc.nat(13), fc.nat(), ipv4, fc.nat(65535), (body, opts, result, epoch, remoteAddress, remotePort) => {
      const r = { version: 2, opcode: PcpOpcode.MAP, result, lifetime: 120, epoch, body, options: opts } as PcpResponse;
      const b = encodePcpResponse(r);
      assert.equal(b.length % 4, 0);
      assert.deepEqual(clean(decodePcpResponse(b)), clean(r));
      const peer: PcpResponse = { version: 2, opcode: PcpOpcode.PEER, result, lifetime: 120, epoch, body: { ...body, remoteAddress, remotePort }, options: { preferFailure: false, filters: [], ...(opts.thirdParty !== undefined ? { thirdParty: opts.thirdParty } : {}) } };
      const pb = encodePcpResponse(peer);
      assert.equal(pb.length, 80 + (opts.thirdParty !== undefined ? 20 : 0));
      assert.deepEqual(clean(decodePcpResponse(pb)), clean(peer));
    }),
  );
});

test('option wire layout: FILTER is code 3, length 20, prefix at +5, port at +6, address at +8', () => {
  const b = encodePcpRequest({ opcode: PcpOpcode.MAP, lifetime: 60, clientAddress: '10.0.0.2', body: { nonce: new Uint8Array(12), protocol: 6, internalPort: 80, externalPort: 0, externalAddress: '::' }, options: { preferFailure: true, filters: [{ prefixLength: 128, remotePort: 517, remoteAddress: '198.51.100.2' }], thirdParty: '10.0.0.3' } });
  assert.equal(b.length, 60 + 20 + 4 + 24);
  assert.deepEqual(Array.from(b.subarray(60, 64)), [1, 0, 0, 16], 'THIRD_PARTY header');
  assert.deepEqual(Array.from(b.subarray(76, 80)), [10, 0, 0, 3]);
  assert.deepEqual(Array.from(b.subarray(80, 84)), [2, 0, 0, 0], 'PREFER_FAILURE, no data');
  assert.deepEqual(Array.from(b.subarray(84, 88)), [3, 0, 0, 20], 'FILTER header');
  assert.deepEqual(Array.from(b.subarray(88, 92)), [0, 128, 2, 5], 'reserved, prefix 128, port 517');
  assert.deepEqual(Array.from(b.subarray(104, 108)), [198, 51, 100, 2]);
  // Options in the wrong opcode or wrong length are MALFORMED_OPTION; too many filters EXCESSIVE_REMOTE_PEERS.
  const many = encodePcpRequest({ opcode: PcpOpcode.MAP, lifetime: 60, clientAddress: '10.0.0.2', body: { nonce: new Uint8Array(12), protocol: 6, internalPort: 80, externalPort: 0, externalAddress: '::' }, options: { preferFailure: false, filters: Array.from({ length: 9 }, () => ({ prefixLength: 128, remotePort: 0, remoteAddress: '198.51.100.2' })) } });
  const d = decodePcpRequest(many);
  assert.equal(d.kind === 'error' && d.result, PcpResult.EXCESSIVE_REMOTE_PEERS);
  const announceWithFilter = new Uint8Array(24 + 24);
  announceWithFilter.set(encodePcpRequest({ opcode: PcpOpcode.ANNOUNCE, lifetime: 0, clientAddress: '10.0.0.2', options: { preferFailure: false, filters: [] } }));
  announceWithFilter.set([3, 0, 0, 20], 24);
  const a = decodePcpRequest(announceWithFilter);
  assert.equal(a.kind === 'error' && a.result, PcpResult.MALFORMED_OPTION);
  const dupPf = new Uint8Array(68);
  dupPf.set(b.subarray(0, 60));
  dupPf.set([2, 0, 0, 0, 2, 0, 0, 0], 60);
  const p = decodePcpRequest(dupPf);
  assert.equal(p.kind === 'error' && p.result, PcpResult.MALFORMED_OPTION);
  // Lengths: not a multiple of 4 and over 1100 octets are MALFORMED_REQUEST.
  const odd = decodePcpRequest(new Uint8Array([2, 1, ...new Uint8Array(59)]));
  assert.equal(odd.kind === 'error' && odd.result, PcpResult.MALFORMED_REQUEST);
  const big = new Uint8Array(1104);
  big.set(b.subarray(0, 60));
  const bg = decodePcpRequest(big);
  assert.equal(bg.kind === 'error' && bg.result, PcpResult.MALFORMED_REQUEST);
});
