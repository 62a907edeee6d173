/**
 * Issue 18 acceptance, end to end: from one attacker address, 200 distinct ANNOUNCEs through the
 * gateway at a rate under the per-source limit; meanwhile a genuine call from another address
 * completes at once, and the callee's terminal rings at most the configured bound; then the same
 * on the outside face.
 *
 * Loopback, not the netns lab: the whole of 127.0.0.0/8 is local, so the attacker and the genuine
 * caller get distinct source addresses (127.1.0.5 / 127.2.0.5 against 127.0.0.1) on both faces
 * without root or namespaces, and the test runs wherever the README demo runs. The parties are
 * `talkgate talkd` with private utmp files and real `talkgate talk` clients in tmux terminals, as
 * in test/gateway-demo.test.ts; rings are counted in the callees' ptys (tmux history). Ports are
 * this file's own (x5518 …), so it runs beside the demo test. As root, every process runs as nobody.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lab/peers.js';
import { run, sleep, waitUntil } from './lab/proc.js';
import { encodeNtalkCtlMsg, IMPOSSIBLE_ID, RequestType, sockAddr, TALK_VERSION } from '../src/protocol/index.js';

const TMUX = '/usr/bin/tmux';
const RUNUSER = '/usr/sbin/runuser';
/** This file's ports (unused by the other loopback tests). */
const GW_NTALK = 25518;
const GW_OTALK = 25517;
const IN_TALKD = 26518;
const OUT_TALKD = 27518;
const ADMIN = '127.0.0.1:29518';
/** Attack shape of the issue: 200 distinct ANNOUNCEs from one address, under its per-source rate. */
const ATTACK_COUNT = 200;
const ATTACK_RATE = 80;
const PER_SOURCE_RATE = 100;
/** Bounds under test. */
const PENDING_PER_CALLEE = 2;
const CALLS_PER_SOURCE = 3;
/** "Completes at once": ring and connection well inside one client resend period (2 s). */
const AT_ONCE_MS = 2_000;

function skipReason(): string | false {
  if (process.platform !== 'linux') return 'needs Linux (/proc, ptys)';
  try {
    accessSync(TMUX, constants.X_OK);
  } catch {
    return process.env['CI'] === 'true' ? false : 'tmux is not installed';
  }
  return false;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const asUser = (argv: string[]): string[] => (asRoot ? [RUNUSER, '-u', 'nobody', '--', ...argv] : argv);

function gatewayToml(): string {
  return `mode = "classical"
[inside]
address = "127.0.0.1"
networks = ["127.0.0.1/32"]
daemon_ports = { ntalk = ${IN_TALKD}, otalk = ${IN_TALKD - 1} }
[outside]
address = "127.0.0.2"
hosts = { "rc-out" = "127.0.0.1" }
dns = false
daemon_ports = { ntalk = ${OUT_TALKD}, otalk = ${OUT_TALKD - 1} }
[ports]
ntalk = ${GW_NTALK}
otalk = ${GW_OTALK}
[relay]
ports = "42300-42399"
[directory]
alice = "alice@127.0.0.1"
ian = "ian@127.0.0.1"
jo = "jo@127.0.0.1"
kim = "kim@127.0.0.1"
bob = "bob@rc-out"
[[policy]]
action = "allow"
[limits]
max_calls = 32
rate = ${PER_SOURCE_RATE}
burst = ${PER_SOURCE_RATE}
global_rate = 400
global_burst = 400
calls_per_source = ${CALLS_PER_SOURCE}
pending_per_callee = ${PENDING_PER_CALLEE}
[admin]
listen = "${ADMIN}"
`;
}

/** Sends `count` distinct ANNOUNCEs (own l_name, pid and callee cycle) from `from` at `rate`/s. */
async function attack(from: string, face: string, callees: readonly string[], count: number, rate: number): Promise<number> {
  const s = createSocket('udp4');
  s.on('error', () => {});
  await new Promise<void>((resolve) => s.bind(0, from, resolve));
  const t0 = Date.now();
  let sent = 0;
  try {
    while (sent < count && Date.now() - t0 < (count / rate) * 1000 + 5_000) {
      const due = Math.min(count, Math.floor(((Date.now() - t0) * rate) / 1000) + 1);
      for (; sent < due; sent++) {
        const msg = encodeNtalkCtlMsg({
          version: TALK_VERSION,
          type: RequestType.ANNOUNCE,
          id: IMPOSSIBLE_ID,
          addr: sockAddr(from, 30_000 + sent),
          ctlAddr: sockAddr(from, s.address().port),
          pid: 10_000 + sent,
          lName: `m${sent}`,
          rName: callees[sent % callees.length] ?? '',
          rTty: '',
        });
        s.send(msg, GW_NTALK, face);
      }
      await sleep(10);
    }
  } finally {
    s.close();
  }
  return sent;
}

test('fair shares: 200 ANNOUNCEs from one address on either face neither block a genuine call nor ring its callee past the bound', { skip: skipReason(), timeout: 90_000 }, async (t) => {
  const root = repoRoot();
  const dir = mkdtempSync('/tmp/tg-shares-test-');
  chmodSync(dir, 0o777);
  const utmpIn = join(dir, 'utmp-in');
  const utmpOut = join(dir, 'utmp-out');
  const config = join(dir, 'gateway.toml');
  for (const f of [utmpIn, utmpOut]) {
    writeFileSync(f, '');
    chmodSync(f, 0o666);
  }
  writeFileSync(config, gatewayToml(), { mode: 0o644 });
  const sock = join(dir, 'tmux.sock');
  const node = process.execPath;
  const tg = join(root, 'bin', 'talkgate.js');
  const servers: ChildProcess[] = [];
  const logs: string[] = [];
  const serve = (argv: string[]): ChildProcess => {
    const [cmd = '', ...rest] = asUser(argv);
    const p = spawn(cmd, rest, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.setEncoding('utf8').on('data', (d: string) => logs.push(d));
    p.stderr?.setEncoding('utf8').on('data', (d: string) => logs.push(d));
    servers.push(p);
    return p;
  };
  const tmux = async (...args: string[]): Promise<string> => (await run(asUser([TMUX, '-S', sock, ...args]))).stdout;
  const typeIn = async (w: string, text: string): Promise<void> => {
    await tmux('send-keys', '-t', `shares:${w}`, '-l', '--', text);
    await tmux('send-keys', '-t', `shares:${w}`, 'Enter');
  };
  /** The whole pty history of a terminal (every ring it ever got). */
  const history = (w: string): Promise<string> => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', `shares:${w}`);
  const count = async (w: string, re: RegExp): Promise<number> => [...(await history(w)).matchAll(new RegExp(re.source, 'g'))].length;
  /** Waits until `re` occurs in the history of `w` more often than `seen` times. */
  const waitScreen = (w: string, re: RegExp, ms = 10_000, seen = 0): Promise<string> =>
    waitUntil(`${w} /${re.source}/`, async () => {
      const s = await history(w);
      return [...s.matchAll(new RegExp(re.source, 'g'))].length > seen ? s : undefined;
    }, ms, 25).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- ${w} ---\n${await history(w).catch(() => '?')}\n--- servers ---\n${logs.join('').slice(-3000)}`);
    });
  const ringsBy = async (w: string): Promise<string[]> => [...(await history(w)).matchAll(/connection requested by ([^@\s]+)@/g)].map((m) => m[1] ?? '');
  const counters = async (): Promise<Record<string, number>> =>
    (JSON.parse((await run(asUser([node, tg, 'status', '--json', '--admin', ADMIN]))).stdout) as { counters: Record<string, number> }).counters;

  t.after(async () => {
    await run([TMUX, '-S', sock, 'kill-server'], { check: false });
    for (const p of servers) if (p.exitCode === null) p.kill('SIGTERM');
    await sleep(200);
    for (const p of servers) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  serve([node, tg, 'talkd', '--bind', '127.0.0.1', '--port', String(IN_TALKD), '--otalk-port', String(IN_TALKD - 1), '--utmp', utmpIn]);
  serve([node, tg, 'talkd', '--bind', '127.0.0.1', '--port', String(OUT_TALKD), '--otalk-port', String(OUT_TALKD - 1), '--utmp', utmpOut]);
  const gw = serve([node, tg, 'gateway', '--config', config]);
  await waitUntil('gateway running', () => {
    if (gw.exitCode !== null) throw new Error(`gateway exited ${gw.exitCode}: ${logs.join('')}`);
    return logs.join('').includes('gateway running');
  }, 15_000, 50);

  const env = ['env', '-i', `HOME=${dir}`, 'HISTFILE=/dev/null', 'PATH=/usr/local/bin:/usr/bin:/bin', 'TERM=xterm', 'LANG=C.UTF-8', 'PS1=$ ', 'bash', '--norc', '--noprofile', '-i'];
  await tmux('new-session', '-d', '-s', 'shares', '-x', '100', '-y', '30', '-c', root, ...env);
  await tmux('set-option', '-g', 'history-limit', '20000');
  // a: alice (inside), b: bob (outside); xi / xo: three more users per side the attacker can ring.
  for (const w of ['a', 'b', 'xi', 'xo']) await tmux('new-window', '-t', 'shares', '-n', w, '-c', root, ...env);
  const login = async (w: string, utmp: string, user: string): Promise<void> => {
    await typeIn(w, `${node} examples/demo-login.mjs ${utmp} ${user}`);
    await waitScreen(w, new RegExp(`${user} is logged in on`));
  };
  await login('a', utmpIn, 'alice');
  await login('b', utmpOut, 'bob');
  for (const u of ['ian', 'jo', 'kim']) await login('xi', utmpIn, u);
  for (const u of ['carl', 'dave', 'erin']) await login('xo', utmpOut, u);

  /** `presented`: the caller's name in the callee's announcement. */
  const genuineCall = async (caller: string, callee: string, target: string, respond: string, callerPort: number, calleePort: number, as: [string, string], presented: string): Promise<number> => {
    const established = [await count(caller, /Connection established/), await count(callee, /Connection established/)] as const;
    const t0 = Date.now();
    await typeIn(caller, `${node} bin/talkgate.js talk --as ${as[0]} --port ${GW_NTALK} --otalk-port ${GW_OTALK} --local-port ${callerPort} ${target}`);
    await waitScreen(callee, new RegExp(`connection requested by ${presented}@`), 10_000);
    const rungMs = Date.now() - t0;
    await typeIn(callee, `${node} bin/talkgate.js talk --as ${as[1]} --port ${GW_NTALK} --otalk-port ${GW_OTALK} --local-port ${calleePort} ${respond}`);
    await waitScreen(caller, /Connection established/, 10_000, established[0]);
    await waitScreen(callee, /Connection established/, 10_000, established[1]);
    await typeIn(caller, `hello from ${as[0]}`);
    await waitScreen(callee, new RegExp(`hello from ${as[0]}`));
    await tmux('send-keys', '-t', `shares:${caller}`, 'C-c');
    await tmux('send-keys', '-t', `shares:${callee}`, 'C-c');
    await sleep(300);
    return rungMs;
  };

  // ---- the inside face: 127.1.0.5 floods, alice (127.0.0.1) calls bob during the flood
  const before = await counters();
  const inFlood = attack('127.1.0.5', '127.0.0.1', ['bob', 'carl%rc-out', 'dave%rc-out', 'erin%rc-out', 'bob%rc-out'], ATTACK_COUNT, ATTACK_RATE);
  await sleep(1_000);
  const rungIn = await genuineCall('a', 'b', 'bob@127.0.0.1', 'alice@127.0.0.2', IN_TALKD, OUT_TALKD, ['alice', 'bob'], 'alice');
  assert.equal(await inFlood, ATTACK_COUNT);
  const bobRings = await ringsBy('b');
  const byAttackerIn = bobRings.filter((n) => /^m\d+$/.test(n));
  process.stderr.write(`inside-face flood: bob rang ${bobRings.length} times (${byAttackerIn.length} by the attacker); alice's call rang in ${rungIn} ms\n`);
  assert.ok(rungIn < AT_ONCE_MS, `the genuine call rang in ${rungIn} ms`);
  assert.ok(byAttackerIn.length >= 1, 'the attack reached bob (else the test proves nothing)');
  assert.ok(byAttackerIn.length <= PENDING_PER_CALLEE, `bob rang ${byAttackerIn.length} times for the attacker`);
  assert.ok(bobRings.includes('alice'));

  // ---- the outside face: 127.2.0.5 floods, bob (127.0.0.1) calls alice during the flood
  const outFlood = attack('127.2.0.5', '127.0.0.2', ['alice', 'ian', 'jo', 'kim'], ATTACK_COUNT, ATTACK_RATE);
  await sleep(1_000);
  const rungOut = await genuineCall('b', 'a', 'alice@127.0.0.2', 'bob%rc-out@127.0.0.1', OUT_TALKD, IN_TALKD, ['bob', 'alice'], 'bob%rc-out');
  assert.equal(await outFlood, ATTACK_COUNT);
  const aliceRings = await ringsBy('a');
  const byAttackerOut = aliceRings.filter((n) => /^m\d+$/.test(n));
  process.stderr.write(`outside-face flood: alice rang ${aliceRings.length} times (${byAttackerOut.length} by the attacker); bob's call rang in ${rungOut} ms\n`);
  assert.ok(rungOut < AT_ONCE_MS, `the genuine call rang in ${rungOut} ms`);
  assert.ok(byAttackerOut.length >= 1, 'the attack reached alice');
  assert.ok(byAttackerOut.length <= PENDING_PER_CALLEE, `alice rang ${byAttackerOut.length} times for the attacker`);

  // The gateway took most of the flood as repeats of the attacker's pending calls, refused the rest by share.
  const after = await counters();
  const delta = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
  const xRings = (await ringsBy('xi')).length + (await ringsBy('xo')).length;
  process.stderr.write(`gateway: ${delta('announces_merged')} ANNOUNCEs taken as repeats, ${delta('calls_refused_share')} refused by share, ${delta('calls_requested')} calls requested; other users rang ${xRings} times\n`);
  assert.ok(delta('calls_requested') <= 2 + 2 * CALLS_PER_SOURCE + 2, `calls requested: ${delta('calls_requested')}`);
  assert.ok(delta('announces_merged') + delta('calls_refused_share') >= 2 * ATTACK_COUNT - 2 * CALLS_PER_SOURCE - 10);
  assert.ok(xRings <= 2 * CALLS_PER_SOURCE, `the other users rang ${xRings} times`);
  assert.match(logs.join(''), /call table share reached/);
});
