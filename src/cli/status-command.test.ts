import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { startAdminServer } from '../gateway/admin/admin-server.js';
import { formatAge, renderStatusTable } from '../gateway/admin/status-table.js';
import { runStatus } from './status-command.js';

function sink(): { write(s: string): boolean; text: string } {
  return {
    text: '',
    write(s: string) {
      this.text += s;
      return true;
    },
  };
}

const sample = {
  calls: [
    { id: 'g-1', direction: 'outbound', caller: 'alice@10.1.0.2', callee: 'bob@rc-out', state: 'relaying', ageMs: 187_000, relayPort: 40001 },
    { id: 'g-2', direction: 'inbound', caller: 'ev\x1b[2Jil@198.51.100.9', callee: 'alice', state: 'ringing', ageMs: 4_000, relayPort: null },
  ],
  version: '0.1.0',
};

test('runStatus prints the live calls of a running gateway as a table', async () => {
  const admin = await startAdminServer({ listen: '127.0.0.1:0', status: () => sample, registry: new Registry() });
  try {
    const out = sink();
    const err = sink();
    const code = await runStatus({ admin: `127.0.0.1:${admin.address.port}` }, { out, err });
    assert.equal(code, 0, err.text);
    const lines = out.text.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^ID\s+DIRECTION\s+CALLER\s+CALLEE\s+STATE\s+AGE\s+RELAY PORT$/);
    assert.match(lines[1]!, /^g-1\s+outbound\s+alice@10\.1\.0\.2\s+bob@rc-out\s+relaying\s+3m07s\s+40001$/);
    assert.match(lines[2]!, /^g-2\s+inbound\s+ev\^\[\[2Jil@198\.51\.100\.9\s+alice\s+ringing\s+4s\s+-$/);
    assert.equal(out.text.includes('\x1b'), false);
  } finally {
    await admin.close();
  }
});

test('runStatus --json prints the status JSON', async () => {
  const admin = await startAdminServer({ listen: '127.0.0.1:0', status: () => sample, registry: new Registry() });
  try {
    const out = sink();
    assert.equal(await runStatus({ admin: `127.0.0.1:${admin.address.port}`, json: true }, { out, err: sink() }), 0);
    assert.deepEqual(JSON.parse(out.text), sample);
  } finally {
    await admin.close();
  }
});

test('runStatus exits 1 with a clear message when no gateway listens', async () => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const err = sink();
  assert.equal(await runStatus({ admin: `127.0.0.1:${port}` }, { out: sink(), err }), 1);
  assert.match(err.text, /cannot reach the gateway admin listener at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  assert.equal(await runStatus({ admin: 'nonsense' }, { out: sink(), err: sink() }), 2);
});

test('renderStatusTable() says so when there are no calls and computes age from startedAt', () => {
  assert.equal(renderStatusTable({ calls: [] }, 0), 'no live calls\n');
  assert.match(renderStatusTable({ calls: [{ callId: 'x', startedAt: 1_000 }] }, 3_662_000), /^x\s+-\s+-\s+-\s+-\s+1h01m\s+-$/m);
  assert.equal(formatAge(59_999), '59s');
});

test("renderStatusTable() shows the age of the gateway's own status (the ISO `since` of each call)", () => {
  const since = '2026-01-01T00:00:00.000Z';
  const now = Date.parse(since) + 187_000;
  assert.match(renderStatusTable({ calls: [{ callId: 'c-000001', state: 'connected', since }] }, now), /^c-000001\s+-\s+-\s+-\s+connected\s+3m07s\s+-$/m);
});
