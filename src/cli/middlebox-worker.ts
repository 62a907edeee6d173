/**
 * The middlebox's unprivileged worker: started by the privileged process with the PCP socket as an
 * inherited fd; drops to nobody before it reads a datagram, proves it holds no capability, and
 * runs the PCP/NAT-PMP server, asking the privileged side for every firewall change.
 */
import process from 'node:process';
import { createLogger, type LogFormat } from '../observability/logger.js';
import { parseMiddleboxConfig } from '../pcp/middlebox-config.js';
import { PcpServer } from '../pcp/pcp-server.js';
import { RemoteMiddleboxFirewall } from '../pcp/privsep/remote-middlebox-firewall.js';
import { PrivilegedChannel } from '../privsep/privileged-channel.js';
import { systemClock } from '../shared/clock.js';
import { sanitizeText } from '../shared/sanitize.js';
import { becomeUnprivilegedWorker } from '../privsep/drop-privileges.js';
import { serverLog, startMiddleboxAdmin, type MiddleboxWorkerInit } from './middlebox-command.js';

const send = (m: unknown): void => {
  if (process.connected) process.send?.(m);
};
const channel = new PrivilegedChannel(send);
let server: PcpServer | undefined;

for (const sig of ['SIGINT', 'SIGHUP'] as const) process.on(sig, () => undefined);
process.on('SIGTERM', () => void shutdown());
process.on('disconnect', () => process.exit(0));

async function shutdown(): Promise<void> {
  await server?.stop().catch(() => undefined);
  process.exit(0);
}

process.on('message', (m: { t: string }) => {
  if (channel.onMessage(m)) return;
  if (m.t === 'stop') void shutdown();
  else if (m.t === 'init') {
    void init(m as MiddleboxWorkerInit).catch((err: unknown) => {
      send({ t: 'fatal', message: sanitizeText(String((err as Error).message ?? err)) });
      process.exit(1);
    });
  }
});

async function init(m: MiddleboxWorkerInit): Promise<void> {
  const settings = parseMiddleboxConfig(m.configText);
  const logger = createLogger({ name: 'talkgate-middlebox', format: m.logFormat as LogFormat, level: m.logLevel });
  const as = becomeUnprivilegedWorker(m.user, undefined, m.workdir);
  server = new PcpServer({ ...settings, firewall: new RemoteMiddleboxFirewall(channel), fd: m.fd, clock: systemClock, log: serverLog(logger) });
  await server.start();
  await startMiddleboxAdmin(settings, server, logger);
  logger.info({ worker: process.pid, ...(as !== undefined ? { runningAs: as } : {}) }, 'middlebox worker running');
  send({ t: 'ready', info: { listen: `${settings.listenAddress}:${settings.listenPort}` } });
}
