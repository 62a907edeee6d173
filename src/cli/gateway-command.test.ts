/**
 * `talkgate gateway` as a process: SIGHUP reloads (and a broken file is rejected without stopping
 * the gateway); started as root it separates privileges (the worker runs as nobody). Loopback only, unusual ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { encodeNtalkCtlMsg, IMPOSSIBLE_ID, RequestType, sockAddr, TALK_VERSION } from '../protocol/index.js';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'bin', 'talkgate.js')); i++) dir = dirname(dir);
  return dir;
}
const BIN = join(repoRoot(), 'bin', 'talkgate.js');

const toml = (extra = ''): string => `mode = "classical"
[inside]
address = "127.0.0.1"
networks = ["127.0.0.1/32"]
daemon_ports = { ntalk = 16518, otalk = 16517 }
[outside]
address = "127.0.0.2"
dns = false
daemon_ports = { ntalk = 17518, otalk = 17517 }
[ports]
ntalk = 15518
otalk = 15517
[relay]
ports = "42100-42109"
[directory]
alice = "alice@127.0.0.1"
${extra}
[[policy]]
action = "allow"
[admin]
listen = "off"
`;

interface Gw {
  readonly proc: ChildProcess;
  log(): string;
  waitLog(re: RegExp, ms?: number): Promise<void>;
}

async function start(config: string): Promise<Gw> {
  let out = '';
  const proc = spawn(process.execPath, [BIN, 'gateway', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const gw: Gw = {
    proc,
    log: () => out,
    waitLog: async (re, ms = 10_000) => {
      const end = Date.now() + ms;
      while (!re.test(out)) {
        if (proc.exitCode !== null) throw new Error(`gateway exited ${proc.exitCode}:\n${out}`);
        if (Date.now() > end) throw new Error(`no /${re.source}/ in the gateway log within ${ms} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
  await gw.waitLog(/gateway running/);
  return gw;
}

/** The default config, world-readable in a fresh world-searchable directory (the gateway may run as nobody). */
function configFile(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tg-gw-cli-'));
  chmodSync(dir, 0o755);
  const file = join(dir, 'gw.toml');
  writeFileSync(file, toml(), { mode: 0o644 });
  return { dir, file };
}

async function stop(gw: Gw): Promise<number | null> {
  if (gw.proc.exitCode !== null) return gw.proc.exitCode;
  const exited = new Promise<number | null>((r) => gw.proc.once('exit', (code) => r(code)));
  gw.proc.kill('SIGTERM');
  const t = setTimeout(() => gw.proc.kill('SIGKILL'), 5_000);
  const code = await exited;
  clearTimeout(t);
  return code;
}

test('talkgate gateway reloads on SIGHUP, rejects a broken file without stopping, and stops on SIGTERM', { timeout: 30_000 }, async () => {
  const { dir, file } = configFile();
  const gw = await start(file);
  try {
    writeFileSync(file, toml('bob = "bob@127.0.0.1"'));
    gw.proc.kill('SIGHUP');
    await gw.waitLog(/configuration reloaded/);
    writeFileSync(file, toml('[[policy]]\naction = "maybe"'));
    gw.proc.kill('SIGHUP');
    await gw.waitLog(/reload rejected/);
    assert.equal(gw.proc.exitCode, null, 'still running after a rejected reload');
  } finally {
    assert.equal(await stop(gw), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

const root = typeof process.getuid === 'function' && process.getuid() === 0;

/** Pids owning a UDP socket on `port` (ss -p). */
function udpOwners(port: number): number[] {
  const ss = execFileSync('ss', ['-H', '-uanp', `sport = :${port}`], { encoding: 'utf8' });
  return [...new Set([...ss.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

/** One ANNOUNCE for `rName` from loopback to the gateway's inside face (an audited call request). */
async function announce(rName: string): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  const msg = encodeNtalkCtlMsg({
    version: TALK_VERSION,
    type: RequestType.ANNOUNCE,
    id: IMPOSSIBLE_ID,
    addr: sockAddr('127.0.0.1', 30_001),
    ctlAddr: sockAddr('127.0.0.1', port),
    pid: 4242,
    lName: 'carol',
    rName,
    rTty: '',
  });
  await new Promise<void>((r) => s.send(msg, 15518, '127.0.0.1', () => r()));
  await new Promise((r) => setTimeout(r, 200));
  s.close();
}

test('started as root, the gateway separates privileges; SIGHUP re-reads a root-owned 0600 file and reopens a rotated audit log', { skip: root ? false : 'needs root', timeout: 30_000 }, async () => {
  const { dir, file } = configFile();
  const audit = join(dir, 'audit.jsonl');
  writeFileSync(file, toml(`[audit]\nfile = "${audit}"`));
  chmodSync(file, 0o600);
  const gw = await start(file);
  try {
    // The faces belong to one worker: nobody in every uid, no root group, no capability.
    const owners = udpOwners(15518);
    assert.equal(owners.length, 1, `one owner of the faces: ${owners.join(', ')}`);
    const worker = owners[0] as number;
    assert.notEqual(worker, gw.proc.pid, 'the privileged process owns no face');
    const status = readFileSync(`/proc/${worker}/status`, 'utf8');
    const nobody = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
    assert.match(status, new RegExp(`^Uid:\\s+${nobody}\\s+${nobody}\\s+${nobody}\\s+${nobody}$`, 'm'), 'real, effective, saved and fs uid');
    assert.doesNotMatch(status, /^Gid:\s+0\s/m, 'no root group left');
    assert.match(status, /^CapEff:\s+0{16}$/m, 'no capability');
    const privileged = execFileSync('ss', ['-H', '-uatnp'], { encoding: 'utf8' });
    assert.doesNotMatch(privileged, new RegExp(`pid=${gw.proc.pid},`), 'the privileged process holds no inet socket');
    assert.match(gw.log(), /"runningAs":\{"user":"nobody"/);
    assert.match(gw.log(), /127\.0\.0\.2:15518/, 'the outside face is served');

    await announce('alice');
    const first = readFileSync(audit, 'utf8');
    assert.match(first, /"event":"requested"/);
    // logrotate: rename, then SIGHUP; the change in the 0600 root-owned file applies.
    writeFileSync(file, toml(`bob = "bob@127.0.0.1"\n[audit]\nfile = "${audit}"`));
    renameSync(audit, `${audit}.1`);
    gw.proc.kill('SIGHUP');
    await gw.waitLog(/configuration reloaded; audit log reopened/);
    await announce('bob');
    const fresh = readFileSync(audit, 'utf8');
    assert.match(fresh, /"event":"requested"/, 'the next call is in the new file');
    assert.match(fresh, /"callee":"bob@127\.0\.0\.1"|bob/, 'the reloaded directory entry applies');
    assert.equal(readFileSync(`${audit}.1`, 'utf8'), first, 'the rotated file keeps every earlier record, none is lost');
  } finally {
    assert.equal(await stop(gw), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--log-file: SIGHUP reopens a log file that logrotate moved, and no line is lost', { timeout: 30_000 }, async () => {
  const { dir, file } = configFile();
  const log = join(dir, 'gateway.log');
  const proc = spawn(process.execPath, [BIN, 'gateway', '--config', file, '--log-file', log], { stdio: ['ignore', 'ignore', 'pipe'] });
  const read = (p: string): string => (existsSync(p) ? readFileSync(p, 'utf8') : '');
  const waitFor = async (p: string, re: RegExp): Promise<void> => {
    const end = Date.now() + 10_000;
    while (!re.test(read(p))) {
      if (proc.exitCode !== null || Date.now() > end) throw new Error(`no /${re.source}/ in ${p}:\n${read(p)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    await waitFor(log, /gateway running/);
    renameSync(log, `${log}.1`);
    proc.kill('SIGHUP');
    await waitFor(log, /configuration reloaded/);
    assert.match(read(`${log}.1`), /gateway running/, 'the lines before the rotation stay in the rotated file');
    assert.doesNotMatch(read(`${log}.1`), /configuration reloaded/, 'nothing after the rotation goes to the old file');
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
