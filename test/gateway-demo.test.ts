/**
 * The README demo of issue 4, end to end on loopback and without root: the embedded default
 * gateway (`talkgate gateway`, examples/gateway-default.toml), two `talkgate talkd` reading private
 * utmp files, and two `talkgate talk` clients in two terminals (a tmux server standing in for the
 * newcomer's two terminal windows). When run as root, everything runs as `nobody`.
 *
 * The commands typed are exactly the ones the README gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lab/peers.js';
import { run, sleep, waitUntil } from './lab/proc.js';
import { checkHalves, RESPOND_RE } from './lab/talk-call.js';

const TMUX = '/usr/bin/tmux';
const RUNUSER = '/usr/sbin/runuser';

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
/** The demo runs as an ordinary user: as root, drop to nobody for every process. */
const asUser = (argv: string[]): string[] => (asRoot ? [RUNUSER, '-u', 'nobody', '--', ...argv] : argv);

test('README demo: two talkgate talk clients call each other through the embedded default gateway on loopback', { skip: skipReason(), timeout: 60_000 }, async (t) => {
  const root = repoRoot();
  const dir = mkdtempSync('/tmp/tg-demo-test-');
  chmodSync(dir, 0o777);
  const utmpIn = join(dir, 'utmp-in');
  const utmpOut = join(dir, 'utmp-out');
  for (const f of [utmpIn, utmpOut]) {
    writeFileSync(f, '');
    chmodSync(f, 0o666);
  }
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
    await tmux('send-keys', '-t', `demo:${w}`, '-l', '--', text);
    await tmux('send-keys', '-t', `demo:${w}`, 'Enter');
  };
  const screen = (w: string): Promise<string> => tmux('capture-pane', '-p', '-t', `demo:${w}`);
  const waitScreen = (w: string, re: RegExp, ms = 10_000): Promise<string> =>
    waitUntil(`${w} /${re.source}/`, async () => {
      const s = await screen(w);
      return re.test(s) ? s : undefined;
    }, ms, 50).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- ${w} ---\n${await screen(w).catch(() => '?')}\n--- servers ---\n${logs.join('').slice(-3000)}`);
    });

  t.after(async () => {
    await run([TMUX, '-S', sock, 'kill-server'], { check: false });
    for (const p of servers) if (p.exitCode === null) p.kill('SIGTERM');
    await sleep(200);
    for (const p of servers) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  // Terminal 0 of the README: the two daemons and the gateway (here: children of the test).
  serve([node, tg, 'talkd', '--bind', '127.0.0.1', '--port', '6518', '--otalk-port', '6517', '--utmp', utmpIn]);
  serve([node, tg, 'talkd', '--bind', '127.0.0.1', '--port', '7518', '--otalk-port', '7517', '--utmp', utmpOut]);
  const gw = serve([node, tg, 'gateway']);
  await waitUntil('gateway running', () => {
    if (gw.exitCode !== null) throw new Error(`gateway exited ${gw.exitCode}: ${logs.join('')}`);
    return logs.join('').includes('gateway running');
  }, 15_000, 50);

  const env = ['env', '-i', `HOME=${dir}`, 'PATH=/usr/local/bin:/usr/bin:/bin', 'TERM=xterm', 'LANG=C.UTF-8', 'PS1=$ ', 'bash', '--norc', '--noprofile', '-i'];
  await tmux('new-session', '-d', '-s', 'demo', '-x', '100', '-y', '30', '-c', root, ...env);
  await tmux('new-window', '-t', 'demo', '-n', 't1', '-c', root, ...env);
  await tmux('new-window', '-t', 'demo', '-n', 't2', '-c', root, ...env);
  await typeIn('t1', `${node} examples/demo-login.mjs ${utmpIn} alice`);
  await typeIn('t2', `${node} examples/demo-login.mjs ${utmpOut} bob`);
  await waitScreen('t1', /alice is logged in on/);
  await waitScreen('t2', /bob is logged in on/);

  // Outbound: alice (inside) calls bob, whom the directory maps to bob@rc-out.
  await typeIn('t1', `${node} bin/talkgate.js talk --as alice --port 5518 --local-port 6518 bob@127.0.0.1`);
  const announced = await waitScreen('t2', RESPOND_RE);
  const respondWith = RESPOND_RE.exec(announced)?.[1] ?? '';
  assert.equal(respondWith, 'alice@127.0.0.2', 'bob answers through the gateway\'s outside face');
  await typeIn('t2', `${node} bin/talkgate.js talk --as bob --port 5518 --local-port 7518 ${respondWith}`);
  await waitScreen('t1', /Connection established/);
  await waitScreen('t2', /Connection established/);
  await typeIn('t1', 'hello from alice');
  await typeIn('t2', 'hi alice, bob here');
  await waitScreen('t1', /hi alice, bob here/);
  await waitScreen('t2', /hello from alice/);
  await sleep(200);
  checkHalves(await screen('t1'), 'hello from alice', 'hi alice, bob here', 'alice');
  checkHalves(await screen('t2'), 'hi alice, bob here', 'hello from alice', 'bob');
  const status = (await run(asUser([node, tg, 'status', '--json']))).stdout;
  assert.match(status, /"state":\s*"connected"/);
  await tmux('send-keys', '-t', 'demo:t1', 'C-c');
  await tmux('send-keys', '-t', 'demo:t2', 'C-c');
  await sleep(300);
  await typeIn('t1', 'clear');
  await typeIn('t2', 'clear');

  // Inbound: bob (outside) calls alice at the gateway's outside face; she answers bob%rc-out@...
  await typeIn('t2', `${node} bin/talkgate.js talk --as bob --port 5518 --local-port 7518 alice@127.0.0.2`);
  const back = RESPOND_RE.exec(await waitScreen('t1', RESPOND_RE))?.[1] ?? '';
  assert.match(back, /^bob%rc-out@(localhost|127\.0\.0\.1)$/);
  await typeIn('t1', `${node} bin/talkgate.js talk --as alice --port 5518 --local-port 6518 ${back}`);
  await waitScreen('t2', /Connection established/);
  await typeIn('t1', 'inbound works too');
  await waitScreen('t2', /inbound works too/);
  await tmux('send-keys', '-t', 'demo:t2', 'C-c');
  await tmux('send-keys', '-t', 'demo:t1', 'C-c');
});

