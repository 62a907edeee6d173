/**
 * The gateway's unprivileged worker (privilege separation; see src/gateway/privsep/): started by
 * the privileged process with the sockets peers talk to as inherited fds and the configuration
 * text over IPC. It drops to the configured user before it reads a byte, proves it holds no
 * capability, and then runs the whole gateway (session core, relay, policy, audit, admin): every
 * datagram and byte from a peer is parsed here. Firewall changes go through the privileged side.
 */
import process from 'node:process';
import { parseGatewayConfig } from '../config/load-gateway-config.js';
import { GatewayRuntime, type InheritedSockets } from '../gateway/io/gateway-runtime.js';
import { RemoteHoles, WorkerLink } from '../gateway/privsep/worker-link.js';
import type { ToWorker } from '../gateway/privsep/privsep-messages.js';
import { createLogger, reopenLogFiles, type LogFormat } from '../observability/logger.js';
import { systemClock } from '../shared/clock.js';
import { sanitizeText } from '../shared/sanitize.js';
import { becomeUnprivilegedWorker } from '../privsep/drop-privileges.js';
import { TalkError } from '../shared/talk-error.js';

const send = (m: unknown): void => {
  if (process.connected) process.send?.(m);
};
const link = new WorkerLink(send);
let runtime: GatewayRuntime | undefined;

// Signals are the privileged process's to handle (a terminal's ^C reaches the whole group).
for (const sig of ['SIGINT', 'SIGHUP'] as const) process.on(sig, () => undefined);
process.on('SIGTERM', () => void shutdown(0));
// The privileged process is gone (killed): nothing may run without it. Exit at once, so the
// sockets are free for its successor; audit records are already written (write(2) per record).
process.on('disconnect', () => process.exit(0));

async function shutdown(code: number): Promise<void> {
  await runtime?.stop().catch(() => undefined);
  process.exit(code);
}

process.on('message', (m: ToWorker) => {
  if (link.onMessage(m)) return;
  switch (m.t) {
    case 'init':
      void init(m).catch((err: unknown) => {
        send({ t: 'fatal', message: sanitizeText(String((err as Error).message ?? err)) });
        process.exit(1);
      });
      return;
    case 'reload': {
      const next = parseGatewayConfig(m.configText, 'reload');
      if (runtime === undefined || !next.ok) return;
      const warnings = runtime.reload(next.config);
      runtime.reopenAudit();
      reopenLogFiles();
      logger?.info({ warnings }, 'configuration reloaded; audit log reopened');
      return;
    }
    case 'reopen':
      runtime?.reopenAudit();
      return;
    case 'stop':
      void shutdown(0);
      return;
    default:
      return;
  }
});

let logger: ReturnType<typeof createLogger> | undefined;

async function init(m: Extract<ToWorker, { t: 'init' }>): Promise<void> {
  const parsed = parseGatewayConfig(m.configText, m.configPath);
  if (!parsed.ok) throw new TalkError('CONFIG_INVALID', parsed.errors.join('; '));
  const config = parsed.config;
  const log = createLogger({ name: 'talkgate-gateway', format: m.logFormat as LogFormat, level: m.logLevel, ...(m.logFile !== undefined ? { file: m.logFile } : {}) });
  logger = log;
  // The audit log is opened by the runtime below, as the worker user (the privileged side made the
  // file the worker's). Nothing from a peer has been read yet; from here on, no privilege.
  const as = becomeUnprivilegedWorker(m.user, m.group, m.workdir);
  runtime = await GatewayRuntime.start({
    config,
    clock: systemClock,
    logger: log,
    inherited: m.sockets as InheritedSockets,
    ...(m.adminTls !== undefined ? { adminTls: m.adminTls } : {}),
    ...(m.peeringTls !== undefined ? { peeringTls: m.peeringTls } : {}),
    privileged: { sendFrom: link.sendFrom, ...(m.holes ? { holes: new RemoteHoles(link) } : {}) },
  });
  link.events = runtime.dataPathEvents;
  log.info({ worker: process.pid, ...(as !== undefined ? { runningAs: as } : {}), faces: runtime.faces(), admin: runtime.adminAddress() }, 'gateway worker running');
  send({ t: 'ready', faces: runtime.faces() });
}
