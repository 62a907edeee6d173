/**
 * The options every long-running talkgate tool shares (talkd, gateway, middlebox), built in one
 * place so their spelling, allowed values and help text agree: `--log-level`, `--log-format`,
 * `--check`, and the argument parsers for integers, ports, IPv4 addresses and port ranges.
 * Commander rejects a value outside a `.choices()` list itself, naming the allowed values; the
 * dispatcher (main.ts) turns every such usage error into exit status 2 on stderr.
 */
import { MAX_PORT, parsePortRange, type PortRange } from '../shared/port-range.js';
import { InvalidArgumentError, Option } from 'commander';
import { isIPv4 } from '../protocol/wire.js';
import type { LogFormat } from '../observability/logger.js';

/** The pino levels a tool accepts (pino's own names; "silent" turns logging off). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Log line formats: JSON lines (pino) or RFC 5424 syslog lines (src/observability/logger.ts). */
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'syslog'];
/** Default level and format of every tool. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_LOG_FORMAT: LogFormat = 'json';
/** `--log-level <level>`, one of {@link LOG_LEVELS}. */
export function logLevelOption(): Option {
  return new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default(DEFAULT_LOG_LEVEL);
}

/** `--log-format <format>`, one of {@link LOG_FORMATS}. */
export function logFormatOption(): Option {
  return new Option('--log-format <format>', 'log line format').choices(LOG_FORMATS).default(DEFAULT_LOG_FORMAT);
}

/** `--check`: validate the configuration and this machine's prerequisites, then exit. */
/** `--log-file <path>`: append the log there instead of stderr; SIGHUP reopens it (logrotate). */
export function logFileOption(): Option {
  return new Option('--log-file <path>', 'append the log to this file instead of stderr (reopened on SIGHUP, for logrotate)');
}

export function checkOption(what = 'the configuration'): Option {
  return new Option(
    '--check',
    `validate ${what} and check this machine for what it needs, print problems as file:line: key: message, and exit (0 valid, 1 invalid)`,
  );
}

/** Parser for an integer option in [min, max] (decimal digits only: no "1e3", "0x10", "-1"). */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** Parser for a port option: 1-65535, or 0-65535 with `allowZero` (0 = any free port). */
export function portArgument(allowZero = false): (value: string) => number {
  return integerIn(allowZero ? 0 : 1, MAX_PORT);
}

/** Parser for a dotted-quad IPv4 address option. */
export function ipv4Argument(value: string): string {
  if (!isIPv4(value)) throw new InvalidArgumentError('expected a dotted-quad IPv4 address like 127.0.0.1');
  return value;
}

/** An inclusive port range. */
/** Parser for a port-range option (`--ports 40000-40999`). */
export function portRangeArgument(value: string): PortRange {
  const r = parsePortRange(value);
  if (r === undefined) throw new InvalidArgumentError('expected a port range like 40000-40999 (low <= high, 1-65535)');
  return r;
}
