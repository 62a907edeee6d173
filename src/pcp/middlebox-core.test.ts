import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../shared/clock.js';
import { MiddleboxCore, type MiddleboxConfig } from './middlebox-core.js';
import { encodePcpRequest, decodePcpRequest } from './pcp-request.js';
import { decodePcpResponse } from './pcp-response.js';
import { PcpOpcode, PcpResult } from './pcp-constants.js';

const cfg: MiddleboxConfig = { externalAddress: '203.0.113.1', insideNetworks: ['10.0.0.0/24'], minLifetime: 10, maxLifetime: 100, thirdParty: ['10.0.0.9'], portRange: [1024, 65535], maxMappings: 10, maxPerHost: 5 };
const N1 = new Uint8Array(12).fill(1);
const N2 = new Uint8Array(12).fill(2);
function mapReq(o: { client?: string; nonce?: Uint8Array; lifetime?: number; port?: number; ext?: number; filter?: string; pf?: boolean; tp?: string }) {
  return encodePcpRequest({
    opcode: PcpOpcode.MAP, lifetime: o.lifetime ?? 60, clientAddress: o.client ?? '10.0.0.2',
    body: { nonce: o.nonce ?? N1, protocol: 6, internalPort: o.port ?? 5555, externalPort: o.ext ?? 0, externalAddress: '::' },
    options: { preferFailure: o.pf === true, filters: o.filter === undefined ? [] : [{ prefixLength: 128, remotePort: 0, remoteAddress: o.filter }], ...(o.tp !== undefined ? { thirdParty: o.tp } : {}) },
  });
}
function run(core: MiddleboxCore, bytes: Uint8Array, source = '10.0.0.2', commit = true) {
  const a = core.handlePcp(bytes, source);
  const v = a.kind === 'done' ? a.value : commit ? a.commit(0) : a.fail('exists', 0);
  assert.ok(v !== null);
  return { resp: decodePcpResponse(v), ops: a.kind === 'transact' ? a.ops : [] };
}

test('MAP with FILTER installs a hole restricted to that peer; SUCCESS only on commit', () => {
  const core = new MiddleboxCore(cfg, new ManualClock());
  const { resp, ops } = run(core, mapReq({ filter: '198.51.100.2', ext: 40000, lifetime: 1000 }));
  assert.equal(resp.result, PcpResult.SUCCESS);
  assert.equal(resp.lifetime, 100, 'clamped to max_lifetime');
  assert.equal(resp.body?.externalPort, 40000);
  assert.equal(resp.body?.externalAddress, '203.0.113.1');
  assert.equal(ops[0]?.kind, 'open');
  assert.equal(ops[0]?.kind === 'open' ? ops[0].hole.peer : '', '198.51.100.2');
  const failed = run(new MiddleboxCore(cfg, new ManualClock()), mapReq({}), '10.0.0.2', false);
  assert.equal(failed.resp.result, PcpResult.CANNOT_PROVIDE_EXTERNAL);
});

test('PREFER_FAILURE gets CANNOT_PROVIDE_EXTERNAL, no substitute port', () => {
  const core = new MiddleboxCore(cfg, new ManualClock());
  run(core, mapReq({ ext: 40000 }));
  const r = run(core, mapReq({ ext: 40000, port: 6000, pf: true, client: '10.0.0.3' }), '10.0.0.3');
  assert.equal(r.resp.result, PcpResult.CANNOT_PROVIDE_EXTERNAL);
  assert.equal(r.ops.length, 0);
  const sub = run(core, mapReq({ ext: 40000, port: 6000, client: '10.0.0.3' }), '10.0.0.3');
  assert.equal(sub.resp.result, PcpResult.SUCCESS);
  assert.notEqual(sub.resp.body?.externalPort, 40000);
});

test('renew/delete need the same nonce and the same client', () => {
  const core = new MiddleboxCore(cfg, new ManualClock());
  run(core, mapReq({}));
  assert.equal(run(core, mapReq({ nonce: N2 })).resp.result, PcpResult.NOT_AUTHORIZED);
  assert.equal(run(core, mapReq({ nonce: N2, lifetime: 0 })).resp.result, PcpResult.NOT_AUTHORIZED);
  assert.equal(run(core, mapReq({ lifetime: 0 })).resp.result, PcpResult.SUCCESS);
  assert.equal(core.mappings().length, 0);
});

test('THIRD_PARTY only from listed agents; ADDRESS_MISMATCH; outside subjects refused', () => {
  const core = new MiddleboxCore(cfg, new ManualClock());
  assert.equal(run(core, mapReq({ client: '10.0.0.3', tp: '10.0.0.4' }), '10.0.0.3').resp.result, PcpResult.NOT_AUTHORIZED);
  assert.equal(run(core, mapReq({ client: '10.0.0.9', tp: '10.0.0.4' }), '10.0.0.9').resp.result, PcpResult.SUCCESS);
  assert.equal(core.mappings()[0]?.subject, '10.0.0.4');
  assert.equal(run(core, mapReq({ client: '10.0.0.7' }), '10.0.0.8').resp.result, PcpResult.ADDRESS_MISMATCH);
  assert.equal(run(core, mapReq({ client: '192.168.1.1' }), '192.168.1.1').resp.result, PcpResult.NOT_AUTHORIZED);
});

test('epoch counts seconds and restarts on state loss; expiry frees mappings', () => {
  const clock = new ManualClock();
  const core = new MiddleboxCore(cfg, clock);
  run(core, mapReq({ lifetime: 10 }));
  clock.advance(5000);
  assert.equal(core.epoch(), 5);
  clock.advance(6000);
  assert.equal(core.expire().length, 1);
  core.resetState();
  assert.equal(core.epoch(), 0);
});

test('handlePcp() answers every mutated request with a well-formed response or silence', () => {
  const core = new MiddleboxCore(cfg, new ManualClock());
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(100), fc.nat(255)), { maxLength: 8 }), fc.nat(120), (flips, cut) => {
      const b = mapReq({ filter: '198.51.100.2', pf: true }).slice();
      for (const [i, v] of flips) if (i < b.length) b[i] = v;
      const a = core.handlePcp(b.subarray(0, Math.min(cut, b.length)), '10.0.0.2');
      const v = a.kind === 'done' ? a.value : a.fail('other', 0);
      const d = decodePcpRequest(b.subarray(0, Math.min(cut, b.length)));
      if (v === null) assert.equal(d.kind, 'silent');
      else assert.ok(decodePcpResponse(v).result <= 13);
    }),
    { numRuns: 2000 },
  );
});
