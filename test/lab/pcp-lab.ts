/**
 * Namespace helper for the PCP/middlebox lab tests (prefix `tgp`; the full talk call uses the
 * shared harness test/lab/lab.ts instead). Topologies (TOPO, TOPO_UPNP):
 *   tgp-in 10.201.0.2 ── tgp-mb (10.201.0.1 | 203.0.113.1) ── tgp-out 203.0.113.2, 203.0.113.3
 *   tgp-uin 10.202.0.2 ── tgp-ugw (10.202.0.1 | 100.200.0.1) ── tgp-uout 100.200.0.2, .3
 * Only addresses inside these namespaces are ever targeted.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Topo {
  readonly ns: { readonly inside: string; readonly box: string; readonly outside: string };
  readonly addr: { readonly inside: string; readonly boxIn: string; readonly boxOut: string; readonly peer: string; readonly other: string };
  readonly ifs: { readonly inside: string; readonly boxIn: string; readonly outside: string; readonly boxOut: string };
  readonly insideNet: string;
}

/** talkgate middlebox topology. */
export const TOPO: Topo = {
  ns: { inside: 'tgp-in', box: 'tgp-mb', outside: 'tgp-out' },
  addr: { inside: '10.201.0.2', boxIn: '10.201.0.1', boxOut: '203.0.113.1', peer: '203.0.113.2', other: '203.0.113.3' },
  ifs: { inside: 'tgp-i0', boxIn: 'tgp-mbi', outside: 'tgp-o0', boxOut: 'tgp-mbo' },
  insideNet: '10.201.0.0/24',
};
/**
 * miniupnpd topology: its WAN address must not be reserved (addr_is_reserved rejects RFC 1918,
 * 100.64/10, TEST-NETs; shared/reference/middlebox.md §2), so 100.200.0.0/24, which exists
 * only inside these namespaces.
 */
export const TOPO_UPNP: Topo = {
  ns: { inside: 'tgp-uin', box: 'tgp-ugw', outside: 'tgp-uout' },
  addr: { inside: '10.202.0.2', boxIn: '10.202.0.1', boxOut: '100.200.0.1', peer: '100.200.0.2', other: '100.200.0.3' },
  ifs: { inside: 'tgp-ui0', boxIn: 'tgp-ugi', outside: 'tgp-uo0', boxOut: 'tgp-ugo' },
  insideNet: '10.202.0.0/24',
};
export const NS = TOPO.ns;
export const ADDR = TOPO.addr;

export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(d, 'package.json')); i++) d = dirname(d);
  return d;
}

function sh(args: string[]): void {
  execFileSync(args[0] ?? 'true', args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}
export function inNs(ns: string, args: string[], timeout = 10_000): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Like inNs but returns stdout also when the command exits non-zero (a refusal is data). */
export function inNsOut(ns: string, args: string[], timeout = 10_000): string {
  try {
    return inNs(ns, args, timeout);
  } catch (e) {
    const out = (e as { stdout?: unknown }).stdout;
    if (typeof out === 'string' && out.length > 0) return out;
    throw e;
  }
}

export function labDown(t: Topo = TOPO): void {
  for (const ns of Object.values(t.ns)) {
    try {
      sh(['ip', 'netns', 'del', ns]);
    } catch {
      /* absent */
    }
  }
}

export function labUp(t: Topo = TOPO): void {
  labDown(t);
  const { ns, addr, ifs } = t;
  for (const n of Object.values(ns)) sh(['ip', 'netns', 'add', n]);
  sh(['ip', 'link', 'add', ifs.inside, 'netns', ns.inside, 'type', 'veth', 'peer', 'name', ifs.boxIn, 'netns', ns.box]);
  sh(['ip', 'link', 'add', ifs.outside, 'netns', ns.outside, 'type', 'veth', 'peer', 'name', ifs.boxOut, 'netns', ns.box]);
  const cmds: [string, string[]][] = [
    [ns.inside, ['ip', 'addr', 'add', `${addr.inside}/24`, 'dev', ifs.inside]],
    [ns.inside, ['ip', 'link', 'set', ifs.inside, 'up']],
    [ns.inside, ['ip', 'link', 'set', 'lo', 'up']],
    [ns.inside, ['ip', 'route', 'add', 'default', 'via', addr.boxIn]],
    [ns.box, ['ip', 'addr', 'add', `${addr.boxIn}/24`, 'dev', ifs.boxIn]],
    [ns.box, ['ip', 'addr', 'add', `${addr.boxOut}/24`, 'dev', ifs.boxOut]],
    [ns.box, ['ip', 'link', 'set', ifs.boxIn, 'up']],
    [ns.box, ['ip', 'link', 'set', ifs.boxOut, 'up']],
    [ns.box, ['ip', 'link', 'set', 'lo', 'up']],
    [ns.box, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']],
    [ns.outside, ['ip', 'addr', 'add', `${addr.peer}/24`, 'dev', ifs.outside]],
    [ns.outside, ['ip', 'addr', 'add', `${addr.other}/24`, 'dev', ifs.outside]],
    [ns.outside, ['ip', 'link', 'set', ifs.outside, 'up']],
    [ns.outside, ['ip', 'link', 'set', 'lo', 'up']],
  ];
  for (const [n, c] of cmds) inNs(n, c);
}

/** A TCP echo-less listener inside a namespace (accepts and closes). */
export function listen(ns: string, port: number): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', `require('net').createServer((s)=>{s.on('error',()=>{});s.end('hi\\n')}).listen(${port},()=>console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Tries one TCP connection from `ns`, bound to `from`, within 1.5 s; true if it connected. */
export function canConnect(ns: string, from: string, to: string, port: number): boolean {
  const js = `const s=require('net').connect({host:'${to}',port:${port},localAddress:'${from}',timeout:1500});s.on('connect',()=>{console.log('OK');s.destroy()});s.on('timeout',()=>{console.log('NO');s.destroy()});s.on('error',()=>console.log('NO'))`;
  return inNs(ns, [process.execPath, '-e', js], 5000).includes('OK');
}

export async function waitFor(p: ChildProcess, text: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${text} (got ${buf.slice(-500)})`)), ms);
    const on = (d: Buffer): void => {
      buf += d.toString();
      if (text.test(buf)) {
        clearTimeout(t);
        resolve(buf);
      }
    };
    p.stdout?.on('data', on);
    p.stderr?.on('data', on);
  });
}

/** A PcpClient driver process (test/lab/pcp-client-driver) inside `ns`; one JSON line per command. */
export class ClientDriver {
  readonly proc: ChildProcess;
  #buf = '';
  #lines: string[] = [];
  #waiters: ((l: string) => void)[] = [];
  readonly events: unknown[] = [];

  constructor(ns: string, server: string, irtMs = 500, mrc = 3, localAddress?: string) {
    const here = fileURLToPath(import.meta.url);
    const ts = here.endsWith('.ts');
    const file = join(dirname(here), `pcp-client-driver.${ts ? 'ts' : 'js'}`);
    const node = ts ? [process.execPath, '--import', 'tsx', file] : [process.execPath, file];
    this.proc = spawn('ip', ['netns', 'exec', ns, ...node, server, String(irtMs), String(mrc), ...(localAddress !== undefined ? [localAddress] : [])], { cwd: repoRoot(), stdio: ['pipe', 'pipe', 'inherit'] });
    this.proc.stdout?.on('data', (d: Buffer) => {
      this.#buf += d.toString();
      for (let i = this.#buf.indexOf('\n'); i >= 0; i = this.#buf.indexOf('\n')) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 1);
        if (line.startsWith('{"event"')) this.events.push(JSON.parse(line));
        else {
          const w = this.#waiters.shift();
          if (w !== undefined) w(line);
          else this.#lines.push(line);
        }
      }
    });
  }

  /** Sends one command and waits (bounded) for its answer. */
  async call<T = Record<string, unknown>>(cmd: Record<string, unknown>, ms = 15_000): Promise<T> {
    this.proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
    const line = this.#lines.shift() ?? (await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`driver: no answer to ${JSON.stringify(cmd)} in ${ms} ms`)), ms);
      this.#waiters.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    }));
    return JSON.parse(line) as T;
  }

  stop(): void {
    this.proc.stdin?.end();
    this.proc.kill('SIGKILL');
  }
}
