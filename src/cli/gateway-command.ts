/**
 * `talkgate gateway [--config FILE] [--check]`: the talk gateway (issue 4, classical mode).
 * Without --config it runs the bundled one-machine default (examples/gateway-default.toml).
 * SIGHUP reloads policy, directory, hosts and limits; SIGINT/SIGTERM stop it.
 */
import { Command } from 'commander';
import { systemClock } from '../shared/clock.js';
import { createLogger, type LogFormat } from '../observability/logger.js';
import { checkOption, logFormatOption, logLevelOption, type LogLevel } from './common-options.js';
import { checkModePrerequisites } from '../config/mode-prerequisites.js';
import { sanitizeText } from '../shared/sanitize.js';
import { systemPrerequisiteProbes } from './doctor/system-probes.js';
import { systemDoctorProbes } from './doctor/doctor-probes.js';
import { runGatewayDoctor } from './doctor/run-gateway-doctor.js';
import { defaultGatewayConfigPath, loadGatewayConfigFile, type ConfigResult } from '../config/load-gateway-config.js';
import { GatewayRuntime } from '../gateway/io/gateway-runtime.js';
import type { GatewayConfig } from '../config/gateway-config.js';

interface GatewayOptions {
  config?: string;
  check?: boolean;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

export function command(): Command {
  return new Command('gateway')
    .description('talk gateway for a firewall: relays talk calls between the inside and the outside')
    .option('-c, --config <file>', 'TOML configuration (default: the bundled one-machine example)')
    .addOption(checkOption())
    .addOption(logLevelOption())
    .addOption(logFormatOption())
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
  const logger = createLogger({ name: 'talkgate-gateway', format: opts.logFormat, level: opts.logLevel });
  for (const w of [...loaded.warnings, ...prerequisites]) logger.warn({ code: w.code, key: w.key }, sanitizeText(w.message));
  let rt: GatewayRuntime;
  try {
    rt = await GatewayRuntime.start({ config: loaded.config, clock: systemClock, logger });
  } catch (err: unknown) {
    process.stderr.write(`talkgate gateway: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  let runningAs: { user: string; group?: string } | undefined;
  try {
    runningAs = dropPrivileges(loaded.config);
  } catch (err: unknown) {
    process.stderr.write(`talkgate gateway: cannot drop privileges: ${(err as Error).message}\n`);
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

/**
 * Who a classical gateway started as root runs as when [privileges] is absent: it needs no
 * privilege once its sockets are bound (relay ports are unprivileged). Debian's nobody/nogroup;
 * the group falls back to "nobody" where there is no "nogroup".
 */
export const DEFAULT_UNPRIVILEGED_USER = 'nobody';
export const DEFAULT_UNPRIVILEGED_GROUPS: readonly string[] = ['nogroup', 'nobody'];

/**
 * Started as root: after binding, switch to [privileges] user/group (group first). Without
 * [privileges] the classical mode drops to nobody; the transparent and pinhole modes keep root
 * (they program nftables and open transparent sockets per call).
 */
function dropPrivileges(config: GatewayConfig): { user: string; group?: string } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let p = config.privileges;
  if (p === undefined) {
    if (config.mode !== 'classical') return undefined;
    p = { user: DEFAULT_UNPRIVILEGED_USER };
  }
  let group = p.group;
  if (typeof process.setgid === 'function') {
    const candidates = group !== undefined ? [group] : config.privileges === undefined ? DEFAULT_UNPRIVILEGED_GROUPS : [];
    for (const g of candidates) {
      try {
        process.setgid(g);
        group = g;
        break;
      } catch (err: unknown) {
        if (g === candidates[candidates.length - 1]) throw err;
      }
    }
  }
  // process.initgroups (POSIX) is missing from @types/node 20: reach it through a narrow cast.
  const initgroups = (process as unknown as { initgroups?: (user: string, extraGroup: string) => void }).initgroups;
  if (group !== undefined && typeof initgroups === 'function') initgroups.call(process, p.user, group);
  if (typeof process.setuid === 'function') process.setuid(p.user);
  return { user: p.user, ...(group !== undefined ? { group } : {}) };
}
