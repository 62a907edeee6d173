/**
 * Shared bits of the transparent-mode lab tests: how to start test/lab/transparent-agent in a lab
 * host (compiled .js under dist/, or the .ts source through tsx when run with `npx tsx --test`),
 * and reading its JSON-lines output.
 */
import { sleep } from './proc.js';
import type { LabProcess } from './lab.js';
import { FW_IN_ADDR, FW_OUT_ADDR, IN_ADDR, INSIDE_IF, OUTSIDE_IF } from './topologies.js';

/** argv that runs the agent with `mode` and its JSON argument. */
export function agentArgv(mode: string, arg: unknown): string[] {
  const self = new URL(import.meta.url);
  const ts = self.pathname.endsWith('.ts');
  const agent = new URL(`./transparent-agent.${ts ? 'ts' : 'js'}`, self).pathname;
  // Inside a lab host the cwd is `/`, so a bare `--import tsx` would not resolve: pass its URL.
  const loader = ts ? ['--import', import.meta.resolve('tsx')] : [];
  return [process.execPath, '--enable-source-maps', ...loader, agent, mode, JSON.stringify(arg)];
}

/** The agent's JSON lines so far. */
export function events(p: LabProcess): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of p.stdout.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      out.push({ unparsed: line });
    }
  }
  return out;
}

/** Waits (bounded) until the agent printed an event with key `key`; throws with its output otherwise. */
export async function waitEvent(p: LabProcess, key: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = events(p).find((x) => key in x);
    if (e !== undefined) return e;
    if (!p.running || Date.now() > deadline) {
      throw new Error(`agent ${p.argv.join(' ')}: no "${key}" (running=${p.running})\nstdout: ${p.stdout}\nstderr: ${p.stderr}`);
    }
    await sleep(25);
  }
}

/** A `talkgate gateway` configuration for threeHosts in mode = "transparent" (nft table `table`). */
export function transparentGatewayToml(table: string): string {
  return `
mode = "transparent"
[inside]
address = "${FW_IN_ADDR}"
interface = "${INSIDE_IF}"
networks = ["10.1.0.0/24"]
[outside]
address = "${FW_OUT_ADDR}"
interface = "${OUTSIDE_IF}"
dns = false
[directory]
alice = "alice@${IN_ADDR}"
[[policy]]
action = "allow"
[admin]
listen = "off"
[transparent]
table = "${table}"
`;
}
