/**
 * miniupnpd (Debian miniupnpd-nftables 2.3.1) as a PCP interop peer in the TOPO_UPNP namespaces.
 * Debian's nft_init.sh is broken (iptables functions file; miniupnp/miniupnp#795, Debian
 * #1090753), so we create the `inet filter` table and the three miniupnpd chains ourselves
 * (shared/reference/middlebox.md §2). That table lives only inside our namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPO_UPNP, inNs, type Topo } from './pcp-lab.js';

export const MINIUPNPD = '/usr/sbin/miniupnpd';

const NFT_WORKAROUND = `table inet filter {
  chain miniupnpd { }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
  chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; jump miniupnpd; }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
}
`;

export interface Miniupnpd {
  readonly dir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function miniupnpd(t: Topo = TOPO_UPNP, opts: { minLifetime?: number; maxLifetime?: number } = {}): Miniupnpd {
  const dir = mkdtempSync(join(tmpdir(), 'tgp-upnp-'));
  const conf = join(dir, 'miniupnpd.conf');
  writeFileSync(join(dir, 'nft.conf'), NFT_WORKAROUND);
  writeFileSync(
    conf,
    [
      `ext_ifname=${t.ifs.boxOut}`,
      `listening_ip=${t.ifs.boxIn}`,
      'enable_natpmp=yes',
      'enable_upnp=no',
      `min_lifetime=${opts.minLifetime ?? 10}`,
      `max_lifetime=${opts.maxLifetime ?? 3600}`,
      'secure_mode=yes',
      `lease_file=${join(dir, 'leases')}`,
      'uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b',
      `allow 1024-65535 ${t.insideNet} 1024-65535`,
      'deny 0-65535 0.0.0.0/0 0-65535',
      '',
    ].join('\n'),
  );
  let proc: ChildProcess | null = null;
  return {
    dir,
    async start() {
      try {
        inNs(t.ns.box, ['nft', 'list', 'table', 'inet', 'filter']);
      } catch {
        inNs(t.ns.box, ['nft', '-f', join(dir, 'nft.conf')]);
      }
      const p = spawn('ip', ['netns', 'exec', t.ns.box, MINIUPNPD, '-f', conf, '-d', '-P', join(dir, 'pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
      proc = p;
      let log = '';
      p.stderr?.on('data', (d: Buffer) => {
        log = (log + d.toString()).slice(-4000);
      });
      // Ready when it logs its PCP/NAT-PMP socket (bounded wait).
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`miniupnpd did not start: ${log}`)), 10_000);
        const check = (): void => {
          if (/NAT-PMP|PCP|Listening/i.test(log)) {
            clearTimeout(timer);
            p.stderr?.off('data', check);
            setTimeout(resolve, 200);
          }
        };
        p.stderr?.on('data', check);
        p.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`miniupnpd exited ${code}: ${log}`));
        });
      });
    },
    async stop() {
      const p = proc;
      proc = null;
      if (p === null || p.exitCode !== null) return;
      p.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          p.kill('SIGKILL');
          resolve();
        }, 5000);
        p.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
