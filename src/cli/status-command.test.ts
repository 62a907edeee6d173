import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { startAdminServer } from '../gateway/admin/admin-server.js';
import { formatAge, renderStatusTable } from '../gateway/admin/status-table.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminOfConfig, runStatus } from './status-command.js';

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

/** A hostile fake admin listener on loopback: `answer` writes whatever it likes. */
async function fakeServer(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ admin: string; close(): Promise<void> }> {
  const server = http.createServer(answer);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    admin: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The compiled command: a sibling under dist/src/cli/, or dist/ seen from src/cli/ (tsx). */
const distStatusCommand = import.meta.url.includes('/dist/src/cli/')
  ? new URL('./status-command.js', import.meta.url).href
  : new URL('../../dist/src/cli/status-command.js', import.meta.url).href;

test('talkgate status against an endless body stays under 64 MB RSS and exits 1 with a clear error', async () => {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const fake = await fakeServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"calls":[');
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  try {
    const script = `const m = await import(${JSON.stringify(distStatusCommand)});
      let err = ''; const code = await m.runStatus({ admin: process.argv[1] }, { out: { write() {} }, err: { write(s) { err += s; } } });
      process.stdout.write(JSON.stringify({ code, err, maxRssKb: process.resourceUsage().maxRSS }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, fake.admin], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await once(child, 'exit');
    const r = JSON.parse(out) as { code: number; err: string; maxRssKb: number };
    assert.equal(r.code, 1);
    assert.match(r.err, /sent more than 4194304 bytes; refusing the answer/);
    assert.ok(r.maxRssKb < 64 * 1024, `peak RSS ${r.maxRssKb} kB`);
    process.stdout.write(`# endless body: peak RSS ${r.maxRssKb} kB\n`);
  } finally {
    await fake.close();
  }
});

test('runStatus refuses to follow a redirect', async () => {
  let followed = false;
  const fake = await fakeServer((req, res) => {
    if (req.url === '/elsewhere') followed = true;
    res.writeHead(302, { location: '/elsewhere' });
    res.end(JSON.stringify(sample));
  });
  try {
    const err = sink();
    assert.equal(await runStatus({ admin: fake.admin }, { out: sink(), err }), 1);
    assert.match(err.text, /answered a redirect \(HTTP 302\); refusing to follow it/);
    assert.equal(followed, false);
  } finally {
    await fake.close();
  }
});

test('runStatus refuses deeply nested JSON and a 300,000-call answer with a clear error, not a RangeError', async () => {
  const deep = `{"calls":[],"x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
  const huge = JSON.stringify({ calls: Array.from({ length: 300_000 }, () => ({})) });
  const fake = await fakeServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url === '/api/status' && answer === 'deep' ? deep : huge);
  });
  let answer: 'deep' | 'huge' = 'deep';
  try {
    for (const json of [false, true]) {
      answer = 'deep';
      const err = sink();
      assert.equal(await runStatus({ admin: fake.admin, json }, { out: sink(), err }), 1);
      assert.match(err.text, /nested deeper than 32 levels; refusing it/);
      answer = 'huge';
      const err2 = sink();
      assert.equal(await runStatus({ admin: fake.admin, json }, { out: sink(), err: err2 }), 1);
      assert.match(err2.text, /lists 300000 calls, more than the 10000 this command shows/);
    }
  } finally {
    await fake.close();
  }
});

test('renderStatusTable() renders 200,000 calls (no spread of the call list onto the stack)', () => {
  const calls = Array.from({ length: 200_000 }, (_, i) => ({ callId: `c${i}` }));
  assert.equal(renderStatusTable({ calls }, 0).trimEnd().split('\n').length, 200_001);
});

test('runStatus escapes C0, DEL, C1 and bidi controls in every output mode, --json included', async () => {
  const hostile = { calls: [{ callId: 'c-1', caller: 'ev\u009b2Jil\u202e\u0007\u007f@x', callee: 'b\u2066ob', state: 'ringing' }], note: 'caf\u00e9 \u009b' };
  const fake = await fakeServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(hostile));
  });
  try {
    for (const json of [false, true]) {
      const out = sink();
      assert.equal(await runStatus({ admin: fake.admin, json }, { out, err: sink() }), 0);
      assert.doesNotMatch(out.text, /[^\n\u0020-\u007e]/, `json=${json}: ${JSON.stringify(out.text)}`);
      if (json) assert.deepEqual(JSON.parse(out.text), hostile);
      else assert.match(out.text, /ev\\x9b2Jil\\u\{202e\}\^G\^\?@x/);
    }
  } finally {
    await fake.close();
  }
});

test('talkgate status --config finds the admin listener in the gateway configuration, from any directory', async () => {
  const admin = await startAdminServer({ listen: '127.0.0.1:0', status: () => sample, registry: new Registry() });
  const dir = mkdtempSync(join(tmpdir(), 'tg-status-'));
  try {
    const conf = join(dir, 'gw.toml');
    writeFileSync(conf, `[inside]\naddress = "10.1.0.1"\nnetworks = ["10.1.0.0/24"]\n[outside]\naddress = "198.51.100.1"\n[[policy]]\naction = "allow"\n[admin]\nlisten = "127.0.0.1:${admin.address.port}"\n`);
    const bin = fileURLToPath(new URL('../../../bin/talkgate.js', import.meta.url));
    const p = spawn(process.execPath, [bin, 'status', '--config', conf], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const [code] = (await once(p, 'exit')) as [number];
    assert.equal(code, 0);
    assert.match(out, /^g-1\s+outbound/m);
    // A configuration without an admin listener says so.
    writeFileSync(conf, `[inside]\naddress = "10.1.0.1"\nnetworks = ["10.1.0.0/24"]\n[outside]\naddress = "198.51.100.1"\n[admin]\nlisten = "off"\n`);
    assert.match(String(await adminOfConfig(conf)), /has no admin listener/);
  } finally {
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
