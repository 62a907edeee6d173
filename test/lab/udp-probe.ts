/**
 * Sends crafted UDP datagrams from inside a lab host and collects every datagram that comes back to
 * the sending socket (from any source) for a bounded time. Runs a small inline Node program in the
 * host (`node -e`), so it works the same from tsx and from dist/.
 */
import type { Lab } from './lab.js';

export interface UdpProbeOptions {
  /** Destination address (must be a lab address or loopback). */
  readonly to: string;
  readonly port: number;
  readonly payloads: readonly Uint8Array[];
  /** Local address/port to bind (default 0.0.0.0:ephemeral). */
  readonly bindAddr?: string;
  readonly bindPort?: number;
  /** How long to collect replies after the last send (ms, default 1000). */
  readonly waitMs?: number;
  /** Stop early once this many replies arrived. */
  readonly expect?: number;
  /** Gap between payloads (ms, default 50). */
  readonly gapMs?: number;
}

export interface UdpReply {
  readonly from: string;
  readonly fromPort: number;
  readonly bytes: Buffer;
}

export interface UdpProbeResult {
  readonly localPort: number;
  readonly replies: UdpReply[];
}

const PROBE_JS = `
const dgram = require('node:dgram');
const a = JSON.parse(process.argv[1]);
const s = dgram.createSocket('udp4');
const replies = [];
let timer; let finished = false;
function done() { if (finished) return; finished = true; clearTimeout(timer); s.close(); process.stdout.write(JSON.stringify({ localPort: a.localPort, replies })); }
s.on('message', (m, r) => { replies.push({ from: r.address, fromPort: r.port, hex: m.toString('hex') });
  if (a.expect && replies.length >= a.expect) done(); });
s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });
s.bind(a.bindPort || 0, a.bindAddr || '0.0.0.0', async () => {
  a.localPort = s.address().port;
  for (const h of a.payloads) { s.send(Buffer.from(h, 'hex'), a.port, a.to); await new Promise((r) => setTimeout(r, a.gapMs)); }
  timer = setTimeout(done, a.waitMs);
});
`;

export async function udpProbe(lab: Lab, host: string, o: UdpProbeOptions): Promise<UdpProbeResult> {
  const arg = JSON.stringify({
    to: o.to,
    port: o.port,
    payloads: o.payloads.map((p) => Buffer.from(p).toString('hex')),
    bindAddr: o.bindAddr ?? '0.0.0.0',
    bindPort: o.bindPort ?? 0,
    waitMs: o.waitMs ?? 1_000,
    expect: o.expect ?? 0,
    gapMs: o.gapMs ?? 50,
  });
  const r = await lab.exec(host, [process.execPath, '-e', PROBE_JS, arg], { timeoutMs: (o.waitMs ?? 1_000) + 10_000 });
  const parsed = JSON.parse(r.stdout) as { localPort: number; replies: Array<{ from: string; fromPort: number; hex: string }> };
  return {
    localPort: parsed.localPort,
    replies: parsed.replies.map((x) => ({ from: x.from, fromPort: x.fromPort, bytes: Buffer.from(x.hex, 'hex') })),
  };
}
