import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { ManualClock } from '../shared/clock.js';
import fc from 'fast-check';
import { EpochTracker, PcpClient, PcpTimeoutError, nextRetransmission } from './pcp-client.js';
import { PcpDataPath } from './pcp-data-path.js';
import { MiddleboxCore, type MiddleboxConfig } from './middlebox-core.js';
import { PCP_IRT_MS, PCP_MRT_MS, PcpResult } from './pcp-constants.js';
import { decodePcpRequest } from './pcp-request.js';

const cfg: MiddleboxConfig = { externalAddress: '203.0.113.1', insideNetworks: [], minLifetime: 2, maxLifetime: 600, thirdParty: [], portRange: [1024, 65535], maxMappings: 64, maxPerHost: 64 };

/**
 * A loopback PCP responder around the pure middlebox core (firewall transactions committed as
 * they come: this tests the client, not nftables). `drop` datagrams are ignored first.
 */
async function responder(core: MiddleboxCore, drop = 0): Promise<{ sock: Socket; port: number; times: number[] }> {
  const sock = createSocket('udp4');
  const times: number[] = [];
  let toDrop = drop;
  sock.on('message', (msg, rinfo) => {
    times.push(performance.now());
    if (toDrop-- > 0) return;
    const a = core.handlePcp(new Uint8Array(msg), rinfo.address);
    const v = a.kind === 'done' ? a.value : a.commit(0);
    if (v !== null) sock.send(v, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, port: sock.address().port, times };
}

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

test('PcpDataPath: hole via MAP+THIRD_PARTY+FILTER before ringing; refusal is data; close deletes', async () => {
  const core = new MiddleboxCore({ ...cfg, thirdParty: ['127.0.0.1'] }, new ManualClock());
  const r = await responder(core);
  const seen: string[] = [];
  const sock = r.sock;
  sock.prependListener('message', (msg) => {
    const d = decodePcpRequest(new Uint8Array(msg));
    if (d.kind === 'request') seen.push(`${d.request.options.thirdParty ?? '-'} ${d.request.options.filters.map((f) => f.remoteAddress).join(',')}`);
  });
  const logs: string[] = [];
  const c1 = new PcpClient({ server: '127.0.0.1', port: r.port, irtMs: 200, mrc: 3 });
  const dp = new PcpDataPath({ client: c1, log: (id, l) => logs.push(`${id} ${l}`) });
  const req = {
    callId: 'c1',
    listenSide: 'outside' as const,
    listenAddress: '203.0.113.1',
    expectedPeer: '198.51.100.7',
    target: { address: '10.0.0.5', port: 7001 },
    bindAddress: '10.0.0.1',
    acceptDeadlineMs: 30_000,
  };
  const ok = await dp.open(req);
  assert.deepEqual(ok, { ok: true, address: '203.0.113.1', port: 7001 });
  assert.deepEqual(seen, ['10.0.0.5 198.51.100.7']);
  const m = core.mappings()[0];
  assert.deepEqual([m?.subject, m?.requester, m?.peer, m?.internalPort], ['10.0.0.5', '127.0.0.1', '198.51.100.7', 7001]);
  assert.ok(logs.every((l) => l.startsWith('c1 ')), 'every log line carries the call id');
  // A second call for the same inside port: the middlebox refuses (different nonce) → not rung.
  const refused = await dp.open({ ...req, callId: 'c2' });
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.detail, 'PCP NOT_AUTHORIZED');
  await dp.close('c1');
  assert.equal(core.mappings().length, 0, 'deleted with its nonce');
  assert.equal(dp.size, 0);
  const inside = await dp.open({ ...req, callId: 'c3', listenSide: 'inside', target: { address: '198.51.100.7', port: 9000 } });
  assert.deepEqual(inside, { ok: true, address: '198.51.100.7', port: 9000 });
  assert.equal(seen.length, 3, 'no PCP request for an inside listener');
  // An agent the middlebox does not list is refused before anything is opened.
  const core2 = new MiddleboxCore(cfg, new ManualClock());
  const r2 = await responder(core2);
  const c2 = new PcpClient({ server: '127.0.0.1', port: r2.port, irtMs: 200, mrc: 3 });
  const dp2 = new PcpDataPath({ client: c2 });
  const na = await dp2.open(req);
  assert.equal(!na.ok && na.detail, 'PCP NOT_AUTHORIZED');
  assert.equal(core2.mappings().length, 0);
  c1.close();
  c2.close();
  r.sock.close();
  r2.sock.close();
});
