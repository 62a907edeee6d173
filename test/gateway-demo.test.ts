/**
 * The README demo ("Watch a call cross the gateway"), end to end on loopback and without root, AS
 * WRITTEN: the command lines are read from the README's code block (test/readme-demo.ts) and typed,
 * in README order, into the terminal each names; a tmux server stands in for the reader's four
 * terminal windows, each a shell in the repository root. The test only decides when to type the next
 * line (a daemon line in the background goes on at once, the gateway when it logs "gateway running",
 * a login when it says so, an answer once the announcement is on that terminal) and checks what the
 * README promises: the call connects, both halves show on both screens, `talkgate status` lists the
 * connected call, the metrics print, and after the hang-up the conversation stays on both screens.
 * Then bob calls alice back with the same commands (inbound through the directory).
 *
 * The shells get TMPDIR set to the test's own temporary directory, so the README's
 * `${TMPDIR:-/tmp}/tg-demo` lands there and nothing is left in /tmp. When run as root, everything
 * (tmux, the shells, the daemons, the gateway) runs as `nobody`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, chmodSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './lab/peers.js';
import { run, sleep, waitUntil } from './lab/proc.js';
import { checkHalves, respondWithOf, RESPOND_RE } from './lab/talk-call.js';
import { readmeDemoSteps } from './readme-demo.js';

const TMUX = '/usr/bin/tmux';
const CURL = '/usr/bin/curl';
const RUNUSER = '/usr/sbin/runuser';
/** Bound on each screen event of the demo (ms). */
const STEP_MS = 15_000;
/** How long a server gets between SIGTERM and SIGKILL at teardown (ms). */
const STOP_GRACE_MS = 500;

function skipReason(): string | false {
  if (process.platform !== 'linux') return 'needs Linux (/proc, ptys)';
  for (const p of [TMUX, CURL]) {
    try {
      accessSync(p, constants.X_OK);
    } catch {
      if (process.env['CI'] === 'true') throw new Error(`CI=true and the README demo cannot run: ${p} is missing`);
      return `${p} is missing (the README demo's terminals and its metrics line)`;
    }
  }
  return false;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
/** The demo runs as an ordinary user: as root, drop to nobody for every process. */
const asUser = (argv: string[]): string[] => (asRoot ? [RUNUSER, '-u', 'nobody', '--', ...argv] : argv);

/** Every process below `roots` (by /proc/PID/stat ppid), deepest last. */
function descendants(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const queue = [...roots];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

test('README demo, as written: two talkgate talk clients call each other through the embedded default gateway on loopback', { skip: skipReason(), timeout: 120_000 }, async (t) => {
  const root = repoRoot();
  const steps = readmeDemoSteps(readFileSync(join(root, 'README.md'), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'tg-demo-test-'));
  chmodSync(dir, 0o777);
  const sock = join(dir, 'tmux.sock');
  const tmux = async (...args: string[]): Promise<string> => (await run(asUser([TMUX, '-S', sock, ...args]))).stdout;
  const win = (n: number): string => `demo:t${n}`;
  const typeIn = async (n: number, text: string): Promise<void> => {
    await tmux('send-keys', '-t', win(n), '-l', '--', text);
    await tmux('send-keys', '-t', win(n), 'Enter');
  };
  // -J joins wrapped lines (the gateway's JSON log lines are wider than the window).
  const screen = (n: number): Promise<string> => tmux('capture-pane', '-p', '-J', '-t', win(n));
  const allScreens = async (): Promise<string> => {
    let s = '';
    for (const n of opened) s += `\n--- terminal ${n} ---\n${await screen(n).catch(() => '?')}`;
    return s;
  };
  const waitScreen = (n: number, re: RegExp, ms = STEP_MS): Promise<string> =>
    waitUntil(`terminal ${n} /${re.source}/`, async () => {
      const s = await screen(n);
      return re.test(s) ? s : undefined;
    }, ms, 50).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}${await allScreens()}`);
    });
  const atPrompt = (n: number): Promise<string> => waitScreen(n, /^\$ *$(?![\s\S]*\S)/m);

  const opened: number[] = [];
  const shell = [
    // HISTFILE: an exiting shell writing its history would race the removal of `dir`.
    'env', '-i', `HOME=${dir}`, `TMPDIR=${dir}`, 'HISTFILE=/dev/null', `PATH=${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    'TERM=xterm', 'LANG=C.UTF-8', 'PS1=$ ', 'bash', '--norc', '--noprofile', '-i',
  ];
  const open = async (n: number): Promise<void> => {
    if (opened.includes(n)) return;
    if (opened.length === 0) await tmux('new-session', '-d', '-s', 'demo', '-n', `t${n}`, '-x', '100', '-y', '30', '-c', root, ...shell);
    else await tmux('new-window', '-t', 'demo', '-n', `t${n}`, '-c', root, ...shell);
    opened.push(n);
    await atPrompt(n);
  };

  t.after(async () => {
    // The daemons run in the background of terminal 0 and the gateway ignores a hang-up (SIGHUP
    // reloads it): stop everything below the panes' shells by pid, then the tmux server.
    const panes = (await tmux('list-panes', '-s', '-t', 'demo', '-F', '#{pane_pid}').catch(() => ''))
      .split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
    const below = descendants(panes);
    signal(below, 'SIGTERM');
    await sleep(STOP_GRACE_MS);
    signal(descendants(panes), 'SIGKILL');
    await run([TMUX, '-S', sock, 'kill-server'], { check: false });
    // An exiting shell may still write its history file while the tree is removed: retry.
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });

  // The README, line by line.
  const talks: Array<{ terminal: number; command: string }> = [];
  let statusScreen = '';
  let metricsScreen = '';
  for (const step of steps) {
    const { terminal: n, command } = step;
    await open(n);
    if (/\btalkgate\.js talk\b/.test(command)) {
      if (talks.length > 0) {
        // The callee answers with what his announcement says, and the README must say the same.
        const respondWith = respondWithOf(await waitScreen(n, RESPOND_RE));
        assert.equal(command.split(/\s+/).pop(), respondWith, `the README's answer matches the announcement on terminal ${n}`);
      }
      await typeIn(n, command);
      talks.push(step);
      if (talks.length === 2) for (const c of talks) await waitScreen(c.terminal, /Connection established/);
      continue;
    }
    await typeIn(n, command);
    if (command.endsWith('&')) continue; // a daemon, in the background
    if (/\btalkgate\.js gateway$/.test(command)) await waitScreen(n, /gateway running/);
    else if (/demo-login\.mjs/.test(command)) await waitScreen(n, / is logged in on /);
    else if (/\btalkgate\.js status\b/.test(command)) statusScreen = await waitScreen(n, /\bconnected\b/);
    else if (/\/metrics\b/.test(command)) metricsScreen = await waitScreen(n, /^talkgate_\w+/m);
    else await atPrompt(n);
  }

  // What the README promises.
  const [caller, callee] = talks;
  assert.ok(caller !== undefined && callee !== undefined, 'the README has a caller and a callee');
  assert.match(caller.command, /--as alice .*bob@127\.0\.0\.1$/);
  assert.match(statusScreen, /^\S+\s+outbound\s+.*alice.*\s+connected\s/m, `talkgate status lists the connected call:\n${statusScreen}`);
  assert.match(metricsScreen, /^talkgate_/m);
  await typeIn(caller.terminal, 'hello from alice');
  await typeIn(callee.terminal, 'hi alice, bob here');
  await waitScreen(caller.terminal, /hi alice, bob here/);
  await waitScreen(callee.terminal, /hello from alice/);
  await sleep(200);
  checkHalves(await screen(caller.terminal), 'hello from alice', 'hi alice, bob here', 'alice');
  checkHalves(await screen(callee.terminal), 'hi alice, bob here', 'hello from alice', 'bob');

  // ^C in either ends the call for both; the conversation stays on both terminals.
  await tmux('send-keys', '-t', win(caller.terminal), 'C-c');
  await waitScreen(callee.terminal, /Connection closing/);
  await atPrompt(caller.terminal);
  await atPrompt(callee.terminal);
  checkHalves(await screen(caller.terminal), 'hello from alice', 'hi alice, bob here', 'alice after the hang-up');
  checkHalves(await screen(callee.terminal), 'hi alice, bob here', 'hello from alice', 'bob after the hang-up');
  await typeIn(caller.terminal, 'clear');
  await typeIn(callee.terminal, 'clear');
  await atPrompt(caller.terminal);
  await atPrompt(callee.terminal);

  // Inbound with the same commands: bob calls alice at the gateway's outside face; she answers the
  // name the directory gives him (bob%rc-out@...).
  await typeIn(callee.terminal, callee.command);
  const back = respondWithOf(await waitScreen(caller.terminal, RESPOND_RE));
  assert.match(back, /^bob%rc-out@(localhost|127\.0\.0\.1)$/);
  await typeIn(caller.terminal, caller.command.replace(/\S+$/, back));
  await waitScreen(callee.terminal, /Connection established/);
  await typeIn(caller.terminal, 'inbound works too');
  await waitScreen(callee.terminal, /inbound works too/);
  await tmux('send-keys', '-t', win(callee.terminal), 'C-c');
  await atPrompt(caller.terminal);
  await atPrompt(callee.terminal);
});
