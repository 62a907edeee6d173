import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../shared/clock.js';
import fc from 'fast-check';
import { EpochTracker, PcpClient, PcpTimeoutError, nextRetransmission } from './pcp-client.js';
import { responder } from './testing/pcp-responder.js';
import { MiddleboxCore, type MiddleboxConfig } from './middlebox-core.js';
import { PCP_IRT_MS, PCP_MRT_MS, PcpResult } from './pcp-constants.js';

const cfg: MiddleboxConfig = { externalAddress: '203.0.113.1', insideNetworks: [], minLifetime: 2, maxLifetime: 600, thirdParty: [], portRange: [1024, 65535], maxMappings: 64, maxPerHost: 64 };


test('EpochTracker: backwards epoch or diverging elapsed times mean state loss (RFC 6887 §8.5)', () => {
  const t = new EpochTracker();
  assert.equal(t.observe(100, 0), false);
  assert.equal(t.observe(110, 10_000), false, 'consistent');
  assert.equal(t.observe(111, 12_000), false, 'within 2 s + 1/16');
  assert.equal(t.observe(5, 20_000), true, 'went backwards');
  assert.equal(t.observe(15, 30_000), false);
  assert.equal(t.observe(200, 40_000), true, 'server time ran far ahead');
});

test('PcpClient retransmits with doubling intervals (IRT, x2) and stops after mrc transmissions', async () => {
  const core = new MiddleboxCore(cfg, new ManualClock());
  const r = await responder(core, 2);
  const c = new PcpClient({ server: '127.0.0.1', port: r.port, irtMs: 60, mrc: 4 });
  try {
    const m = await c.map({ internalPort: 5555, suggestedPort: 40000, lifetime: 60 });
    assert.equal(m.result, PcpResult.SUCCESS);
    assert.equal(r.times.length, 3, 'two lost, the third answered');
    const [t0 = 0, , t2 = 0] = r.times;
    assert.ok(t2 - t0 >= (60 + 120) * 0.9 - 10, `waited IRT + 2 IRT before the third (${t2 - t0} ms)`);
  } finally {
    c.close();
  }
  const silent = await responder(core, 1000);
  const c2 = new PcpClient({ server: '127.0.0.1', port: silent.port, irtMs: 20, mrc: 3 });
  try {
    await assert.rejects(c2.announce(), PcpTimeoutError);
    assert.equal(silent.times.length, 3, 'exactly mrc transmissions');
  } finally {
    c2.close();
    r.sock.close();
    silent.sock.close();
  }
});

test('nextRetransmission(): doubling with +-10 % jitter, capped at MRT 1024 s (RFC 6887 §8.1.1)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2_000_000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (prev, u) => {
      const n = nextRetransmission(prev, u);
      assert.equal(n.base, Math.min(2 * prev, PCP_MRT_MS));
      assert.ok(n.delay >= Math.floor(n.base * 0.9) && n.delay <= Math.ceil(n.base * 1.1));
    }),
  );
  // From IRT 3 s: 6, 12, ... 768, then 1024 s for ever.
  let b = PCP_IRT_MS;
  const seq: number[] = [];
  for (let i = 0; i < 12; i++) seq.push((b = nextRetransmission(b, 0.5).base) / 1000);
  assert.deepEqual(seq, [6, 12, 24, 48, 96, 192, 384, 768, 1024, 1024, 1024, 1024]);
});

test('PcpClient detects server state loss through the epoch and re-creates its mappings', async () => {
  const serverClock = new ManualClock();
  const clientClock = new ManualClock();
  const core = new MiddleboxCore(cfg, serverClock);
  const r = await responder(core);
  const c = new PcpClient({ server: '127.0.0.1', port: r.port, irtMs: 200, mrc: 3, clock: clientClock });
  try {
    const m = await c.map({ internalPort: 5555, suggestedPort: 40000, lifetime: 60 });
    assert.equal(m.result, PcpResult.SUCCESS);
    serverClock.advance(20_000);
    clientClock.advance(20_000);
    let lost: number[] | null = null;
    c.onStateLoss = (rs) => (lost = rs.map((x) => x.result));
    await c.announce();
    assert.equal(lost, null, 'consistent epoch: no state loss');
    core.resetState(); // the server lost its mappings, epoch restarts
    assert.equal(core.mappings().length, 0);
    serverClock.advance(1000);
    clientClock.advance(1000);
    await c.announce();
    assert.deepEqual(lost, [PcpResult.SUCCESS], 'state loss detected, mapping re-created');
    assert.equal(core.mappings()[0]?.externalPort, 40000);
    assert.equal(core.mappings()[0]?.nonce, Buffer.from(m.nonce).toString('hex'), 're-created with the same nonce');
  } finally {
    c.close();
    r.sock.close();
  }
});

