/**
 * `talkgate gateway --check` as a doctor: the configuration's schema and cross-checks, its
 * warnings, then this machine: the mode's prerequisites (the same check start-up makes), the
 * account the gateway will run as, whether it can write the audit log, and whether the
 * directory's hosts resolve. Every finding is one `file:line: key: message` line.
 */
import { readFileSync } from 'node:fs';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import { formatDiagnostic, type Diagnostic } from '../../config/config-diagnostic.js';
import { locateTomlKeys } from '../../config/toml-key-lines.js';
import { sanitizeText } from '../../shared/sanitize.js';
import { checkModePrerequisites, type PrerequisiteProbes } from '../../config/mode-prerequisites.js';
import type { GatewayConfig } from '../../config/gateway-config.js';
import { checkAuditFile } from './check-audit-file.js';
import { checkDirectoryHosts } from './check-directory-hosts.js';
import type { Account, DoctorProbes } from './doctor-probes.js';
import type { DoctorDiagnostic } from './doctor-diagnostic.js';

import { DEFAULT_UNPRIVILEGED_USER } from '../../privsep/drop-privileges.js';

export interface GatewayDoctorInput {
  /** The configuration file. */
  readonly path: string;
  readonly prerequisites: PrerequisiteProbes;
  readonly probes: DoctorProbes;
}

export interface GatewayDoctorReport {
  /** No error found (warnings allowed). */
  readonly valid: boolean;
  /** The findings, printed form, in the order found. */
  readonly lines: readonly string[];
  /** The closing line (`FILE: configuration is valid (mode M, N warnings)`). */
  readonly summary: string;
}

/**
 * The account that serves the peers and writes the audit log: started as root, the privilege
 * separated worker, [privileges] user or nobody in every mode (src/gateway/privsep/); started as
 * anyone else, that user.
 */
export function runAsAccount(c: GatewayConfig, probes: Pick<DoctorProbes, 'self' | 'account'>): DoctorDiagnostic | Account {
  const self = probes.self();
  if (self.uid !== 0) return self;
  const name = c.privileges?.user ?? DEFAULT_UNPRIVILEGED_USER;
  const key = c.privileges !== undefined ? 'privileges.user' : 'privileges';
  const a = probes.account(name);
  if (a === undefined) return { severity: 'error', code: 'run-as-user-missing', key, message: `the gateway's worker would run as user ${name}, which does not exist` };
  if (a.uid === 0) return { severity: 'error', code: 'run-as-root', key, message: `user ${name} is root: the worker must run unprivileged` };
  return a;
}

function isDiagnostic(x: DoctorDiagnostic | Account): x is DoctorDiagnostic {
  return 'severity' in x;
}

export async function runGatewayDoctor(input: GatewayDoctorInput): Promise<GatewayDoctorReport> {
  const { path } = input;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    const line = formatDiagnostic(path, { severity: 'error', code: 'unreadable', key: '(file)', message: `cannot read: ${(err as Error).message}` });
    return { valid: false, lines: [line], summary: sanitizeText(`${path}: configuration is invalid: cannot read it`) };
  }
  const loaded = parseGatewayConfig(text, path);
  if (!loaded.ok) {
    return { valid: false, lines: loaded.errors, summary: summaryLine(path, loaded.diagnostics, undefined) };
  }
  const c = loaded.config;
  const lines = locateTomlKeys(text);
  const located = (d: Diagnostic): Diagnostic => {
    if (d.line !== undefined) return d;
    const line = lines.lineOf(d.key.split('.'));
    return line !== undefined ? { ...d, line } : d;
  };
  const found: Diagnostic[] = [...loaded.warnings];
  found.push(...checkModePrerequisites(c, input.prerequisites).map(({ severity, code, key, message }) => ({ severity, code, key, message })));
  const who = runAsAccount(c, input.probes);
  if (isDiagnostic(who)) found.push(who);
  else if (c.audit !== undefined) {
    // Started as root, the privileged monitor creates the file and hands it to the worker (privileged-monitor.ts #prepareAudit).
    found.push(...checkAuditFile(c.audit.file, who, input.probes, { preparedByRoot: input.probes.self().uid === 0 }));
  }
  found.push(...(await checkDirectoryHosts(c, input.probes)));
  const all = found.map(located);
  return { valid: !all.some((d) => d.severity === 'error'), lines: all.map((d) => formatDiagnostic(path, d)), summary: summaryLine(path, all, c.mode) };
}

function summaryLine(path: string, all: readonly Diagnostic[], mode: string | undefined): string {
  const errors = all.filter((d) => d.severity === 'error').length;
  const warnings = all.length - errors;
  const w = warnings === 1 ? '1 warning' : `${warnings} warnings`;
  if (errors > 0) return sanitizeText(`${path}: configuration is invalid: ${errors === 1 ? '1 error' : `${errors} errors`}, ${w}`);
  return sanitizeText(`${path}: configuration is valid (mode ${mode ?? '?'}${warnings > 0 ? `, ${w}` : ''})`);
}
