/**
 * `talkgate gateway` as a process: SIGHUP reloads (and a broken file is rejected without stopping
 * the gateway); started as root it binds and then runs as nobody. Loopback only, unusual ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
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

test('started as root, talkgate gateway binds its faces and then runs as nobody', { skip: root ? false : 'needs root', timeout: 30_000 }, async () => {
  const { dir, file } = configFile();
  const gw = await start(file);
  try {
    const status = readFileSync(`/proc/${gw.proc.pid}/status`, 'utf8');
    const nobody = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
    assert.match(status, new RegExp(`^Uid:\\s+${nobody}\\s+${nobody}\\s+${nobody}\\s+${nobody}$`, 'm'), 'real, effective, saved and fs uid');
    assert.doesNotMatch(status, /^Gid:\s+0\s/m, 'no root group left');
    assert.match(gw.log(), /"runningAs":\{"user":"nobody"/);
    assert.match(gw.log(), /127\.0\.0\.2:15518/, 'the outside face was bound before the drop');
    // A reload still works unprivileged (the file is world-readable).
    gw.proc.kill('SIGHUP');
    await gw.waitLog(/configuration reloaded/);
  } finally {
    assert.equal(await stop(gw), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
