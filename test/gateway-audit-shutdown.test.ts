/**
 * Issue 18, clean edges: with `[audit] file` on a device that rejects fsync (/dev/full answers
 * EINVAL), SIGTERM used to end in an uncaught EINVAL and lose the gateway's pending log lines. The
 * real gateway process, on loopback ports picked free at run time: SIGTERM exits 0, the fsync
 * failure is logged as an error line, and the lines before it ("gateway running", "gateway
 * stopping") all reach stderr.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, statSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../src/config/load-gateway-config.js';

/** Bound on each wait (start, stop) of the gateway process. */
const STEP_TIMEOUT_MS = 15_000;

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  const port = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

test('gateway with [audit] file = /dev/full: SIGTERM exits 0, logs the fsync error and loses no log line', { skip: existsSync('/dev/full') ? false : 'no /dev/full', timeout: 3 * STEP_TIMEOUT_MS }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-auditfull-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [ntalk, otalk, admin] = [await freeUdpPort(), await freeUdpPort(), await freeTcpPort()];
  const conf = join(dir, 'gateway.toml');
  const base = readFileSync(join(packageRoot(), 'examples', 'gateway-default.toml'), 'utf8')
    .replace(/^ntalk = 5518$/m, `ntalk = ${ntalk}`)
    .replace(/^otalk = 5517$/m, `otalk = ${otalk}`)
    .replace(/^listen = "127\.0\.0\.1:9518"$/m, `listen = "127.0.0.1:${admin}"`);
  assert.ok(base.includes(`ntalk = ${ntalk}`) && base.includes(`127.0.0.1:${admin}`), 'example config changed shape');
  writeFileSync(conf, `${base}\n[audit]\nfile = "/dev/full"\n`);

  const gw = spawn(process.execPath, [join(packageRoot(), 'bin', 'talkgate.js'), 'gateway', '--config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (gw.exitCode === null && gw.signalCode === null) gw.kill('SIGKILL');
  });
  let stderr = '';
  gw.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  gw.stdout.resume();
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((res) => gw.once('exit', (code, sig) => res([code, sig])));

  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!stderr.includes('gateway running') && gw.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.match(stderr, /gateway running/, stderr);
  gw.kill('SIGTERM');
  const timer = setTimeout(() => gw.kill('SIGKILL'), STEP_TIMEOUT_MS);
  const [code, sig] = await exited;
  clearTimeout(timer);

  assert.deepEqual([code, sig], [0, null], stderr);
  const lines = stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg?: string; err?: string; level?: number });
  const msgs = lines.map((l) => l.msg ?? '');
  // As root the gateway runs privilege separated: its worker writes the audit log (more start-up lines).
  const running = msgs.findIndex((m) => m.startsWith('gateway running'));
  const stopping = msgs.indexOf('gateway stopping');
  const failed = msgs.indexOf('audit log fsync failed');
  assert.ok(running >= 0 && running < stopping && stopping < failed, stderr);
  assert.equal(lines[failed]?.err, 'EINVAL');
  // The audit target is a device: nobody may take it over (the privileged side hands over regular files only).
  if (typeof process.getuid === 'function' && process.getuid() === 0) assert.equal(statSync('/dev/full').uid, 0, '/dev/full changed owner');
});
