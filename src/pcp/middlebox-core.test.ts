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

/** Checks a server answer to `req` is well-formed per RFC 6887 §7.2/§8.3. */
function checkAnswer(req: Uint8Array, v: Uint8Array | null): void {
  const d = decodePcpRequest(req);
  if (v === null) {
    assert.equal(d.kind, 'silent', 'only <2 octets or a response (R bit) is dropped silently');
    return;
  }
  assert.notEqual(d.kind, 'silent');
  assert.ok(v.length >= 24 && v.length <= 1100 && v.length % 4 === 0, `length ${v.length}`);
  assert.equal(v[0], 2, 'answered as version 2');
  assert.equal(v[1], ((req[1] ?? 0) & 0x7f) | 0x80, 'R bit + the request opcode');
  const r = decodePcpResponse(v);
  assert.ok(r.result <= 13);
  if (d.kind === 'error') assert.equal(r.result, d.result, 'the decoder\u2019s result code');
  if (r.result !== PcpResult.SUCCESS && r.opcode === PcpOpcode.MAP && r.body !== undefined) {
    assert.deepEqual(Array.from(r.body.nonce), Array.from(req.subarray(24, 36)), 'error echoes the nonce');
  }
}

test('fuzz: mutated valid requests get a well-formed answer with the right code, or silence (RFC 6887 §8.3)', () => {
  const core = new MiddleboxCore(cfg, new ManualClock());
  const valid = [
    mapReq({ filter: '198.51.100.2', pf: true }),
    mapReq({ tp: '10.0.0.4', client: '10.0.0.9' }),
    mapReq({ lifetime: 0 }),
    encodePcpRequest({ opcode: PcpOpcode.ANNOUNCE, lifetime: 0, clientAddress: '10.0.0.2', options: { preferFailure: false, filters: [] } }),
    encodePcpRequest({ opcode: PcpOpcode.PEER, lifetime: 60, clientAddress: '10.0.0.2', body: { nonce: N1, protocol: 6, internalPort: 1, externalPort: 2, externalAddress: '::', remotePort: 3, remoteAddress: '198.51.100.9' }, options: { preferFailure: false, filters: [] } }),
  ];
  fc.assert(
    fc.property(fc.nat(valid.length - 1), fc.array(fc.tuple(fc.nat(130), fc.nat(255)), { maxLength: 8 }), fc.option(fc.nat(140), { nil: undefined }), fc.boolean(), (which, flips, cut, commit) => {
      const b = (valid[which] ?? new Uint8Array()).slice();
      for (const [i, v] of flips) if (i < b.length) b[i] = v;
      const req = cut === undefined ? b : b.subarray(0, Math.min(cut, b.length));
      const source = req[0] === 2 && req.length >= 24 ? (req[20] === 10 ? `10.${req[21]}.${req[22]}.${req[23]}` : '10.0.0.2') : '10.0.0.2';
      const a = core.handlePcp(req, source);
      const v = a.kind === 'done' ? a.value : commit ? a.commit(0) : a.fail('other', 0);
      checkAnswer(req, v);
    }),
    { numRuns: 3000 },
  );
  assert.ok(core.mappings().length <= cfg.maxMappings, 'bounded table');
});

test('fuzz: NAT-PMP requests never throw and are answered in RFC 6886 sizes', () => {
  const core = new MiddleboxCore(cfg, new ManualClock());
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 16 }), fc.boolean(), (raw, commit) => {
      const b = raw.slice();
      if (b.length > 0) b[0] = 0;
      const a = core.handleNatpmp(b, '10.0.0.2');
      const v = a.kind === 'done' ? a.value : commit ? a.commit(0) : a.fail('other', 0);
      if (v === null) return;
      assert.ok([8, 12, 16].includes(v.length));
      assert.equal(v[1], ((b[1] ?? 0) | 0x80) & 0xff);
    }),
    { numRuns: 2000 },
  );
});

test('lifetimes clamped both ways; DESCRIPTION kept in the rule comment (sanitised); NAT-PMP address', () => {
  const core = new MiddleboxCore(cfg, new ManualClock());
  const short = run(core, mapReq({ lifetime: 1 }));
  assert.equal(short.resp.lifetime, 10, 'raised to min_lifetime');
  const b = encodePcpRequest({ opcode: PcpOpcode.MAP, lifetime: 50, clientAddress: '10.0.0.3', body: { nonce: N1, protocol: 17, internalPort: 7, externalPort: 0, externalAddress: '::' }, options: { preferFailure: false, filters: [], description: 'call\u001b[2J 42' } });
  const r = run(core, b, '10.0.0.3');
  assert.equal(r.resp.result, PcpResult.SUCCESS);
  const op = r.ops[0];
  assert.ok(op?.kind === 'open' && op.hole.id.includes('call_[2J 42') && op.hole.protocol === 'udp');
  const a = core.handleNatpmp(Uint8Array.of(0, 0), '10.0.0.2');
  assert.deepEqual(a.kind === 'done' && Array.from(a.value ?? []).slice(8), [203, 0, 113, 1]);
});

test('refusals are answered at once (no firewall transaction, no port scan)', () => {
  const core = new MiddleboxCore({ ...cfg, portRange: [1024, 65535] }, new ManualClock());
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) {
    const a = core.handlePcp(mapReq({ client: '192.168.1.1', port: 1000 + i }), '192.168.1.1');
    assert.equal(a.kind, 'done');
  }
  assert.ok(performance.now() - t0 < 500, 'refusing 200 requests takes well under a second');
});

test('the log entry of a MAP names the mapping it created, renewed or deleted, and the result code', () => {
  const core = new MiddleboxCore(cfg, new ManualClock());
  const entry = (bytes: Uint8Array) => {
    const a = core.handlePcp(bytes, '10.0.0.2');
    if (a.kind === 'transact') a.commit(0);
    return a.log;
  };
  const created = entry(mapReq({}));
  assert.match(created.mappingId ?? '', /^map-\d+$/);
  assert.equal(created.result, PcpResult.SUCCESS);
  assert.equal(created.msg, 'MAP: created');
  const id = core.mappings()[0]?.id;
  assert.equal(created.mappingId, id);
  assert.equal(entry(mapReq({})).mappingId, id, 'renewed');
  const refused = entry(mapReq({ nonce: N2 }));
  assert.equal(refused.result, PcpResult.NOT_AUTHORIZED);
  assert.equal(refused.mappingId, undefined, 'a refusal names no mapping');
  assert.equal(entry(mapReq({ lifetime: 0 })).mappingId, id, 'deleted');
});
