/**
 * `talkgate gateway [--config FILE] [--check]`: the talk gateway, in any mode.
 * Without --config it runs the bundled one-machine default (examples/gateway-default.toml).
 * Started as root it separates privileges (src/gateway/privsep/): this process keeps the
 * firewall, an unprivileged worker serves the peers. SIGHUP reloads policy, directory, hosts and
 * limits and reopens the audit log; SIGINT/SIGTERM stop it.
 */
import { Command } from 'commander';
import { systemClock } from '../shared/clock.js';
import { createLogger, reopenLogFiles, type LogFormat } from '../observability/logger.js';
import { checkOption, logFileOption, logFormatOption, logLevelOption, type LogLevel } from './common-options.js';
import { checkModePrerequisites } from '../config/mode-prerequisites.js';
import { sanitizeText } from '../shared/sanitize.js';
import { systemPrerequisiteProbes } from './doctor/system-probes.js';
import { systemDoctorProbes } from './doctor/doctor-probes.js';
import { runGatewayDoctor } from './doctor/run-gateway-doctor.js';
import { defaultGatewayConfigPath, loadGatewayConfigFile, type ConfigResult } from '../config/load-gateway-config.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GatewayRuntime } from '../gateway/io/gateway-runtime.js';
import { PrivilegedMonitor } from '../gateway/privsep/privileged-monitor.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { Logger } from '../observability/logger.js';
import { DEFAULT_UNPRIVILEGED_USER, dropPrivileges, type RunningAs } from '../privsep/drop-privileges.js';
import { describeError } from '../shared/talk-error.js';

interface GatewayOptions {
  config?: string;
  check?: boolean;
  logLevel: LogLevel;
  logFormat: LogFormat;
  logFile?: string;
  /** false with --no-privsep. */
  privsep?: boolean;
}

export function command(): Command {
  return new Command('gateway')
    .description('talk gateway for a firewall: relays talk calls between the inside and the outside')
    .option('-c, --config <file>', 'TOML configuration (default: the bundled one-machine example)')
    .addOption(checkOption())
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .addOption(logFileOption())
    .option('--no-privsep', 'as root, run in one privileged process (the in-process reference for benchmarks; not for production)')
    .action(async (opts: GatewayOptions) => {
      process.exitCode = await runGateway(opts);
    });
}

function load(path: string): ConfigResult {
  return loadGatewayConfigFile(path);
}

async function runGateway(opts: GatewayOptions): Promise<number> {
  const path = opts.config ?? defaultGatewayConfigPath();
  if (opts.check === true) {
    const report = await runGatewayDoctor({ path, prerequisites: systemPrerequisiteProbes(), probes: systemDoctorProbes() });
    for (const line of report.lines) process.stderr.write(`${line}\n`);
    (report.valid ? process.stdout : process.stderr).write(`${report.summary}\n`);
    return report.valid ? 0 : 1;
  }
  const loaded = load(path);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`${e}\n`);
    return 1;
  }
  // A missing prerequisite is one clear error naming its package, before anything is bound or installed.
  const prerequisites = checkModePrerequisites(loaded.config, systemPrerequisiteProbes());
  const missing = prerequisites.filter((p) => p.severity === 'error');
  if (missing.length > 0) {
    for (const p of missing) process.stderr.write(`${sanitizeText(`talkgate gateway: cannot start: ${p.key}: ${p.message}`)}\n`);
    return 1;
  }
  const logger = createLogger({ name: 'talkgate-gateway', format: opts.logFormat, level: opts.logLevel, ...(opts.logFile !== undefined ? { file: opts.logFile } : {}) });
  for (const w of [...loaded.warnings, ...prerequisites]) logger.warn({ code: w.code, key: w.key }, sanitizeText(w.message));
  if (isRoot() && opts.privsep !== false) return runSeparated(path, loaded.config, opts, logger);
  if (loaded.config.ha !== undefined) {
    // The role, the control socket and the sysctls belong to the privileged process.
    process.stderr.write('talkgate gateway: cannot start: [ha] needs the privilege-separated gateway: start it as root, without --no-privsep\n');
    return 1;
  }
  return runInProcess(path, loaded.config, logger);
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Privilege separation: this process keeps the privileges, a worker serves the peers. */
async function runSeparated(path: string, config: GatewayConfig, opts: GatewayOptions, logger: Logger): Promise<number> {
  let monitor: PrivilegedMonitor;
  try {
    monitor = await PrivilegedMonitor.start({
      configPath: path,
      configText: readFileSync(path, 'utf8'),
      config,
      clock: systemClock,
      logger,
      logLevel: opts.logLevel,
      logFormat: opts.logFormat,
      ...(opts.logFile !== undefined ? { logFile: opts.logFile } : {}),
      workerEntry: fileURLToPath(new URL('./gateway-worker.js', import.meta.url)),
    });
  } catch (err: unknown) {
    process.stderr.write(`talkgate gateway: cannot start: ${sanitizeText(describeError(err))}\n`);
    return 1;
  }
  logger.info({ config: path, privileged: process.pid, worker: monitor.workerPid, faces: monitor.faces() }, 'gateway running (privilege separated)');
  const onHup = (): void => monitor.reload();
  const onStop = (signal: string): void => {
    logger.info({ signal }, 'gateway stopping');
    void monitor.stop();
  };
  const onInt = (): void => onStop('SIGINT');
  const onTerm = (): void => onStop('SIGTERM');
  process.on('SIGHUP', onHup);
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const code = await monitor.exited;
  process.off('SIGHUP', onHup);
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  return code;
}

/** One process: not root (the loopback demo), or --no-privsep (the in-process reference for benchmarks). */
async function runInProcess(path: string, config: GatewayConfig, logger: Logger): Promise<number> {
  let rt: GatewayRuntime;
  try {
    rt = await GatewayRuntime.start({ config, clock: systemClock, logger });
  } catch (err: unknown) {
    process.stderr.write(`talkgate gateway: cannot start: ${sanitizeText(describeError(err))}\n`);
    return 1;
  }
  let runningAs: RunningAs | undefined;
  try {
    // As root without privilege separation only the classical mode can shed its privileges.
    if (config.mode === 'classical') runningAs = dropPrivileges(config.privileges?.user ?? DEFAULT_UNPRIVILEGED_USER, config.privileges?.group);
  } catch (err: unknown) {
    process.stderr.write(`talkgate gateway: cannot drop privileges: ${sanitizeText(describeError(err))}\n`);
    await rt.stop();
    return 1;
  }
  logger.info({ config: path, faces: rt.faces(), admin: rt.adminAddress(), ...(runningAs !== undefined ? { runningAs } : {}) }, 'gateway running');

  return new Promise<number>((resolve) => {
    const onHup = (): void => {
      const next = load(path);
      if (!next.ok) {
        logger.warn({ errors: next.errors }, 'reload rejected: configuration invalid, keeping the running one');
        return;
      }
      const warnings = rt.reload(next.config);
      rt.reopenAudit();
      reopenLogFiles();
      logger.info({ warnings }, 'configuration reloaded');
    };
    const onStop = (signal: string): void => {
      process.off('SIGHUP', onHup);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      logger.info({ signal }, 'gateway stopping');
      void rt.stop().then(() => resolve(0));
    };
    const onInt = (): void => onStop('SIGINT');
    const onTerm = (): void => onStop('SIGTERM');
    process.on('SIGHUP', onHup);
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}
