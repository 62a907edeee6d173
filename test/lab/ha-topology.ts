/**
 * Issue 14's lab: an HA pair of pinhole gateways.
 *
 *   in (alice, carol) 10.1.0.2 ──"inside" bridge (in in's namespace)── gwa 10.1.0.11, gwb 10.1.0.12, VIP 10.1.0.1
 *   out (bob, dave) 198.51.100.2 ──"outside" bridge (in out's namespace)── gwa .11, gwb .12, VIP 198.51.100.1
 *   gwa 192.168.255.1 ──"sync"── gwb 192.168.255.2   (conntrackd FTFW, its own link)
 *
 * Each gateway node runs Debian's keepalived (a sync group of the two VRRP instances, advert 1 s,
 * nopreempt: a node that comes back stays backup), Debian's conntrackd (FTFW over "sync") and
 * talkgate in pinhole mode with [ha] (forward policy drop). keepalived's notify hooks run
 * `talkgate ha notify STATE` (examples/talkgate-ha-notify). Nodes are crashed the hard way: their
 * links go down and talkgate, keepalived and conntrackd get SIGKILL.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, type LabProcess, type LabSpec } from './lab.js';
import { repoRoot, talkgateArgv } from './peers.js';
import { waitUntil } from './proc.js';

export const IN_ADDR = '10.1.0.2';
export const OUT_ADDR = '198.51.100.2';
export const VIP_IN = '10.1.0.1';
export const VIP_OUT = '198.51.100.1';
export const NODES = ['gwa', 'gwb'] as const;
export type HaNodeName = (typeof NODES)[number];
const NODE_ADDR: Record<HaNodeName, { inside: string; outside: string; sync: string; peerSync: string; priority: number }> = {
  gwa: { inside: '10.1.0.11', outside: '198.51.100.11', sync: '192.168.255.1', peerSync: '192.168.255.2', priority: 150 },
  gwb: { inside: '10.1.0.12', outside: '198.51.100.12', sync: '192.168.255.2', peerSync: '192.168.255.1', priority: 100 },
};
/** VRRP advertisement interval of the lab (the 1 s). */
export const ADVERT_INT_S = 1;
export const KEEPALIVED = '/usr/sbin/keepalived';
export const CONNTRACKD = '/usr/sbin/conntrackd';
export const PINHOLE_PORTS = [41000, 41009] as const;
/** USER_HZ of /proc/<pid>/stat utime and stime (sysconf(_SC_CLK_TCK), 100 on Linux). */
const CLOCK_TICKS_PER_S = 100;

export function haSpec(prefix: string, users: readonly string[]): LabSpec {
  return {
    prefix,
    hosts: ['in', 'out', ...NODES],
    users,
    segments: [
      { name: 'inside', members: [{ host: 'in', addr: `${IN_ADDR}/24` }, ...NODES.map((n) => ({ host: n, addr: `${NODE_ADDR[n].inside}/24` }))] },
      { name: 'outside', members: [{ host: 'out', addr: `${OUT_ADDR}/24` }, ...NODES.map((n) => ({ host: n, addr: `${NODE_ADDR[n].outside}/24` }))] },
      { name: 'sync', members: NODES.map((n) => ({ host: n, addr: `${NODE_ADDR[n].sync}/30` })) },
    ],
    routes: [{ host: 'in', to: 'default', via: VIP_IN }],
    forwarding: [...NODES],
  };
}

/** What a lab or benchmark may vary per pair. */
export interface HaPairOptions {
  /** VRRP advertisement interval, s (fractions switch keepalived to VRRPv3). */
  readonly advertS?: number;
  /** [pinhole] outbound (the benchmark's plain TCP flow uses "open"). */
  readonly outbound?: 'holes' | 'open';
  /** The gateway's mode (default pinhole; classical relays the conversation in talkgate). */
  readonly mode?: 'pinhole' | 'classical';
}

export function gatewayConfig(prefix: string, node: HaNodeName, dir: string, audit: string, outbound: 'holes' | 'open' = 'holes', mode: 'pinhole' | 'classical' = 'pinhole'): string {
  const modeSections = mode === 'classical' ? `[relay]\nports = "40000-40009"\n` : `[transparent]
table = "${prefix}_intercept"
[pinhole]
table = "${prefix}_pinhole"
ports = "${PINHOLE_PORTS[0]}-${PINHOLE_PORTS[1]}"
hole_timeout = 60
outbound = "${outbound}"
`;
  return `
mode = "${mode}"
[inside]
address = "${VIP_IN}"
interface = "inside"
networks = ["10.1.0.0/24"]
[outside]
address = "${VIP_OUT}"
interface = "outside"
dns = false
[directory]
alice = "alice@${IN_ADDR}"
carol = "carol@${IN_ADDR}"
bob = "bob@${OUT_ADDR}"
dave = "dave@${OUT_ADDR}"
[[policy]]
action = "allow"
[admin]
listen = "off"
[audit]
file = "${audit}"
${modeSections}[ha]
role = "backup"
conntrackd = "${CONNTRACKD}"
conntrackd_config = "${join(dir, 'conntrackd.conf')}"
# node ${node}
`;
}

export function keepalivedConfig(node: HaNodeName, notify: (state: string) => string, advertS: number = ADVERT_INT_S): string {
  const a = NODE_ADDR[node];
  const instance = (name: string, iface: string, vrid: number, vip: string): string => `
vrrp_instance ${name} {
  state BACKUP
  nopreempt
  interface ${iface}
  virtual_router_id ${vrid}
  priority ${a.priority}
  advert_int ${advertS}
  virtual_ipaddress {
    ${vip}/24 dev ${iface}
  }
}`;
  return `
global_defs {
  router_id ${node}
  enable_script_security
  script_user root
  vrrp_garp_master_delay 1
  vrrp_garp_master_repeat 3${Number.isInteger(advertS) ? '' : '\n  vrrp_version 3'}
}
vrrp_sync_group TALKGATE {
  group {
    OUTSIDE
    INSIDE
  }
  notify_master "${notify('MASTER')}"
  notify_backup "${notify('BACKUP')}"
  notify_fault "${notify('FAULT')}"
  notify_stop "${notify('STOP')}"
}
${instance('OUTSIDE', 'outside', 51, VIP_OUT)}
${instance('INSIDE', 'inside', 52, VIP_IN)}
`;
}

export function conntrackdConfig(node: HaNodeName, dir: string): string {
  const a = NODE_ADDR[node];
  return `
Sync {
  Mode FTFW {
    DisableExternalCache Off
    CommitTimeout 1800
    PurgeTimeout 5
  }
  UDP {
    IPv4_address ${a.sync}
    IPv4_Destination_Address ${a.peerSync}
    Port 3780
    Interface sync
    SndSocketBuffer 1249280
    RcvSocketBuffer 1249280
    Checksum on
  }
  Options {
    TCPWindowTracking Off
  }
}
General {
  HashSize 8192
  HashLimit 65535
  LogFile ${join(dir, 'conntrackd.log')}
  Syslog off
  LockFile ${join(dir, 'conntrackd.lock')}
  UNIX {
    Path ${join(dir, 'conntrackd.ctl')}
  }
  NetlinkBufferSize 2097152
  NetlinkBufferSizeMaxGrowth 8388608
  NetlinkEventsReliable On
  Filter From Userspace {
    Protocol Accept {
      TCP
    }
    Address Ignore {
      IPv4_address 127.0.0.1
      IPv4_address ${a.sync}
      IPv4_address ${a.peerSync}
    }
  }
}
`;
}

/** One gateway node: its processes and files. */
export class HaNode {
  gw: LabProcess | undefined;
  keepalived: LabProcess | undefined;
  conntrackd: LabProcess | undefined;
  readonly dir: string;
  readonly conf: string;

  constructor(
    readonly lab: Lab,
    readonly name: HaNodeName,
    opts: HaPairOptions = {},
  ) {
    this.dir = lab.hostDir(name);
    this.conf = join(this.dir, 'gateway.toml');
    const p = lab.spec.prefix;
    writeFileSync(this.conf, gatewayConfig(p, name, this.dir, join(this.dir, 'audit.jsonl'), opts.outbound, opts.mode), { mode: 0o644 });
    writeFileSync(join(this.dir, 'conntrackd.conf'), conntrackdConfig(name, this.dir), { mode: 0o644 });
    // The shipped notify script, with this node's talkgate command and configuration.
    // CONNTRACKD_CONFIG: the hook commits in the shell before talkgate starts (its fast path).
    const notify = (state: string): string =>
      `/usr/bin/env CONNTRACKD_CONFIG=${join(this.dir, 'conntrackd.conf')} ${join(repoRoot(), 'examples', 'talkgate-ha-notify')} ${state} ${this.conf} ${talkgateArgv().join(' ')}`;
    writeFileSync(join(this.dir, 'keepalived.conf'), keepalivedConfig(name, notify, opts.advertS), { mode: 0o644 });
  }

  /** talkgate's log lines. */
  lines(): string[] {
    return `${this.gw?.stdout ?? ''}\n${this.gw?.stderr ?? ''}`.split('\n');
  }

  async notifyLog(): Promise<string> {
    return (await this.lab.exec(this.name, ['cat', '/var/log/talkgate/ha-notify.log'], { check: false })).stdout;
  }

  log(tail = 6000): string {
    return `--- ${this.name} talkgate ---\n${this.gw?.stdout.slice(-tail) ?? ''}${this.gw?.stderr.slice(-2000) ?? ''}\n--- ${this.name} keepalived ---\n${this.keepalived?.stdout.slice(-3000) ?? ''}${this.keepalived?.stderr.slice(-3000) ?? ''}`;
  }

  /** Starts conntrackd, talkgate (backup) and keepalived, in that order. */
  async start(): Promise<void> {
    const l = this.lab;
    this.conntrackd = l.spawn(this.name, [CONNTRACKD, '-C', join(this.dir, 'conntrackd.conf')]);
    await waitUntil(`conntrackd on ${this.name}`, async () => (await l.exec(this.name, [CONNTRACKD, '-C', join(this.dir, 'conntrackd.conf'), '-s'], { check: false })).code === 0, 10_000, 100);
    this.gw = l.spawn(this.name, talkgateArgv('gateway', '--config', this.conf, '--log-level', 'debug'));
    await waitUntil(`talkgate on ${this.name}`, () => this.lines().some((x) => x.includes('ha: waiting for keepalived')) || (!this.gw?.running && 'dead'), 20_000, 50).then((v) => {
      if (v === 'dead') throw new Error(`talkgate on ${this.name} died:\n${this.log()}`);
    });
    const kd = join(this.dir, 'keepalived');
    this.keepalived = l.spawn(this.name, [
      KEEPALIVED, '-n', '-l', '-D', '-P', '-f', join(this.dir, 'keepalived.conf'),
      '-p', `${kd}.pid`, '-r', `${kd}-vrrp.pid`, '-c', `${kd}-checkers.pid`, '--no-syslog',
    ]);
  }

  /** The role talkgate reports (`talkgate ha status`). */
  async role(): Promise<string> {
    const r = await this.lab.exec(this.name, talkgateArgv('ha', 'status', '-c', this.conf), { check: false });
    return r.code === 0 ? ((JSON.parse(r.stdout) as { role: string }).role) : `unreachable: ${r.stderr.trim()}`;
  }

  async waitRole(role: 'master' | 'backup', ms = 15_000): Promise<number> {
    await waitUntil(`${this.name} ${role}`, async () => (await this.role()) === role, ms, 50).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${this.log()}`);
    });
    return Date.now();
  }

  /** A dead machine: links down, then SIGKILL for talkgate (both processes), keepalived, conntrackd. */
  async crash(): Promise<void> {
    for (const i of ['inside', 'outside', 'sync']) await this.lab.exec(this.name, ['ip', 'link', 'set', i, 'down']);
    for (const p of await this.lab.pids(this.name)) {
      const exe = p.argv.join(' ');
      if (/keepalived|conntrackd|talkgate/.test(exe) && !/tcpdump/.test(exe)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await waitUntil(`${this.name}'s daemons gone`, async () => !(await this.lab.pids(this.name)).some((p) => /keepalived|conntrackd|talkgate/.test(p.argv.join(' '))), 5_000, 50);
  }

  /** The machine rebooted: no virtual address, no conntrack entries, its links back; then start(). */
  async restore(): Promise<void> {
    for (const [i, vip] of [['inside', VIP_IN], ['outside', VIP_OUT]] as const) {
      await this.lab.exec(this.name, ['ip', 'addr', 'del', `${vip}/24`, 'dev', i], { check: false });
    }
    await this.lab.exec(this.name, ['conntrack', '-F'], { check: false });
    // conntrackd's lock file and socket of the killed instance (a reboot clears them).
    rmSync(join(this.dir, 'conntrackd.lock'), { force: true });
    rmSync(join(this.dir, 'conntrackd.ctl'), { force: true });
    for (const i of ['inside', 'outside', 'sync']) await this.lab.exec(this.name, ['ip', 'link', 'set', i, 'up']);
    await this.start();
  }

  /** Whether this node holds the virtual outside address (keepalived made it master). */
  async hasVip(): Promise<boolean> {
    return (await this.lab.exec(this.name, ['ip', '-br', 'addr', 'show', 'dev', 'outside'], { check: false })).stdout.includes(`${VIP_OUT}/`);
  }

  /** CPU time (ms) of this node's talkgate processes (privileged + worker), from /proc. */
  async talkgateCpuMs(): Promise<number> {
    let ticks = 0;
    for (const p of await this.lab.pids(this.name)) {
      if (!p.argv.some((a) => a.endsWith('talkgate.js') || a.endsWith('gateway-worker.js'))) continue;
      try {
        const f = readFileSync(`/proc/${p.pid}/stat`, 'latin1');
        const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
        ticks += Number(rest[11]) + Number(rest[12]);
      } catch {
        /* exited */
      }
    }
    return ticks * (1000 / CLOCK_TICKS_PER_S);
  }

  /** Every element in talkgate's sets on this node. */
  async holes(): Promise<number> {
    const r = await this.lab.exec(this.name, ['nft', '-j', 'list', 'table', 'ip', `${this.lab.spec.prefix}_pinhole`]);
    const doc = JSON.parse(r.stdout) as { nftables: Record<string, { elem?: unknown[] }>[] };
    return doc.nftables.reduce((n, o) => n + ((o['set'] ?? o['map'])?.elem?.length ?? 0), 0);
  }
}
