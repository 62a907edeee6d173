import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../shared/clock.js';
import { PcpClient } from '../../pcp/pcp-client.js';
import { MiddleboxCore, type MiddleboxConfig } from '../../pcp/middlebox-core.js';
import { decodePcpRequest } from '../../pcp/pcp-request.js';
import { responder } from '../../pcp/testing/pcp-responder.js';
import { PcpDataPath } from './pcp-data-path.js';

const cfg: MiddleboxConfig = { externalAddress: '203.0.113.1', insideNetworks: [], minLifetime: 2, maxLifetime: 600, thirdParty: [], portRange: [1024, 65535], maxMappings: 64, maxPerHost: 64 };

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
  await dp.closeMapping('c1');
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
