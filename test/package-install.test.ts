/**
 * The install an administrator does on a real firewall (issue 13): `npm pack` of the checkout,
 * `npm install -g --prefix` of the tarball into a temporary prefix, then the installed `talkgate`
 * (not the checkout's bin/) runs `--version`, `gateway --config examples/gateway-default.toml
 * --check`, and carries a call's control exchange: two installed `talkgate talkd` with private utmp
 * files stand for the inside and outside hosts, the installed gateway runs the bundled default
 * configuration, and an inside caller's ANNOUNCE to bob crosses the gateway to the outside daemon,
 * which rings bob and answers SUCCESS back through the gateway. The full tty call (two clients in
 * tmux) is test/gateway-demo.test.ts; here the ports of the default are moved by +20000, clear of
 * that test's (the default's) and of src/cli/gateway-command.test.ts's (15517-17518), so the three
 * can run at the same time. Everything is on loopback; the temporary directory is removed.
 *
 * `npm pack --ignore-scripts`: the "prepare" script would rebuild dist/ under the feet of the
 * other tests running in parallel; dist/ is already built when the suite runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './lab/peers.js';
import { run, sleep, waitUntil } from './lab/proc.js';
import { decodeNtalkCtlResponse, encodeNtalkCtlMsg } from '../src/protocol/index.js';
import { sockAddr } from '../src/protocol/osockaddr.js';
import { Answer, RequestType, answerName } from '../src/protocol/talk-types.js';
import { TALK_VERSION } from '../src/protocol/constants.js';
import { encodeUtmpRecord } from '../src/daemon/utmp-record.js';
import { USER_PROCESS } from '../src/daemon/user-lookup.js';

/** Bound on `npm pack` and `npm install -g` (offline from the npm cache `npm ci` filled). */
const NPM_TIMEOUT_MS = 60_000;
/** Bound on waiting for the servers to exit after SIGTERM, then after SIGKILL. */
const STOP_WAIT_MS = 3_000;
/** The default configuration's ports, and where this test moves them (+20000). */
const PORT_SHIFT = 20_000;
const DEFAULT_PORTS = [5517, 5518, 6517, 6518, 7517, 7518, 9518] as const;
/** A packed file that is a test, a test helper or a benchmark. */
const NOT_SHIPPED = /(^|\/)(test|bench|testing|fixtures)\/|\.test\.(js|ts|d\.ts|js\.map)$/;

/** Moves every port of the bundled default configuration by PORT_SHIFT (comments included). */
function shiftDefaultPorts(toml: string): string {
  return toml.replace(/\b\d{4}\b/g, (p) => ((DEFAULT_PORTS as readonly number[]).includes(Number(p)) ? String(Number(p) + PORT_SHIFT) : p));
}

function udpClient(): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}

/** Sends `bytes` to 127.0.0.1:`port` every 500 ms until a datagram comes back or `ms` pass. */
async function exchangeRetrying(s: Socket, bytes: Uint8Array, port: number, ms: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const send = (): void => void s.send(bytes, port, '127.0.0.1');
    const timer = setInterval(send, 500);
    const deadline = setTimeout(() => {
      clearInterval(timer);
      s.off('message', on);
      reject(new Error(`no answer from 127.0.0.1:${port} within ${ms} ms`));
    }, ms);
    const on = (m: Buffer): void => {
      clearInterval(timer);
      clearTimeout(deadline);
      s.off('message', on);
      resolve(m);
    };
    s.on('message', on);
    send();
  });
}

test('the packed tarball installs with npm install -g, ships no test or bench file, and its talkgate runs a call', { timeout: 120_000 }, async (t) => {
  const root = repoRoot();
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const dir = mkdtempSync('/tmp/tg-pkg-test-');
  // Started as root, talkd and the gateway drop to nobody: they must still read the utmp files.
  chmodSync(dir, 0o755);
  const servers: ChildProcess[] = [];
  const logs: string[] = [];
  const sockets: (Socket | Server)[] = [];
  const alive = (): ChildProcess[] => servers.filter((p) => p.exitCode === null && p.signalCode === null);
  // Waits (bounded) until every server has exited and released its ports, so that a run right
  // after this one finds them free.
  const reaped = (ms: number): Promise<unknown> => Promise.race([Promise.all(alive().map((p) => once(p, 'exit'))), sleep(ms)]);
  t.after(async () => {
    for (const s of sockets) s.close();
    for (const p of alive()) p.kill('SIGTERM');
    await reaped(STOP_WAIT_MS);
    for (const p of alive()) p.kill('SIGKILL');
    await reaped(STOP_WAIT_MS);
    rmSync(dir, { recursive: true, force: true });
  });

  // 1. npm pack: the file list holds no test, test helper or benchmark.
  const packed = await run(['npm', 'pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, timeoutMs: NPM_TIMEOUT_MS });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(info !== undefined, 'npm pack --json printed the package');
  const files = info.files.map((f) => f.path);
  assert.deepEqual(files.filter((f) => NOT_SHIPPED.test(f)), [], 'no test or bench file in the tarball');
  for (const f of ['bin/talkgate.js', 'dist/src/cli/main.js', 'examples/gateway-default.toml', 'man/talkgate.8', 'man/talkgate-talk.1', 'man/talkgate.toml.5']) {
    assert.ok(files.includes(f), `the tarball ships ${f}`);
  }
  process.stdout.write(`# npm pack: ${files.length} files, none a test or benchmark\n`);

  // 2. npm install -g into a temporary prefix.
  const prefix = join(dir, 'prefix');
  await run(['npm', 'install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, info.filename)], { cwd: dir, timeoutMs: NPM_TIMEOUT_MS });
  const talkgate = join(prefix, 'bin', 'talkgate');
  const pkgDir = join(prefix, 'lib', 'node_modules', 'talkgate');

  // 3. --version prints the package's version.
  assert.equal((await run([talkgate, '--version'], { cwd: dir })).stdout.trim(), version);

  // 4. --check of the bundled default, as the README has it (relative to the installed package).
  const check = await run([talkgate, 'gateway', '--config', 'examples/gateway-default.toml', '--check'], { cwd: pkgDir });
  assert.match(check.stdout, /configuration is valid \(mode classical\)/);

  // 5. A call's control exchange through the installed gateway.
  const utmpIn = join(dir, 'utmp-in');
  const utmpOut = join(dir, 'utmp-out');
  writeFileSync(utmpIn, '');
  // bob is logged in on "null": /dev/null is a group-writable character device, so the outside
  // talkd's announcement succeeds without a terminal (the tty call itself is gateway-demo's job).
  writeFileSync(utmpOut, encodeUtmpRecord({ type: USER_PROCESS, pid: process.pid, line: 'null', user: 'bob', host: 'test', loginTime: Math.floor(Date.now() / 1000) }));
  for (const f of [utmpIn, utmpOut]) chmodSync(f, 0o644);
  const config = join(dir, 'gateway.toml');
  writeFileSync(config, shiftDefaultPorts(readFileSync(join(pkgDir, 'examples', 'gateway-default.toml'), 'utf8')));
  chmodSync(config, 0o644);
  const serve = (argv: string[]): ChildProcess => {
    const p = spawn(talkgate, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.setEncoding('utf8').on('data', (d: string) => logs.push(d));
    p.stderr?.setEncoding('utf8').on('data', (d: string) => logs.push(d));
    servers.push(p);
    return p;
  };
  const p = (n: number): string => String(n + PORT_SHIFT);
  serve(['talkd', '--bind', '127.0.0.1', '--port', p(6518), '--otalk-port', p(6517), '--utmp', utmpIn]);
  serve(['talkd', '--bind', '127.0.0.1', '--port', p(7518), '--otalk-port', p(7517), '--utmp', utmpOut]);
  const gw = serve(['gateway', '--config', config]);
  await waitUntil('gateway running', () => {
    if (gw.exitCode !== null) throw new Error(`gateway exited ${gw.exitCode}: ${logs.join('')}`);
    return logs.join('').includes('gateway running');
  }, 15_000, 50);

  // alice's client: a TCP rendezvous listener and a control socket, both on the inside (127.0.0.1).
  const listener = createServer();
  sockets.push(listener);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const tcpPort = (listener.address() as { port: number }).port;
  const ctl = await udpClient();
  sockets.push(ctl);
  const announce = encodeNtalkCtlMsg({
    version: TALK_VERSION,
    type: RequestType.ANNOUNCE,
    id: 1,
    addr: sockAddr('127.0.0.1', tcpPort),
    ctlAddr: sockAddr('127.0.0.1', ctl.address().port),
    pid: process.pid,
    lName: 'alice',
    rName: 'bob',
    rTty: '',
  });
  const reply = decodeNtalkCtlResponse(await exchangeRetrying(ctl, announce, 5518 + PORT_SHIFT, 10_000).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n--- servers ---\n${logs.join('').slice(-3000)}`);
  }));
  assert.equal(reply.type, RequestType.ANNOUNCE);
  assert.equal(reply.answer, Answer.SUCCESS, `ANNOUNCE answered ${answerName(reply.answer)}\n${logs.join('').slice(-3000)}`);
  const status = JSON.parse((await run([talkgate, 'status', '--json', '--admin', `127.0.0.1:${p(9518)}`], { cwd: dir })).stdout) as { calls: unknown[] };
  assert.equal(status.calls.length, 1, 'the installed gateway lists the ringing call');
  process.stdout.write(`# installed talkgate ${version}: ANNOUNCE alice -> bob answered ${answerName(reply.answer)} through the gateway\n`);
});
