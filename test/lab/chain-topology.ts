/**
 * Two organisations behind two talkgates (RFC 1919 §3.2.6, "Org. 1 — Proxy system 1 — Proxy
 * system 2 — Org. 2"), both numbering their inside network 10.9.0.0/24, with the very same
 * addresses on both sides:
 *
 *   a1 10.9.0.2 ──"in1"── gw1 10.9.0.1 | 192.0.2.1 ──"transit"── 192.0.2.2 gw2 | 10.9.0.1 ──"in2"── a2 10.9.0.2
 *                                                       └── x 192.0.2.3 (a third transit host)
 *
 * The transit segment is a bridge in x's namespace (its address 192.0.2.3 is on the bridge), so
 * one capture on it (promiscuous) sees every frame of the transit network. (Not in a gateway's:
 * with br_netfilter loaded, bridged frames would cross that gateway's forward policy drop.) Every host's /etc/hosts
 * names only what that host can see: its own organisation (and, for the gateways, the transit
 * hosts), so no name ever resolves across the conflicting numbering. The gateways forward nothing
 * (forward policy drop); a gateway under test must relay or own its firewall.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from './lab.js';
import { fwRuleset } from './topologies.js';

/** The inside network of both organisations. */
export const ORG_NET = '10.9.0.0/24';
export const ORG_GW_ADDR = '10.9.0.1';
export const ORG_HOST_ADDR = '10.9.0.2';
export const GW1_TRANSIT = '192.0.2.1';
export const GW2_TRANSIT = '192.0.2.2';
export const X_TRANSIT = '192.0.2.3';
/** Interface (= segment) names. */
export const IN1_IF = 'in1';
export const IN2_IF = 'in2';
export const TRANSIT_IF = 'transit';
/** Short transit names the gateways know each other by (`outside.hosts`): fit a talk name. */
export const GW1_NAME = 'gw1';
export const GW2_NAME = 'gw2';
/** The peering port both gateways listen on. */
export const PEERING_PORT = 5519;

/** Builds the chain lab; both gateways' forward policy is drop. */
export async function chainLab(prefix: string): Promise<Lab> {
  const lab = await Lab.create({
    prefix,
    hosts: ['gw1', 'gw2', 'a1', 'a2', 'x'],
    segments: [
      {
        name: TRANSIT_IF,
        members: [
          { host: 'x', addr: `${X_TRANSIT}/24` },
          { host: 'gw1', addr: `${GW1_TRANSIT}/24` },
          { host: 'gw2', addr: `${GW2_TRANSIT}/24` },
        ],
      },
      { name: IN1_IF, members: [{ host: 'gw1', addr: `${ORG_GW_ADDR}/24` }, { host: 'a1', addr: `${ORG_HOST_ADDR}/24` }] },
      { name: IN2_IF, members: [{ host: 'gw2', addr: `${ORG_GW_ADDR}/24` }, { host: 'a2', addr: `${ORG_HOST_ADDR}/24` }] },
    ],
    routes: [
      { host: 'a1', to: 'default', via: ORG_GW_ADDR },
      { host: 'a2', to: 'default', via: ORG_GW_ADDR },
    ],
    forwarding: ['gw1', 'gw2'],
    users: ['alice', 'bob'],
  });
  try {
    const n = (h: string): string => lab.hostname(h);
    const transit = [`${GW1_TRANSIT}\t${n('gw1')} ${GW1_NAME}`, `${GW2_TRANSIT}\t${n('gw2')} ${GW2_NAME}`, `${X_TRANSIT}\t${n('x')}`];
    const hosts: Record<string, string[]> = {
      a1: [`${ORG_HOST_ADDR}\t${n('a1')}`, `${ORG_GW_ADDR}\t${n('gw1')}`],
      a2: [`${ORG_HOST_ADDR}\t${n('a2')}`, `${ORG_GW_ADDR}\t${n('gw2')}`],
      gw1: [...transit, `${ORG_HOST_ADDR}\t${n('a1')}`, `${ORG_GW_ADDR}\t${n('gw1')}-in`],
      gw2: [...transit.slice(1), `${GW1_TRANSIT}\t${n('gw1')} ${GW1_NAME}`, `${ORG_HOST_ADDR}\t${n('a2')}`, `${ORG_GW_ADDR}\t${n('gw2')}-in`],
      x: transit,
    };
    // The per-host hosts file is bind-mounted: rewriting it in place changes /etc/hosts there.
    for (const [h, lines] of Object.entries(hosts)) writeFileSync(join(lab.hostDir(h), 'hosts'), ['127.0.0.1\tlocalhost', ...lines, ''].join('\n'));
    for (const gw of ['gw1', 'gw2']) await lab.nft(gw, fwRuleset(`${prefix}${gw}`, 'drop'));
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return lab;
}

/**
 * Certificates made with openssl in `dir`: a CA both gateways trust, gw1's and gw2's certificates
 * from it, and from a second CA nobody trusts an impostor "gw1" (for x) and a bad "gw2".
 * Keys are root's, mode 0600: the privileged process reads them and hands them to the worker.
 */
export function makeChainCertificates(dir: string, prefix: string): void {
  const sh = (cmd: string): void => {
    execFileSync('/bin/sh', ['-c', cmd], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const key = (name: string): string => `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out ${name}.key`;
  sh(`${key('ca')} && openssl req -x509 -new -key ca.key -out ca.crt -subj /CN=${prefix}-ca -days 2`);
  sh(`${key('evil-ca')} && openssl req -x509 -new -key evil-ca.key -out evil-ca.crt -subj /CN=${prefix}-evil-ca -days 2`);
  const issue = (name: string, cn: string, ca: string): void =>
    sh(`${key(name)} && openssl req -new -key ${name}.key -subj /CN=${cn} -out ${name}.csr && openssl x509 -req -in ${name}.csr -CA ${ca}.crt -CAkey ${ca}.key -CAcreateserial -out ${name}.crt -days 2`);
  issue('gw1', GW1_NAME, 'ca');
  issue('gw2', GW2_NAME, 'ca');
  issue('impostor', GW1_NAME, 'evil-ca');
  issue('bad-gw2', GW2_NAME, 'evil-ca');
  for (const n of ['ca', 'evil-ca', 'gw1', 'gw2', 'impostor', 'bad-gw2']) chmodSync(join(dir, `${n}.key`), 0o600);
}

export type GwMode = 'classical' | 'pinhole';

export interface GwSpec {
  readonly host: 'gw1' | 'gw2';
  readonly mode: GwMode;
  readonly transit: string;
  readonly peerName: string;
  readonly peerAddr: string;
  /** The local user and the directory entry naming them. */
  readonly user: string;
  /** This gateway's certificate and key (files in the lab dir); the CA is always the good one. */
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** A chain gateway's configuration: TLS peers, audit, the local user in the directory. */
export function chainGatewayToml(g: GwSpec, auditFile: string, prefix: string): string {
  const common = `[inside]
address = "${ORG_GW_ADDR}"
interface = "${g.host === 'gw1' ? IN1_IF : IN2_IF}"
networks = ["${ORG_NET}"]
[outside]
address = "${g.transit}"
interface = "${TRANSIT_IF}"
dns = false
[directory]
${g.user} = "${g.user}@${ORG_HOST_ADDR}"
[[policy]]
action = "allow"
direction = "any"
[audit]
file = "${auditFile}"
[admin]
listen = "off"
[privileges]
user = "nobody"
group = "nogroup"
[peering]
port = ${PEERING_PORT}
cert = "${g.cert}"
key = "${g.key}"
ca = "${g.ca}"
[[peering.peers]]
name = "${g.peerName}"
address = "${g.peerAddr}"
`;
  if (g.mode === 'classical') return `mode = "classical"\n${common}[relay]\nports = "41000-41049"\n`;
  return `mode = "pinhole"\n${common}[transparent]\ntable = "${prefix}_intercept"\n[pinhole]\ntable = "${prefix}_pinhole"\nports = "41000-41049"\nhole_timeout = 20\noutbound = "holes"\n`;
}

