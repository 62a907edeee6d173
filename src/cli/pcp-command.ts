/** `talkgate pcp map|peer|delete|announce --server ADDR ...`: PCP client for people and scripts. */
import { Command, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { PcpClient, type MapResult } from '../pcp/pcp-client.js';
import { IPPROTO_TCP, IPPROTO_UDP, PCP_NONCE_SIZE, PcpOpcode, PcpResult, pcpResultName } from '../pcp/pcp-constants.js';
import type { PcpResponse } from '../pcp/pcp-response.js';

interface Common {
  server: string;
  port: string;
  json?: boolean;
  mrc: string;
  irt: string;
}

function client(o: Common): PcpClient {
  return new PcpClient({ server: o.server, port: Number(o.port), mrc: Number(o.mrc), irtMs: Number(o.irt) });
}

function common(c: Command): Command {
  return c
    .requiredOption('--server <addr>', 'PCP server address')
    .option('--port <n>', 'PCP server port', '5351')
    .option('--json', 'print one JSON object')
    .option('--mrc <n>', 'maximum transmissions (RFC 6887 §8.1.1 retransmission)', '3')
    .option('--irt <ms>', 'initial retransmission time in ms', '3000');
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function parseNonce(s: string | undefined): Uint8Array {
  if (s === undefined) return randomBytes(PCP_NONCE_SIZE);
  if (!/^[0-9a-fA-F]{24}$/.test(s)) throw new Error('--nonce must be 24 hex digits');
  return Buffer.from(s, 'hex');
}

function proto(s: string): number {
  if (s === 'tcp') return IPPROTO_TCP;
  if (s === 'udp') return IPPROTO_UDP;
  throw new Error('--protocol must be tcp or udp');
}

function print(o: Common, r: MapResult | PcpResponse, what: string): void {
  const resp = 'response' in r ? r.response : r;
  const ok = resp.result === PcpResult.SUCCESS;
  const obj: Record<string, unknown> = { ok, result: pcpResultName(resp.result), resultCode: resp.result, lifetime: resp.lifetime, epoch: resp.epoch };
  if ('nonce' in r) Object.assign(obj, { externalAddress: r.externalAddress, externalPort: r.externalPort, nonce: hex(r.nonce) });
  if (o.json === true) process.stdout.write(`${JSON.stringify(obj)}\n`);
  else if ('nonce' in r && ok && r.lifetime > 0) process.stdout.write(`${what}: ${r.externalAddress}:${r.externalPort} for ${r.lifetime} s (epoch ${r.epoch}, nonce ${hex(r.nonce)})\n`);
  else process.stdout.write(`${what}: ${pcpResultName(resp.result)} (lifetime ${resp.lifetime} s, epoch ${resp.epoch})\n`);
  process.exitCode = ok ? 0 : 1;
}

/** Runs `f` with a client for the options' server, closed afterwards; any error is printed (exit code 3). */
async function withClient(o: Common, f: (c: PcpClient) => Promise<void>): Promise<void> {
  try {
    const c = client(o);
    try {
      await f(c);
    } finally {
      c.close();
    }
  } catch (e) {
    const msg = (e as Error).message;
    if (o.json === true) process.stdout.write(`${JSON.stringify({ ok: false, error: msg })}\n`);
    else process.stderr.write(`talkgate pcp: ${msg}\n`);
    process.exitCode = 3;
  }
}

export function command(): Command {
  const pcp = new Command('pcp').description('PCP (RFC 6887) client');
  common(pcp.command('map').description('create or renew a MAP mapping'))
    .requiredOption('--internal-port <n>', 'internal port')
    .addOption(new Option('--protocol <p>', 'tcp or udp').default('tcp'))
    .option('--external-port <n>', 'suggested external port', '0')
    .option('--lifetime <s>', 'requested lifetime (s)', '600')
    .option('--nonce <hex>', 'mapping nonce (24 hex digits) to renew an existing mapping')
    .option('--filter <peer>', 'FILTER: only this remote IPv4 peer may use the mapping')
    .option('--filter-port <n>', 'FILTER remote port (0 = any)', '0')
    .option('--prefer-failure', 'PREFER_FAILURE: fail rather than substitute the external port')
    .option('--third-party <ip>', 'THIRD_PARTY: map for this inside host')
    .option('--description <text>', 'DESCRIPTION option')
    .action((o: Common & Record<string, string | boolean | undefined>) =>
      withClient(o, async (c) => {
        const r = await c.map({
          protocol: proto(String(o['protocol'])),
          internalPort: Number(o['internalPort']),
          suggestedPort: Number(o['externalPort']),
          lifetime: Number(o['lifetime']),
          nonce: parseNonce(o['nonce'] as string | undefined),
          ...(typeof o['filter'] === 'string' ? { filterPeer: o['filter'], filterPort: Number(o['filterPort']) } : {}),
          preferFailure: o['preferFailure'] === true,
          ...(typeof o['thirdParty'] === 'string' ? { thirdParty: o['thirdParty'] } : {}),
          ...(typeof o['description'] === 'string' ? { description: o['description'] } : {}),
        });
        print(o, r, 'mapped');
      }),
    );
  common(pcp.command('delete').description('delete a mapping (lifetime 0 with its nonce)'))
    .requiredOption('--internal-port <n>', 'internal port')
    .requiredOption('--nonce <hex>', 'the mapping nonce (24 hex digits)')
    .addOption(new Option('--protocol <p>', 'tcp or udp').default('tcp'))
    .option('--third-party <ip>', 'THIRD_PARTY: the inside host')
    .action((o: Common & Record<string, string | boolean | undefined>) =>
      withClient(o, async (c) => {
        const r = await c.delete({
          protocol: proto(String(o['protocol'])),
          internalPort: Number(o['internalPort']),
          nonce: parseNonce(o['nonce'] as string),
          ...(typeof o['thirdParty'] === 'string' ? { thirdParty: o['thirdParty'] } : {}),
        });
        print(o, r, 'deleted');
      }),
    );
  common(pcp.command('peer').description('PEER request (describe an outbound flow)'))
    .requiredOption('--internal-port <n>', 'internal port')
    .requiredOption('--remote <ip>', 'remote peer address')
    .requiredOption('--remote-port <n>', 'remote peer port')
    .addOption(new Option('--protocol <p>', 'tcp or udp').default('tcp'))
    .option('--lifetime <s>', 'requested lifetime (s)', '600')
    .action((o: Common & Record<string, string | boolean | undefined>) =>
      withClient(o, async (c) => {
        const nonce = randomBytes(PCP_NONCE_SIZE);
        const r = await c.send((clientAddress) => ({
          opcode: PcpOpcode.PEER,
          lifetime: Number(o['lifetime']),
          clientAddress,
          body: {
            nonce,
            protocol: proto(String(o['protocol'])),
            internalPort: Number(o['internalPort']),
            externalPort: 0,
            externalAddress: '::',
            remotePort: Number(o['remotePort']),
            remoteAddress: String(o['remote']),
          },
          options: { preferFailure: false, filters: [] },
        }));
        print(o, { result: r.result, lifetime: r.lifetime, epoch: r.epoch, externalAddress: r.body?.externalAddress ?? '::', externalPort: r.body?.externalPort ?? 0, nonce, response: r }, 'peer');
      }),
    );
  common(pcp.command('announce').description('ANNOUNCE: ask the server its epoch'))
    .action((o: Common) =>
      withClient(o, async (c) => {
        print(o, await c.announce(), 'announce');
      }),
    );
  return pcp;
}
