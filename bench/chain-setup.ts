/**
 * Benchmark (issue 15): a chained call's data path through two gateways versus one, and the cost
 * of TLS between the gateways, in one run, on loopback (no namespaces needed; nothing leaves lo).
 *
 *   one:        client 127.0.0.3 → relay R1 (127.0.0.1) → echo 127.0.0.4
 *   two:        client 127.0.0.3 → relay R2 (127.0.0.2) → relay R1 (127.0.0.1) → echo 127.0.0.4
 *   two-tls:    the same, the R2 → R1 leg over mutually authenticated TLS (PeerLinks.tlsLeg of
 *               two gateways "gw1"/"gw2", certificates made here with openssl)
 *
 * The relays are the gateway's own RelayDataPath (sanitising on, as deployed). "Set-up" of one call
 * = opening the relays (listeners) + the client's connect + every onward connect and TLS handshake
 * until the first keystroke comes back: the data-path part of a call's set-up. The control exchange
 * (ANNOUNCE/LOOK_UP through the gateways) is not in it: the chain lab times whole calls
 * (test/lab/gateway-chain.test.ts prints announce/connect times per mode pair). "Echo" = one
 * keystroke sent by the client until the echo server's copy is back, KEYS times per call.
 * ROUNDS interleaved rounds (each: CALLS calls of every variant in turn); per round the median
 * set-up, the echo p50/p99 and CPU per call (this process runs every relay: process CPU).
 * Verdicts (project targets): set-up two / one <= 2.5 and two-tls / one <= 4 (a TLS 1.3 handshake
 * is ~1 ms of CPU); echo p99 two-tls / two <= 1.5.
 *
 * Build first: npm run build;  run: node dist/bench/chain-setup.js [--rounds 5] [--calls 10] [--keys 200]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { RelayDataPath } from '../src/gateway/relay/relay-data-path.js';
import { PeerLinks } from '../src/gateway/peering/peer-links.js';
import type { DataPathEvents } from '../src/gateway/modes/data-path.js';
import { quantile, median, silentRelayLogger, withTimeout } from './bench-util.js';
import { MIN_ROUNDS, machineLine, ratios, roundsLine, selfCpuMs, verdictLine } from './verdict.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const ROUNDS = Math.max(MIN_ROUNDS, Math.min(20, arg('rounds', MIN_ROUNDS)));
const CALLS = Math.min(50, arg('calls', 10));
const KEYS = Math.min(1_000, arg('keys', 200));
/** Bound of one call (set-up and its keystrokes). */
const CALL_TIMEOUT_MS = 10_000;
const R1 = '127.0.0.1';
const R2 = '127.0.0.2';
const CLIENT = '127.0.0.3';
const ECHO = '127.0.0.4';

type Variant = 'one' | 'two' | 'two-tls';
const VARIANTS: readonly Variant[] = ['one', 'two', 'two-tls'];

const quiet: DataPathEvents = { onConnected() {}, onEnded() {} };
const silent = { info() {}, warn() {}, debug() {}, error() {}, child: () => silentRelayLogger } as never;

function certificates(dir: string): void {
  const sh = (cmd: string): void => void execFileSync('/bin/sh', ['-c', cmd], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (n: string): string => `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out ${n}.key`;
  sh(`${key('ca')} && openssl req -x509 -new -key ca.key -out ca.crt -subj /CN=bench-ca -days 1`);
  for (const n of ['gw1', 'gw2']) {
    sh(`${key(n)} && openssl req -new -key ${n}.key -subj /CN=${n} -out ${n}.csr && openssl x509 -req -in ${n}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out ${n}.crt -days 1`);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tgchb-'));
  const closers: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    certificates(dir);
    const material = (n: string) => ({ cert: readFileSync(join(dir, `${n}.crt`), 'utf8'), key: readFileSync(join(dir, `${n}.key`), 'utf8'), ca: readFileSync(join(dir, 'ca.crt'), 'utf8') });
    const links = async (me: string, addr: string, peer: string, peerAddr: string): Promise<PeerLinks> => {
      const l = await PeerLinks.start({
        peering: { port: 0, certFile: '', keyFile: '', caFile: '', peers: [{ name: peer, address: peerAddr }] },
        localAddress: addr,
        tls: material(me),
        logger: silent,
        onRequest() {},
        onResponse() {},
        onFailed() {},
      });
      closers.push(() => l.close());
      return l;
    };
    const gw1 = await links('gw1', R1, 'gw2', R2);
    const gw2 = await links('gw2', R2, 'gw1', R1);
    const relay = (peers: PeerLinks, min: number): RelayDataPath => {
      const r = new RelayDataPath({ portRange: { min, max: min + 99 }, maxRelays: 64, idleTimeoutMs: 60_000, maxDurationMs: 600_000, sanitize: true, logger: silentRelayLogger, events: quiet, peerTls: (n) => peers.tlsLeg(n) });
      closers.push(() => r.stop());
      return r;
    };
    const relay1 = relay(gw1, 43000);
    const relay2 = relay(gw2, 43200);
    const echo = net.createServer((s) => {
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, ECHO, r));
    closers.push(() => new Promise<void>((r) => echo.close(() => r())));
    const echoPort = (echo.address() as net.AddressInfo).port;
    let seq = 0;

    /** One call of a variant: set-up ms and the keystroke echo times (ms). */
    const call = async (v: Variant): Promise<{ setupMs: number; echoMs: number[] }> => {
      const id = `c-${String(++seq).padStart(6, '0')}`;
      const t0 = performance.now();
      const tls = v === 'two-tls';
      const o1 = await relay1.open({
        callId: id, listenSide: 'outside', listenAddress: R1, expectedPeer: v === 'one' ? CLIENT : R2,
        target: { address: ECHO, port: echoPort }, bindAddress: R1, acceptDeadlineMs: CALL_TIMEOUT_MS, ...(tls ? { peerTls: { listen: 'gw2' } } : {}),
      });
      if (!o1.ok) throw new Error(`relay 1: ${o1.detail}`);
      let entry = o1;
      if (v !== 'one') {
        const o2 = await relay2.open({
          callId: id, listenSide: 'inside', listenAddress: R2, expectedPeer: CLIENT,
          target: { address: R1, port: o1.port }, bindAddress: R2, acceptDeadlineMs: CALL_TIMEOUT_MS, ...(tls ? { peerTls: { connect: 'gw1' } } : {}),
        });
        if (!o2.ok) throw new Error(`relay 2: ${o2.detail}`);
        entry = o2;
      }
      const s = net.connect({ host: entry.address, port: entry.port, localAddress: CLIENT });
      s.setNoDelay(true);
      const echoMs: number[] = [];
      let setupMs = 0;
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          s.on('error', reject);
          let sentAt = 0;
          let n = 0;
          const send = (): void => {
            sentAt = performance.now();
            s.write('k');
          };
          s.on('data', (d: Buffer) => {
            const now = performance.now();
            for (let i = 0; i < d.length; i++) {
              if (n === 0) setupMs = now - t0;
              else echoMs.push(now - sentAt);
              n++;
            }
            if (n > KEYS) resolve();
            else send();
          });
          s.once('connect', send);
        }),
        CALL_TIMEOUT_MS,
        `${v} call`,
      );
      s.destroy();
      relay1.close(id);
      relay2.close(id);
      return { setupMs, echoMs };
    };

    process.stdout.write(`chain-setup: ${ROUNDS} rounds x ${CALLS} calls per variant, ${KEYS} keystrokes per call, loopback\n${machineLine(cpus().length)}\n`);
    for (const v of VARIANTS) await call(v); // warm-up: JIT, first handshakes
    const setup: Record<Variant, number[]> = { one: [], two: [], 'two-tls': [] };
    const p50: Record<Variant, number[]> = { one: [], two: [], 'two-tls': [] };
    const p99: Record<Variant, number[]> = { one: [], two: [], 'two-tls': [] };
    const cpu: Record<Variant, number[]> = { one: [], two: [], 'two-tls': [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of VARIANTS) {
        const setups: number[] = [];
        const echoes: number[] = [];
        const c0 = selfCpuMs();
        for (let i = 0; i < CALLS; i++) {
          const res = await call(v);
          setups.push(res.setupMs);
          echoes.push(...res.echoMs);
        }
        cpu[v].push((selfCpuMs() - c0) / CALLS);
        setup[v].push(median(setups));
        p50[v].push(quantile(echoes, 0.5));
        p99[v].push(quantile(echoes, 0.99));
      }
    }
    for (const v of VARIANTS) {
      process.stdout.write(`${v}:\n${roundsLine('data-path set-up', setup[v], 'ms', 3)}\n${roundsLine('keystroke echo p50', p50[v], 'ms', 3)}\n${roundsLine('keystroke echo p99', p99[v], 'ms', 3)}\n${roundsLine('CPU per call (set-up + keystrokes)', cpu[v], 'ms', 2)}\n`);
    }
    process.stdout.write(`${verdictLine('secondary (wall clock)', 'set-up two / one', ratios(setup.two, setup.one), '<=', 2.5)}\n`);
    process.stdout.write(`${verdictLine('secondary (wall clock)', 'set-up two-tls / one', ratios(setup['two-tls'], setup.one), '<=', 4)}\n`);
    process.stdout.write(`${verdictLine('primary (CPU)', 'CPU per call two-tls / two', ratios(cpu['two-tls'], cpu.two), '<=', 2)}\n`);
    process.stdout.write(`${verdictLine('secondary (wall clock)', 'echo p99 two-tls / two', ratios(p99['two-tls'], p99.two), '<=', 1.5)}\n`);
    process.stdout.write(`${verdictLine('secondary (wall clock)', 'echo p50 two-tls / two', ratios(p50['two-tls'], p50.two), '<=', 1.5)}\n`);
  } finally {
    for (const c of closers.reverse()) await c();
  }
}

await main();
