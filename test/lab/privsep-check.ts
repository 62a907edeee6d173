/**
 * Lab check of privilege separation (issue 12): the process that owns the sockets peers talk to
 * runs as a non-root user with no effective capability, and the privileged gateway process holds
 * no socket a peer's packets reach and no listening socket (netlink sockets are its business).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import type { Lab } from './lab.js';

/** uid and CapEff of a pid, from /proc. */
export function procIdentity(pid: number): { uid: number; capEff: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const uid = Number(/^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1]);
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '?';
  return { uid, capEff };
}

/** Pids of the privileged gateway process(es) started with `configPath` (not the worker). */
export function privilegedGatewayPids(configPath: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (cmd.includes(configPath) && /\bgateway\b/.test(cmd) && !cmd.includes('gateway-worker') && !cmd.startsWith('nsenter')) out.push(Number(d));
  }
  return out;
}

/** Asserts the separation on `host` for the gateway started with `configPath`; returns the worker pid. */
export async function assertPrivilegeSeparated(lab: Lab, host: string, configPath: string, peerPorts: readonly number[] = [518, 517]): Promise<number> {
  const ss = (await lab.exec(host, ['ss', '-H', '-uatnp'])).stdout;
  const owners = new Set<number>();
  for (const line of ss.split('\n')) {
    const local = line.trim().split(/\s+/)[4] ?? '';
    if (!peerPorts.some((p) => local.endsWith(`:${p}`))) continue;
    for (const m of line.matchAll(/pid=(\d+)/g)) owners.add(Number(m[1]));
  }
  assert.ok(owners.size > 0, `no process owns the control sockets:\n${ss}`);
  for (const pid of owners) {
    const id = procIdentity(pid);
    assert.notEqual(id.uid, 0, `pid ${pid} owning a peer socket runs as root`);
    assert.equal(id.capEff, '0000000000000000', `pid ${pid} owning a peer socket has capabilities`);
  }
  const privileged = privilegedGatewayPids(configPath);
  assert.ok(privileged.length > 0, 'the privileged gateway process is not found');
  for (const pid of privileged) {
    assert.ok(!owners.has(pid), 'the privileged process owns a peer socket');
    assert.doesNotMatch(ss, new RegExp(`pid=${pid},`), `the privileged process ${pid} holds an inet socket:\n${ss}`);
  }
  assert.equal(owners.size, 1, `one worker owns the peer sockets: ${[...owners].join(', ')}`);
  return [...owners][0] as number;
}
