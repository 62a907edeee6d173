/**
 * `talkgate middlebox --config FILE [--check]`: PCP/NAT-PMP server programming nftables.
 * Started as root it separates privileges (as the gateway does): this process keeps nftables and
 * checks every mapping the worker asks for against the configuration (src/pcp/privsep/); the
 * worker, as nobody with no capability, parses every PCP and NAT-PMP datagram.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { openNftBackend } from '../firewall/nft-library-runner.js';
import { bindUdpSocketFd, closeFd } from '../native/fd-datagram-endpoint.js';
import { createLogger, type LogFormat, type Logger } from '../observability/logger.js';
import { parseMiddleboxConfig, type MiddleboxSettings } from '../pcp/middlebox-config.js';
import { LocalMiddleboxFirewall } from '../pcp/middlebox-firewall.js';
import { PcpServer, type PcpServerLog } from '../pcp/pcp-server.js';
import { MiddleboxPrivilegedService } from '../pcp/privsep/middlebox-privileged-service.js';
import { DEFAULT_WORKER_USER, lookupUser } from '../privsep/lookup-user.js';
import { makeWorkerDir } from '../privsep/worker-dir.js';
import { FIRST_CHILD_FD, WorkerSupervisor } from '../privsep/worker-supervisor.js';
import { middleboxStatus } from '../pcp/middlebox-status.js';
import { startAdminServer, type AdminServer } from '../gateway/admin/admin-server.js';
import { Registry } from 'prom-client';
import { systemClock } from '../shared/clock.js';
import { checkOption, logFormatOption, logLevelOption } from './common-options.js';
import { sanitizeText } from '../shared/sanitize.js';
import { describeError } from '../shared/talk-error.js';

interface MiddleboxOptions {
  config: string;
  check?: boolean;
  quiet?: boolean;
  nft: 'lib' | 'exec';
  logLevel: string;
  logFormat: LogFormat;
  privsep?: boolean;
}

/** The init message of a middlebox worker. */
export interface MiddleboxWorkerInit {
  readonly t: 'init';
  readonly configText: string;
  readonly logLevel: string;
  readonly logFormat: string;
  readonly fd: number;
  readonly user: string;
  readonly workdir: string;
}

export function command(): Command {
  return new Command('middlebox')
    .description('PCP (RFC 6887) / NAT-PMP server on the inside address that programs nftables')
    .requiredOption('-c, --config <file>', 'TOML configuration')
    .addOption(checkOption())
    .option('--quiet', 'log only warnings and errors (same as --log-level warn)')
    .addOption(new Option('--nft <how>', 'drive nftables in process ("lib", falls back to exec) or with nft -j per batch ("exec")').choices(['lib', 'exec']).default('lib'))
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .option('--no-privsep', 'as root, run in one privileged process (the in-process reference for benchmarks; not for production)')
    .action(async (opts: MiddleboxOptions) => {
      process.exitCode = await runMiddlebox(opts);
    });
}

/** PcpServer's text log lines, as structured lines (sanitised: they name peers' addresses and descriptions). */
/** The PCP server's lines into the logger, every text field sanitised (reasons may quote peer fields). */
export function serverLog(logger: Logger): PcpServerLog {
  const one = (v: unknown): unknown => (typeof v === 'string' ? sanitizeText(v) : v);
  const clean = (fields: object): object =>
    Object.fromEntries(Object.entries(fields).map(([k, v]: [string, unknown]) => [k, Array.isArray(v) ? v.map(one) : one(v)]));
  return {
    info: (fields, msg) => logger.info(clean(fields), sanitizeText(msg)),
    warn: (fields, msg) => logger.warn(clean(fields), sanitizeText(msg)),
  };
}

async function runMiddlebox(opts: MiddleboxOptions): Promise<number> {
  let text: string;
  let settings: MiddleboxSettings;
  try {
    text = readFileSync(opts.config, 'utf8');
    settings = parseMiddleboxConfig(text);
  } catch (e) {
    process.stderr.write(`talkgate middlebox: ${opts.config}: ${sanitizeText(describeError(e))}\n`);
    return 1;
  }
  if (opts.check === true) {
    process.stdout.write(`${opts.config}: configuration is valid\n`);
    return 0;
  }
  const logger = createLogger({ name: 'talkgate-middlebox', format: opts.logFormat, level: opts.quiet === true ? 'warn' : opts.logLevel });
  const choice = openNftBackend(opts.nft);
  if (choice.fallback !== undefined) logger.warn({ reason: sanitizeText(choice.fallback) }, 'running nft -j per batch: libnftables unavailable');
  const firewall = new LocalMiddleboxFirewall(settings.table, choice.backend);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && opts.privsep !== false) return runSeparated(opts, text, settings, firewall, logger);

  const server = new PcpServer({ ...settings, firewall, clock: systemClock, log: serverLog(logger) });
  try {
    await server.start();
  } catch (e) {
    process.stderr.write(`talkgate middlebox: ${sanitizeText(describeError(e))}\n`);
    await server.stop().catch(() => undefined);
    return 1;
  }
  const admin = await startMiddleboxAdmin(settings, server, logger);
  await stopSignal();
  await admin?.close();
  await server.stop();
  return 0;
}

/** The read-only mappings page on `[admin] listen`, if configured (served where the PCP server runs). */
export async function startMiddleboxAdmin(settings: MiddleboxSettings, server: PcpServer, logger: Logger): Promise<AdminServer | undefined> {
  if (settings.adminListen === undefined) return undefined;
  return startAdminServer({ listen: settings.adminListen, status: () => middleboxStatus(server.core.mappings(), systemClock.now()), registry: new Registry() }).catch(
    (e: unknown) => {
      logger.warn({ err: sanitizeText((e as Error).message) }, 'admin page not started');
      return undefined;
    },
  );
}

/** Resolves on SIGINT or SIGTERM. */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const done = (sig: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = (): void => done('SIGINT');
    const onTerm = (): void => done('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

async function runSeparated(opts: MiddleboxOptions, text: string, settings: MiddleboxSettings, firewall: LocalMiddleboxFirewall, logger: Logger): Promise<number> {
  const service = new MiddleboxPrivilegedService(settings.core, firewall, logger);
  let user: string;
  try {
    lookupUser(DEFAULT_WORKER_USER);
    user = DEFAULT_WORKER_USER;
  } catch (e) {
    process.stderr.write(`talkgate middlebox: ${sanitizeText(describeError(e))}\n`);
    return 1;
  }
  const dir = makeWorkerDir('talkgate-middlebox');
  let exitCode = 0;
  let giveUp: (() => void) | undefined;
  const gaveUp = new Promise<string>((r) => (giveUp = () => r('give-up')));
  const supervisor = new WorkerSupervisor({
    entry: fileURLToPath(new URL('./middlebox-worker.js', import.meta.url)),
    cwd: dir.path,
    clock: systemClock,
    log: logger,
    launch: () => {
      const init: MiddleboxWorkerInit = {
        t: 'init',
        configText: text,
        logLevel: opts.quiet === true ? 'warn' : opts.logLevel,
        logFormat: opts.logFormat,
        fd: FIRST_CHILD_FD,
        user,
        workdir: dir.path,
      };
      return { fds: [bindUdpSocketFd(settings.listenAddress, settings.listenPort)], init };
    },
    handle: (req) => service.handle(req),
    // A dead worker's mappings die with it (its clients see the new epoch and map again).
    onDeath: () => {
      void firewall.replaceTable().catch((e: unknown) => logger.error({ err: sanitizeText(String(e)) }, 'replacing the table after a worker death failed'));
      return 0;
    },
    onGiveUp: () => {
      exitCode = 1;
      giveUp?.();
    },
    close: closeFd,
  });
  try {
    await supervisor.start();
  } catch (e) {
    process.stderr.write(`talkgate middlebox: cannot start: ${sanitizeText(describeError(e))}\n`);
    await supervisor.stop();
    await firewall.removeTable();
    dir.remove();
    return 1;
  }
  logger.info({ privileged: process.pid, worker: supervisor.workerPid, user }, 'middlebox running (privilege separated)');
  const why = await Promise.race([stopSignal(), gaveUp]);
  logger.info({ signal: why }, 'middlebox stopping');
  await supervisor.stop();
  // A worker that stopped cleanly removed the rules itself; one that died did not.
  if (!(await firewall.tableLost())) {
    const r = await firewall.removeTable();
    logger.info({ ok: r.ok }, r.ok ? 'rules removed' : 'rule removal failed');
  }
  dir.remove();
  return exitCode;
}
