/**
 * Helper process for test/lab/transparent-*.test.ts, run inside a lab host. One JSON line per event
 * on stdout. Modes (argv[2]) with a JSON argument (argv[3]):
 *
 *   gateway {port, intercept?: InterceptSpecInput}
 *       installs the interception (if given), opens openTransparentUdp on `port`, prints
 *       {"ready":…}; for each datagram prints {"datagram":…} and answers "echo:<data>" with
 *       sendFrom(from = originalDestination, to = source). SIGTERM: close, remove, {"stopped":…}.
 *   send {to, payload, timeoutMs}
 *       a *connected* UDP socket sends `payload` to `to` and prints {"reply":{from,data}} or
 *       {"timeout":true}; exits.
 *   listen {port, address?, ms}
 *       a plain UDP socket prints {"got":{from,data}} for every datagram during `ms`, then exits.
 *   redirect-original-dst {port, ms}
 *       a TCP listener printing {"originalDst":…} (SO_ORIGINAL_DST) of each accepted connection.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { openTransparentUdp } from '../../src/native/transparent/index.js';
import { originalDst } from '../../src/native/transparent/original-dst.js';
import { interceptSpec, type InterceptSpecInput } from '../../src/firewall/intercept/intercept-ruleset.js';
import { installIntercept, removeIntercept } from '../../src/firewall/intercept/intercept-installer.js';

/** No agent lives longer than this, whatever happens to the test driving it. */
const AGENT_MAX_LIFETIME_MS = 60_000;

function out(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

interface Ep {
  address: string;
  port: number;
}

async function gateway(arg: { port: number; intercept?: InterceptSpecInput }): Promise<void> {
  const spec = arg.intercept !== undefined ? interceptSpec(arg.intercept) : undefined;
  if (spec !== undefined) await installIntercept(spec);
  const sock = openTransparentUdp({
    port: arg.port,
    onDatagram: (d) => {
      out({ datagram: { source: d.source, originalDestination: d.originalDestination, data: d.data.toString('utf8'), truncated: d.truncated } });
      try {
        sock.sendFrom(Buffer.concat([Buffer.from('echo:'), d.data]), { from: d.originalDestination, to: d.source });
        out({ sent: { from: d.originalDestination, to: d.source } });
      } catch (e) {
        out({ sendError: String(e) });
      }
    },
    onError: (e) => out({ error: String(e) }),
  });
  out({ ready: { local: sock.local } });
  const stop = async (): Promise<void> => {
    await sock.close();
    const report = spec !== undefined ? await removeIntercept(spec) : null;
    out({ stopped: { report } });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  setTimeout(() => void stop(), AGENT_MAX_LIFETIME_MS).unref();
  await new Promise(() => undefined);
}

async function send(arg: { to: Ep; payload: string; timeoutMs: number }): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.connect(arg.to.port, arg.to.address, () => resolve());
  });
  const reply = new Promise<{ from: Ep; data: string } | null>((resolve) => {
    const t = setTimeout(() => resolve(null), arg.timeoutMs);
    s.on('message', (m, r) => {
      clearTimeout(t);
      resolve({ from: { address: r.address, port: r.port }, data: m.toString('utf8') });
    });
    s.on('error', (e) => out({ socketError: String(e) }));
  });
  const local = s.address();
  const t0 = performance.now();
  s.send(arg.payload);
  const r = await reply;
  const rttMs = performance.now() - t0;
  out(r === null ? { timeout: true, local: { address: local.address, port: local.port } } : { reply: r, rttMs, local: { address: local.address, port: local.port } });
  s.close();
}

async function listen(arg: { port: number; address?: string; ms: number }): Promise<void> {
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (m, r) => out({ got: { from: { address: r.address, port: r.port }, data: m.toString('utf8') } }));
  await new Promise<void>((resolve) => s.bind(arg.port, arg.address ?? '0.0.0.0', () => resolve()));
  out({ listening: s.address() });
  await new Promise((resolve) => setTimeout(resolve, Math.min(arg.ms, AGENT_MAX_LIFETIME_MS)));
  s.close();
}

async function redirectOriginalDst(arg: { port: number; ms: number }): Promise<void> {
  const server = net.createServer((c) => {
    try {
      out({ originalDst: originalDst(c), local: { address: c.localAddress, port: c.localPort } });
    } catch (e) {
      out({ originalDstError: String(e), code: (e as { code?: string }).code });
    }
    c.end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(arg.port, '0.0.0.0', () => resolve()));
  out({ listening: arg.port });
  await new Promise((resolve) => setTimeout(resolve, Math.min(arg.ms, AGENT_MAX_LIFETIME_MS)));
  server.close();
}

const mode = process.argv[2];
const arg = JSON.parse(process.argv[3] ?? '{}') as never;
const run = mode === 'gateway' ? gateway(arg) : mode === 'send' ? send(arg) : mode === 'listen' ? listen(arg) : mode === 'redirect-original-dst' ? redirectOriginalDst(arg) : Promise.reject(new Error(`unknown mode ${String(mode)}`));
run.catch((e: unknown) => {
  out({ fatal: String(e), code: (e as { code?: string }).code });
  process.exit(1);
});
