/**
 * Benchmark (issue 15): a whole talk call's set-up through two gateways against one, in the same
 * run. The chain lab (test/lab/chain-topology.ts, prefix `tgchb`): alice on a1 (org 1) calls
 *   - through one gateway: bob on x, an ordinary talk host on the transit network
 *     (`talk bob%xhost@10.9.0.1`, in clear), and
 *   - through two: bob on a2 behind gw2 (`talk bob%gw2@10.9.0.1`, the gateways TLS peers),
 * alternating call by call; real netkit clients and daemons, both gateways classical, forward
 * policy drop. Per call: ringing (alice types the command → bob sees "respond with") and answer
 * (bob types the respond command → both screens say "Connection established"), read off the
 * terminals (tmux, polled: a few ms of resolution). Root; every namespace removed at the end.
 *
 *   npm run build && node dist/bench/chain-call.js [rounds] [calls per round]     (root)
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { chainGatewayToml, chainLab, makeChainCertificates, GW1_NAME, GW1_TRANSIT, GW2_NAME, GW2_TRANSIT, ORG_GW_ADDR, X_TRANSIT, type GwSpec } from '../test/lab/chain-topology.js';
import type { Lab, LabProcess } from '../test/lab/lab.js';
import { talkgateArgv } from '../test/lab/peers.js';
import { waitUntil } from '../test/lab/proc.js';
import { talkCall } from '../test/lab/talk-call.js';
import { TalkdControl } from '../test/lab/talkd-control.js';
import { fwRuleset } from '../test/lab/topologies.js';
import { NTALK_PORT } from '../src/protocol/index.js';
import { ratios, roundsLine, summarize, verdictLine } from './verdict.js';

const PREFIX = 'tgchb';
const DEFAULT_ROUNDS = 5;
const DEFAULT_CALLS = 4;
/** Bound on the whole run. */
const RUN_TIMEOUT_MS = 600_000;
/** Issue 15 names no target; ours: a second gateway adds at most half of one gateway's set-up. */
const TARGET_TWO_OVER_ONE = 1.5;
/** gw1's name for x. */
const X_NAME = 'xhost';

/** Median as every verdict takes it (the mean of the two middle values for an even count). */
const median = (v: readonly number[]): number => summarize(v).median;

async function startGateway(lab: Lab, g: GwSpec): Promise<LabProcess> {
  await lab.nft(g.host, fwRuleset(`${PREFIX}${g.host}`, 'drop'));
  const conf = join(lab.hostDir(g.host), 'gateway.toml');
  // x is an ordinary talk host gw1 knows by name (a numeric host does not survive netkit talk's parsing).
  const toml = chainGatewayToml(g, join(lab.hostDir(g.host), 'audit.jsonl'), PREFIX).replace('dns = false\n', `dns = false\nhosts = { "${X_NAME}" = "${X_TRANSIT}" }\n`);
  writeFileSync(conf, toml, { mode: 0o644 });
  const p = lab.spawn(g.host, talkgateArgv('gateway', '--config', conf, '--log-level', 'info'));
  await waitUntil(`gateway on ${g.host}`, () => {
    if (!p.running) throw new Error(`gateway on ${g.host} exited: ${p.stderr}`);
    return /gateway running/.test(p.stdout + p.stderr);
  }, 15_000, 50);
  await lab.waitUdpListen(g.host, NTALK_PORT, p);
  return p;
}

async function main(rounds: number, calls: number): Promise<void> {
  const lab = await chainLab(PREFIX);
  const gws: LabProcess[] = [];
  try {
    const daemons = new TalkdControl(lab);
    for (const h of ['a1', 'a2', 'x']) await daemons.use(h, { kind: 'netkit' });
    const alice = await lab.login('a1', 'alice');
    const bob2 = await lab.login('a2', 'bob');
    const bobX = await lab.login('x', 'bob');
    makeChainCertificates(lab.dir, PREFIX);
    const c = (f: string): string => join(lab.dir, f);
    gws.push(await startGateway(lab, { host: 'gw1', mode: 'classical', transit: GW1_TRANSIT, peerName: GW2_NAME, peerAddr: GW2_TRANSIT, user: 'alice', cert: c('gw1.crt'), key: c('gw1.key'), ca: c('ca.crt') }));
    gws.push(await startGateway(lab, { host: 'gw2', mode: 'classical', transit: GW2_TRANSIT, peerName: GW1_NAME, peerAddr: GW1_TRANSIT, user: 'bob', cert: c('gw2.crt'), key: c('gw2.key'), ca: c('ca.crt') }));
    const paths = {
      one: { callee: bobX, target: `bob%${X_NAME}@${ORG_GW_ADDR}` },
      two: { callee: bob2, target: `bob%${GW2_NAME}@${ORG_GW_ADDR}` },
    } as const;
    // One warm-up call each (JIT, TLS session set-up, ARP).
    for (const p of Object.values(paths)) await talkCall({ caller: alice, callee: p.callee, target: p.target });
    const setup: Record<'one' | 'two', number[]> = { one: [], two: [] };
    const ring: Record<'one' | 'two', number[]> = { one: [], two: [] };
    const answer: Record<'one' | 'two', number[]> = { one: [], two: [] };
    process.stdout.write(`call set-up through one gateway vs two (TLS peers), ${rounds} rounds x ${calls} calls per path, alternating\n`);
    for (let r = 0; r < rounds; r++) {
      const per: Record<'one' | 'two', { ring: number[]; answer: number[] }> = { one: { ring: [], answer: [] }, two: { ring: [], answer: [] } };
      for (let i = 0; i < calls; i++) {
        for (const k of (i + r) % 2 === 0 ? (['one', 'two'] as const) : (['two', 'one'] as const)) {
          const res = await talkCall({ caller: alice, callee: paths[k].callee, target: paths[k].target });
          per[k].ring.push(res.announceMs);
          per[k].answer.push(res.connectMs);
        }
      }
      for (const k of ['one', 'two'] as const) {
        ring[k].push(median(per[k].ring));
        answer[k].push(median(per[k].answer));
        setup[k].push(median(per[k].ring) + median(per[k].answer));
      }
      process.stdout.write(`  round ${r + 1}: one gateway ring ${ring.one.at(-1)} + answer ${answer.one.at(-1)} ms; two gateways ring ${ring.two.at(-1)} + answer ${answer.two.at(-1)} ms\n`);
    }
    for (const k of ['one', 'two'] as const) {
      process.stdout.write(`${roundsLine(`${k === 'one' ? 'one gateway ' : 'two gateways'} ringing (command typed -> "respond with")`, ring[k], 'ms', 0)}\n`);
      process.stdout.write(`${roundsLine(`${k === 'one' ? 'one gateway ' : 'two gateways'} answer (respond typed -> both connected)`, answer[k], 'ms', 0)}\n`);
    }
    process.stdout.write(`${verdictLine('primary (wall clock)', 'call set-up two gateways / one', ratios(setup.two, setup.one), '<=', TARGET_TWO_OVER_ONE)}\n`);
  } finally {
    for (const p of gws) await p.kill();
    await lab.destroy();
  }
}

if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
  process.stdout.write('chain-call: needs root (network namespaces); skipped\n');
} else {
  const t = setTimeout(() => {
    process.stderr.write('chain-call: timed out\n');
    process.exit(1);
  }, RUN_TIMEOUT_MS);
  t.unref();
  await main(Number(process.argv[2] ?? DEFAULT_ROUNDS), Number(process.argv[3] ?? DEFAULT_CALLS));
}
