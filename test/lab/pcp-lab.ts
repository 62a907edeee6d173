/**
 * Private namespace helper for the PCP/middlebox lab tests (prefix `tgp`), until the shared
 * harness test/lab/lab.ts exists. Topology:
 *   tgp-in 10.201.0.2 ── tgp-mb (10.201.0.1 | 203.0.113.1) ── tgp-out 203.0.113.2, 203.0.113.3
 * Only addresses inside these namespaces are ever targeted.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NS = { inside: 'tgp-in', box: 'tgp-mb', outside: 'tgp-out' } as const;
export const ADDR = { inside: '10.201.0.2', boxIn: '10.201.0.1', boxOut: '203.0.113.1', peer: '203.0.113.2', other: '203.0.113.3' } as const;

export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(d, 'package.json')); i++) d = dirname(d);
  return d;
}

/** Why the lab can't run here, or null. */
export function labUnavailable(tools: string[]): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  for (const t of ['ip', 'nft', ...tools]) {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    } catch {
      return `${t} not installed`;
    }
  }
  return null;
}

function sh(args: string[]): void {
  execFileSync(args[0] ?? 'true', args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}
export function inNs(ns: string, args: string[], timeout = 10_000): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function labDown(): void {
  for (const ns of Object.values(NS)) {
    try {
      sh(['ip', 'netns', 'del', ns]);
    } catch {
      /* absent */
    }
  }
}

export function labUp(): void {
  labDown();
  for (const ns of Object.values(NS)) sh(['ip', 'netns', 'add', ns]);
  sh(['ip', 'link', 'add', 'tgp-i0', 'netns', NS.inside, 'type', 'veth', 'peer', 'name', 'tgp-mbi', 'netns', NS.box]);
  sh(['ip', 'link', 'add', 'tgp-o0', 'netns', NS.outside, 'type', 'veth', 'peer', 'name', 'tgp-mbo', 'netns', NS.box]);
  const cmds: [string, string[]][] = [
    [NS.inside, ['ip', 'addr', 'add', `${ADDR.inside}/24`, 'dev', 'tgp-i0']],
    [NS.inside, ['ip', 'link', 'set', 'tgp-i0', 'up']],
    [NS.inside, ['ip', 'link', 'set', 'lo', 'up']],
    [NS.inside, ['ip', 'route', 'add', 'default', 'via', ADDR.boxIn]],
    [NS.box, ['ip', 'addr', 'add', `${ADDR.boxIn}/24`, 'dev', 'tgp-mbi']],
    [NS.box, ['ip', 'addr', 'add', `${ADDR.boxOut}/24`, 'dev', 'tgp-mbo']],
    [NS.box, ['ip', 'link', 'set', 'tgp-mbi', 'up']],
    [NS.box, ['ip', 'link', 'set', 'tgp-mbo', 'up']],
    [NS.box, ['ip', 'link', 'set', 'lo', 'up']],
    [NS.box, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']],
    [NS.outside, ['ip', 'addr', 'add', `${ADDR.peer}/24`, 'dev', 'tgp-o0']],
    [NS.outside, ['ip', 'addr', 'add', `${ADDR.other}/24`, 'dev', 'tgp-o0']],
    [NS.outside, ['ip', 'link', 'set', 'tgp-o0', 'up']],
    [NS.outside, ['ip', 'link', 'set', 'lo', 'up']],
  ];
  for (const [ns, c] of cmds) inNs(ns, c);
}

/** A TCP echo-less listener inside a namespace (accepts and closes). */
export function listen(ns: string, port: number): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', `require('net').createServer((s)=>s.end('hi\\n')).listen(${port},()=>console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
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
