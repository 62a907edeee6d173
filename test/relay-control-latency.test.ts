/**
 * Issue 18: relaying never delays control processing. Through a real `talkgate gateway` on
 * loopback (the relay data path, the sanitiser on), one call carries 20 MB of escape-heavy content
 * while LOOK_UPs to the gateway's outside face and GETs of /healthz are timed: p99 of each under
 * 10 ms. This process plays alice's control client, the outside daemon and the prober; a child
 * process moves the content (bob's connection and alice's listener), so the timings are the
 * gateway's. Bounded in bytes and time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import http from 'node:http';
import { once } from 'node:events';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeNtalkCtlResponse, encodeNtalkCtlMsg, RequestType, sockAddr, TALK_VERSION } from '../src/protocol/index.js';
import { aliceAnnounce, answerAsOutsideDaemon, loopbackGatewayToml, loopbackPorts } from '../src/gateway/testing/loopback-call.js';

/** What the relayed call carries (issue 18). */
const CONTENT_BYTES = 20 * 1024 * 1024;
/**
 * Issue 18: p99 under 10 ms. The relay runs on its own thread at a lower priority
 * (relay-data-path.ts), so the sanitiser's CPU never stands between a control datagram and its
 * answer; before that, the p99 was 8-36 ms on this project's 2-core machines.
 */
const P99_TARGET_MS = 10;
/** Probes are sent this often while the content flows; at least MIN_PROBES of each are needed. */
const PROBE_EVERY_MS = 2;
const MIN_PROBES = 40;
/** Bound on the whole transfer. */
const TRANSFER_TIMEOUT_MS = 20_000;

const BASE = 35_000;
const PORTS = loopbackPorts(BASE);
const CONFIG = loopbackGatewayToml(BASE, '[relay]\nports = "44100-44109"\n[limits]\nrate = 1000\nburst = 2000\n[admin]\nlisten = "127.0.0.1:39518"\n');

async function udp(port = 0, address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(port, address, r));
  return s;
}

const p99 = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.ceil(v.length * 0.99) - 1)] ?? NaN;

/** The content mover: alice's listener and bob's connection; prints alice's port, then "done". */
const MOVER = `
const net = require('node:net');
const block = Buffer.from(process.argv[1], 'base64'); // node -e: the arguments start at argv[1]
const total = Number(process.argv[2]);
let received = 0;
const srv = net.createServer((a) => a.on('data', (d) => { received += d.length; if (received >= total / 2) { console.log('done ' + received); process.exit(0); } }));
srv.listen(0, '127.0.0.1', () => console.log('port ' + srv.address().port));
process.stdin.setEncoding('utf8').on('data', (line) => {
  const [host, port] = line.trim().split(':');
  const bob = net.connect({ port: Number(port), host, localAddress: '127.0.0.1' }); // from bob's host (rc-out), the only peer the relay admits
  let sent = 0;
  const pump = () => { while (sent < total) { sent += block.length; if (!bob.write(block)) return void bob.once('drain', pump); } };
  pump();
});
`;

test('while a relayed call carries 20 MB of escape-heavy content, LOOK_UP and /healthz have p99 under 10 ms', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-lag-'));
  const conf = join(dir, 'gw.toml');
  writeFileSync(conf, CONFIG);
  const root = fileURLToPath(new URL('../..', import.meta.url));
  // The content comes from another host in real life: with two CPUs, the gateway gets one and this
  // process and the mover (the "other hosts") the other, so the timings are the gateway's own.
  const pin = (cpu: number): string[] => (availableParallelism() >= 2 ? ['taskset', '-c', String(cpu)] : []);
  if (availableParallelism() >= 2) spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const [gwCmd, ...gwArgs] = [...pin(0), process.execPath, join(root, 'bin', 'talkgate.js'), 'gateway', '--config', conf, '--log-level', 'warn'];
  const gw = spawn(gwCmd, gwArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let gwLog = '';
  gw.stderr.setEncoding('utf8').on('data', (d: string) => (gwLog = (gwLog + d).slice(-4000)));
  const { escapeHeavyText } = await import('../src/gateway/relay/talk-like-text.js');
  const [moverCmd, ...moverPin] = [...pin(1), process.execPath];
  const mover = spawn(moverCmd, [...moverPin, '-e', MOVER, escapeHeavyText().subarray(0, 64 * 1024).toString('base64'), String(CONTENT_BYTES)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let moverOut = '';
  mover.stdout.setEncoding('utf8').on('data', (d: string) => (moverOut += d));
  const daemon = await udp(PORTS.outsideDaemon);
  const alice = await udp();
  // An outside host (127.0.0.3 is not in inside.networks): the outside face answers it.
  const prober = await udp(0, '127.0.0.3');
  const waitFor = async (what: string, ok: () => boolean, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await waitFor('the mover', () => /port \d+/.test(moverOut), 10_000);
    const alicePort = Number(/port (\d+)/.exec(moverOut)?.[1]);
    // Set the call up: alice announces, the outside daemon answers, bob is sent to the relay.
    const announced = answerAsOutsideDaemon(daemon);
    const announce = aliceAnnounce(alicePort, alice.address().port);
    // The gateway may still be starting: announce until the daemon hears of the call.
    let where: { address: string; port: number } | undefined;
    void announced.then((w) => (where = w));
    await waitFor('the forwarded ANNOUNCE', () => {
      if (where === undefined) alice.send(announce, PORTS.face, '127.0.0.1');
      return where !== undefined;
    }, 15_000);
    const relay = where as { address: string; port: number };

    // LOOK_UP probes at the outside face (for a call that does not exist: the core answers at once).
    // A NOT_HERE answer carries id 0: answers are matched to probes in order (loopback keeps it).
    const lookupTimes: number[] = [];
    const sentAt: bigint[] = [];
    prober.on('message', (buf) => {
      const r = decodeNtalkCtlResponse(new Uint8Array(buf));
      const t0 = sentAt.shift();
      if (t0 !== undefined && r.type === RequestType.LOOK_UP) lookupTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    const lookup = (): void => {
      sentAt.push(process.hrtime.bigint());
      prober.send(
        encodeNtalkCtlMsg({ version: TALK_VERSION, type: RequestType.LOOK_UP, id: 1, addr: sockAddr('127.0.0.3', 1), ctlAddr: sockAddr('127.0.0.3', prober.address().port), pid: 2, lName: 'carol', rName: 'dave', rTty: '' }),
        PORTS.face,
        '127.0.0.2',
      );
    };
    // /healthz, one request in flight at a time (a queued request would time the queue).
    const healthTimes: number[] = [];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let healthBusy = false;
    const health = (): void => {
      if (healthBusy) return;
      healthBusy = true;
      const t0 = process.hrtime.bigint();
      http
        .get({ host: '127.0.0.1', port: 39518, path: '/healthz', agent }, (res) => {
          res.resume();
          res.on('end', () => {
            healthTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
            healthBusy = false;
          });
        })
        .on('error', () => (healthBusy = false));
    };
    const timer = setInterval(() => {
      lookup();
      health();
    }, PROBE_EVERY_MS);
    mover.stdin.write(`${relay.address}:${relay.port}\n`);
    await waitFor(`the content to cross (mover: ${moverOut.trim()})`, () => /done/.test(moverOut), TRANSFER_TIMEOUT_MS).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; mover said ${JSON.stringify(moverOut)}; gateway said ${gwLog}`);
    });
    clearInterval(timer);
    await new Promise((r) => setTimeout(r, 50));
    agent.destroy();
    assert.ok(lookupTimes.length >= MIN_PROBES && healthTimes.length >= MIN_PROBES, `${lookupTimes.length} LOOK_UPs and ${healthTimes.length} /healthz answered`);
    const lp = p99(lookupTimes);
    const hp = p99(healthTimes);
    const q = (v: number[], f: number): string => ([...v].sort((a, b) => a - b)[Math.floor(v.length * f)] ?? NaN).toFixed(2);
    process.stdout.write(
      `# ${/done (\d+)/.exec(moverOut)?.[1] ?? '?'} bytes relayed; LOOK_UP p50 ${q(lookupTimes, 0.5)} p90 ${q(lookupTimes, 0.9)} p99 ${lp.toFixed(2)} ms over ${lookupTimes.length}, /healthz p50 ${q(healthTimes, 0.5)} p90 ${q(healthTimes, 0.9)} p99 ${hp.toFixed(2)} ms over ${healthTimes.length}\n`,
    );
    assert.ok(lp < P99_TARGET_MS, `LOOK_UP p99 ${lp.toFixed(2)} ms`);
    assert.ok(hp < P99_TARGET_MS, `/healthz p99 ${hp.toFixed(2)} ms`);
  } finally {
    mover.kill();
    gw.kill('SIGTERM');
    const killer = setTimeout(() => gw.kill('SIGKILL'), 10_000);
    await once(gw, 'exit');
    clearTimeout(killer);
    alice.close();
    prober.close();
    daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
