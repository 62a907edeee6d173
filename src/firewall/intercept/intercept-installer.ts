/**
 * Adapter: installs and removes transparent mode's interception (the nftables table of
 * intercept-ruleset.ts via the shared `nft -j` runner, and the policy routing via `ip`).
 *
 * Install order: routing first (harmless alone: only packets carrying MARK use the table), then the
 * nft table in one transaction that replaces any table a previous (kill -9'd) process left.
 * Remove order: nft table first (stops interception), then the ip rule and the route.
 * Both are idempotent; removal reports what failed instead of throwing, so a stopping gateway
 * always tries every step.
 */
import { execFile } from 'node:child_process';
import { TalkError } from '../../shared/talk-error.js';
import { NftRunner } from '../nft-runner.js';
import { renderInstallIntercept, renderPolicyRouting, renderRemoveIntercept, type InterceptSpec } from './intercept-ruleset.js';

/** Bound on one `ip` invocation. */
export const IP_TIMEOUT_MS = 5_000;
/** Bound on deleting duplicate copies of our ip rule (left by crashed processes or by hand). */
export const MAX_RULE_COPIES = 16;

export interface InterceptInstallerOptions {
  /** Program and leading args for nft, e.g. ['nft'] (default) or ['ip', 'netns', 'exec', 'x', 'nft']. */
  readonly nftCommand?: readonly string[];
  /** Program and leading args for ip, e.g. ['ip'] (default). */
  readonly ipCommand?: readonly string[];
}

export interface CommandOutcome {
  readonly ok: boolean;
  readonly message: string;
}

function runIp(command: readonly string[], args: readonly string[]): Promise<CommandOutcome> {
  const [file, ...lead] = command;
  return new Promise((resolve) => {
    execFile(file ?? 'ip', [...lead, ...args], { timeout: IP_TIMEOUT_MS, encoding: 'utf8' }, (err, _stdout, stderr) => {
      resolve({ ok: err === null, message: err === null ? '' : (String(stderr).trim() || err.message).slice(0, 1000) });
    });
  });
}

async function deleteRuleCopies(ip: readonly string[], argv: readonly string[]): Promise<number> {
  let deleted = 0;
  while (deleted < MAX_RULE_COPIES && (await runIp(ip, argv)).ok) deleted++;
  return deleted;
}

/** Installs (or replaces) the interception. Throws TalkError('INTERCEPT_INSTALL') on failure. */
export async function installIntercept(spec: InterceptSpec, options: InterceptInstallerOptions = {}): Promise<void> {
  const ip = options.ipCommand ?? ['ip'];
  const pr = renderPolicyRouting(spec);
  const route = await runIp(ip, pr.addRoute);
  if (!route.ok) throw new TalkError('INTERCEPT_INSTALL', `cannot add the tproxy route (ip ${pr.addRoute.join(' ')}): ${route.message}`);
  await deleteRuleCopies(ip, pr.deleteRule);
  const rule = await runIp(ip, pr.addRule);
  if (!rule.ok) throw new TalkError('INTERCEPT_INSTALL', `cannot add the tproxy rule (ip ${pr.addRule.join(' ')}): ${rule.message}`);
  const nft = new NftRunner(options.nftCommand !== undefined ? { command: options.nftCommand } : {});
  const r = await nft.apply(renderInstallIntercept(spec));
  if (!r.ok) throw new TalkError('INTERCEPT_INSTALL', `cannot install nft table ${spec.family} ${spec.table} (${r.failure}): ${r.message}`);
}

export interface RemoveReport {
  readonly table: CommandOutcome;
  /** Copies of our ip rule deleted (0 when none was there). */
  readonly rulesDeleted: number;
  /** Whether `ip route del` succeeded (false also when the route was already absent). */
  readonly routeDeleted: boolean;
}

/** Removes the interception; never throws (every step is tried, outcomes returned). */
export async function removeIntercept(spec: InterceptSpec, options: InterceptInstallerOptions = {}): Promise<RemoveReport> {
  const ip = options.ipCommand ?? ['ip'];
  const nft = new NftRunner(options.nftCommand !== undefined ? { command: options.nftCommand } : {});
  const r = await nft.apply(renderRemoveIntercept(spec));
  const table: CommandOutcome = r.ok ? { ok: true, message: '' } : { ok: false, message: `${r.failure}: ${r.message}` };
  const pr = renderPolicyRouting(spec);
  const rulesDeleted = await deleteRuleCopies(ip, pr.deleteRule);
  const routeDeleted = (await runIp(ip, pr.deleteRoute)).ok;
  return { table, rulesDeleted, routeDeleted };
}
