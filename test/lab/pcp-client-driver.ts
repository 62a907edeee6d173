/**
 * Lab helper process (not a test): runs one PcpClient inside a namespace and executes JSON-line
 * commands from stdin, answering one JSON line each on stdout. State-loss notices from the
 * client's epoch check are printed as {"event":"stateLoss",...} lines. Bounded: at most
 * DRIVER_MAX_COMMANDS commands, and one `bench` at most BENCH_MAX requests.
 *   argv: server irtMs mrc [localAddress]
 */
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { PcpClient, type MapResult } from '../../src/pcp/pcp-client.js';
import { PcpDataPath } from '../../src/gateway/pinhole/pcp-data-path.js';
import { PCP_SERVER_PORT, pcpResultName } from '../../src/pcp/pcp-constants.js';
import { decodePcpRequest, encodePcpRequest } from '../../src/pcp/pcp-request.js';
import { decodePcpResponse } from '../../src/pcp/pcp-response.js';
import type { DataPathRequest } from '../../src/gateway/session/session-types.js';

const DRIVER_MAX_COMMANDS = 10_000;
const BENCH_MAX = 100_000;

const FUZZ_MAX = 5_000;
/** Wait for an answer to one fuzz datagram before counting it as silence. */
const FUZZ_SILENCE_MS = 150;
/** Wait for an answer the RFC requires (an nft transaction under load can take a while). */
const FUZZ_ANSWER_MS = 3_000;

const [server = '127.0.0.1', irt = '500', mrc = '3', localAddress] = process.argv.slice(2);
const client = new PcpClient({ server, irtMs: Number(irt), mrc: Number(mrc), ...(localAddress !== undefined ? { localAddress } : {}) });
const dataPath = new PcpDataPath({ client, log: (id, l) => process.stderr.write(`[driver ${id}] ${l}\n`) });
const out = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const view = (r: MapResult): Record<string, unknown> => ({
  result: pcpResultName(r.result),
  lifetime: r.lifetime,
  epoch: r.epoch,
  externalAddress: r.externalAddress,
  externalPort: r.externalPort,
  nonce: hex(r.nonce),
});
client.onStateLoss = (recreated) => out({ event: 'stateLoss', recreated: recreated.map(view) });

interface Cmd {
  op: 'map' | 'delete' | 'announce' | 'bench' | 'open' | 'close' | 'fuzz' | 'quit';
  request?: DataPathRequest;
  callId?: string;
  seed?: number;
  clientAddress?: string;
  internalPort?: number;
  suggestedPort?: number;
  lifetime?: number;
  nonce?: string;
  filterPeer?: string;
  preferFailure?: boolean;
  thirdParty?: string;
  n?: number;
}

let count = 0;
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  queue.push(line);
  void pump();
});
const queue: string[] = [];
let busy = false;
async function pump(): Promise<void> {
  if (busy) return;
  busy = true;
  for (let line = queue.shift(); line !== undefined; line = queue.shift()) {
    if (++count > DRIVER_MAX_COMMANDS) process.exit(2);
    let c: Cmd;
    try {
      c = JSON.parse(line) as Cmd;
    } catch {
      out({ error: 'bad json' });
      continue;
    }
    try {
      await run(c);
    } catch (e) {
      out({ error: (e as Error).message });
    }
  }
  busy = false;
}

async function run(c: Cmd): Promise<void> {
  const nonce = c.nonce === undefined ? undefined : Uint8Array.from(Buffer.from(c.nonce, 'hex'));
  switch (c.op) {
    case 'map': {
      const r = await client.map({
        internalPort: c.internalPort ?? 0,
        suggestedPort: c.suggestedPort ?? 0,
        lifetime: c.lifetime ?? 60,
        ...(nonce !== undefined ? { nonce } : {}),
        ...(c.filterPeer !== undefined ? { filterPeer: c.filterPeer } : {}),
        ...(c.thirdParty !== undefined ? { thirdParty: c.thirdParty } : {}),
        preferFailure: c.preferFailure === true,
      });
      out(view(r));
      return;
    }
    case 'delete': {
      if (nonce === undefined) throw new Error('delete needs a nonce');
      out(view(await client.delete({ internalPort: c.internalPort ?? 0, nonce, ...(c.thirdParty !== undefined ? { thirdParty: c.thirdParty } : {}) })));
      return;
    }
    case 'announce': {
      const r = await client.announce();
      out({ result: pcpResultName(r.result), epoch: r.epoch });
      return;
    }
    case 'bench': {
      // Sequential MAP create+delete pairs on distinct internal ports: latency per request.
      const n = Math.min(c.n ?? 100, BENCH_MAX);
      const lat: number[] = [];
      let failures = 0;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const port = 20_000 + (i % 20_000);
        const a = process.hrtime.bigint();
        const r = await client.map({ internalPort: port, suggestedPort: port, lifetime: 120 });
        const b = process.hrtime.bigint();
        const d = await client.delete({ internalPort: port, nonce: r.nonce });
        const e = process.hrtime.bigint();
        if (r.result !== 0 || d.result !== 0) failures++;
        lat.push(Number(b - a) / 1e6, Number(e - b) / 1e6);
      }
      const totalMs = Number(process.hrtime.bigint() - t0) / 1e6;
      lat.sort((x, y) => x - y);
      const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
      out({ requests: lat.length, failures, totalMs, perSecond: (lat.length / totalMs) * 1000, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat[lat.length - 1] ?? 0 });
      return;
    }
    case 'open':
      if (c.request === undefined) throw new Error('open needs a request');
      out(await dataPath.open(c.request));
      return;
    case 'close':
      await dataPath.closeMapping(c.callId ?? '');
      out({ closed: c.callId, holes: dataPath.size });
      return;
    case 'fuzz':
      out(await fuzz(Math.min(c.n ?? 100, FUZZ_MAX), c.seed ?? 1, c.clientAddress ?? '0.0.0.0'));
      return;
    case 'quit':
      client.close();
      process.exit(0);
  }
}

/**
 * Sends `n` mutated copies of valid requests (seeded xorshift) to the real server socket, one at
 * a time, and checks each answer: a well-formed version-2 response with the R bit, the request's
 * opcode and the decoder's result code, or NAT-PMP sizes for version 0, or silence only where
 * RFC 6887 §8.3 prescribes it (shorter than 2 octets, R bit set).
 */
async function fuzz(n: number, seed: number, clientAddress: string): Promise<Record<string, unknown>> {
  let x = seed >>> 0 || 1;
  const rnd = (m: number): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % m;
  };
  const nonce = new Uint8Array(12).fill(7);
  const opts = { preferFailure: false, filters: [] };
  const base = [
    encodePcpRequest({ opcode: 1, lifetime: 30, clientAddress, body: { nonce, protocol: 6, internalPort: 9000, externalPort: 0, externalAddress: '::' }, options: { preferFailure: true, filters: [{ prefixLength: 128, remotePort: 0, remoteAddress: '203.0.113.2' }] } }),
    encodePcpRequest({ opcode: 1, lifetime: 30, clientAddress, body: { nonce, protocol: 17, internalPort: 9001, externalPort: 0, externalAddress: '::' }, options: { ...opts, thirdParty: '10.201.0.9', description: 'fuzz' } }),
    encodePcpRequest({ opcode: 0, lifetime: 0, clientAddress, options: opts }),
    encodePcpRequest({ opcode: 2, lifetime: 30, clientAddress, body: { nonce, protocol: 6, internalPort: 9002, externalPort: 0, externalAddress: '::', remotePort: 80, remoteAddress: '203.0.113.2' }, options: opts }),
    Uint8Array.of(0, 2, 0, 0, 0x23, 0x2a, 0x23, 0x2a, 0, 0, 0, 30),
  ];
  const stats = { sent: 0, answered: 0, silent: 0, expectedSilent: 0, bad: 0, examples: [] as string[] };
  const bad = (why: string, req: Uint8Array): void => {
    stats.bad++;
    if (stats.examples.length < 5) stats.examples.push(`${why}: ${Buffer.from(req).toString('hex').slice(0, 64)}`);
  };
  {
    for (let i = 0; i < n; i++) {
      const src = base[rnd(base.length)] ?? new Uint8Array(0);
      let req: Uint8Array = src.slice();
      const flips = rnd(6);
      for (let k = 0; k < flips && req.length > 0; k++) req[rnd(req.length)] = rnd(256);
      if (rnd(5) === 0) req = req.subarray(0, rnd(req.length + 1));
      stats.sent++;
      const natpmp = req[0] === 0;
      const mustBeSilent = req.length < 2 || ((req[1] ?? 0) & 0x80) !== 0 || (natpmp && req.length < 12 && (req[1] === 1 || req[1] === 2));
      // A fresh socket per datagram: a late answer can never be taken for the next one's.
      const sock = createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, localAddress ?? '0.0.0.0', r));
      const answer = await new Promise<Buffer | null>((resolve) => {
        const t = setTimeout(() => resolve(null), mustBeSilent ? FUZZ_SILENCE_MS : FUZZ_ANSWER_MS);
        sock.once('message', (m: Buffer) => {
          clearTimeout(t);
          resolve(m);
        });
        sock.send(req, PCP_SERVER_PORT, server);
      });
      sock.close();
      if (mustBeSilent) stats.expectedSilent++;
      if (answer === null) {
        stats.silent++;
        if (!mustBeSilent) bad('no answer', req);
        continue;
      }
      stats.answered++;
      if (mustBeSilent) {
        bad('answered a datagram that must be dropped', req);
        continue;
      }
      const a = new Uint8Array(answer);
      if (natpmp) {
        if (![8, 12, 16].includes(a.length) || a[0] !== 0 || a[1] !== (((req[1] ?? 0) | 0x80) & 0xff)) bad('bad NAT-PMP answer', req);
        continue;
      }
      try {
        const r = decodePcpResponse(a);
        const d = decodePcpRequest(req);
        if (r.version !== 2 || r.opcode !== ((req[1] ?? 0) & 0x7f) || r.result > 13) bad(`bad header v${r.version} op${r.opcode} r${r.result}`, req);
        else if (d.kind === 'error' && d.result !== r.result) bad(`result ${r.result}, expected ${d.result}`, req);
      } catch (e) {
        bad(`undecodable answer (${(e as Error).message})`, req);
      }
    }
  }
  return stats;
}
