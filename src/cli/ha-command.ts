/**
 * `talkgate ha notify STATE [--config FILE]` and `talkgate ha status [--config FILE]`: one node of
 * an HA pair (docs/ha.md). keepalived's notify script runs `ha notify` (as root) on every state
 * change: for MASTER it commits conntrackd's replicated flows into the kernel first, then tells
 * the running gateway to serve, then resyncs conntrackd's caches; for BACKUP, FAULT and STOP it tells the gateway to stop
 * opening holes and remove those it holds, then lets conntrackd age the stale entries and resync.
 * The gateway is reached through the root-only unix socket `[ha] control_socket`.
 */
import { execFile } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { defaultGatewayConfigPath, loadGatewayConfigFile } from '../config/load-gateway-config.js';
import type { HaConfig } from '../config/gateway-config.js';
import { haControlRequest } from '../gateway/ha/ha-control-client.js';
import type { HaControlReply } from '../gateway/ha/ha-control-messages.js';
import { haNotifyPlan } from '../gateway/ha/ha-notify-plan.js';
import { HA_STATES, type HaState } from '../gateway/ha/ha-role.js';
import { sanitizeText } from '../shared/sanitize.js';

/**
 * Bound on one conntrackd step: a commit of a large external cache takes a while (conntrackd's
 * own CommitTimeout default is 180 s; this bounds the failover, not conntrackd's work).
 */
const CONNTRACKD_STEP_TIMEOUT_MS = 30_000;

function stateArgument(v: string): HaState {
  const s = v.toUpperCase();
  if (!(HA_STATES as readonly string[]).includes(s)) throw new InvalidArgumentError(`must be one of ${HA_STATES.join(', ')}`);
  return s as HaState;
}

export function command(): Command {
  const ha = new Command('ha').description('one node of an active/backup pair (keepalived + conntrackd)');
  ha.command('notify')
    .description("keepalived's notify hook: switch this node's gateway to STATE (MASTER, BACKUP, FAULT, STOP)")
    .argument('<state>', 'MASTER, BACKUP, FAULT or STOP', stateArgument)
    .option('-c, --config <file>', "the gateway's configuration (its [ha] section)")
    .option('--committed', 'MASTER: the notify hook has already run conntrackd -c (skip it here)')
    .action(async (state: HaState, opts: { config?: string; committed?: boolean }) => {
      process.exitCode = await runNotify(state, opts.config, opts.committed === true);
    });
  ha.command('status')
    .description("print this node's role as the running gateway sees it")
    .option('-c, --config <file>', "the gateway's configuration (its [ha] section)")
    .action(async (opts: { config?: string }) => {
      const cfg = haOf(opts.config);
      if (typeof cfg === 'string') return fail(cfg);
      const r = await haControlRequest(cfg.controlSocket, { op: 'status' });
      report('status', r);
      process.exitCode = r.ok ? 0 : 1;
    });
  return ha;
}

function fail(msg: string): void {
  process.stderr.write(`talkgate ha: ${sanitizeText(msg)}\n`);
  process.exitCode = 1;
}

function haOf(path: string | undefined): HaConfig | string {
  const loaded = loadGatewayConfigFile(path ?? defaultGatewayConfigPath());
  if (!loaded.ok) return loaded.errors.join('\n');
  if (loaded.config.ha === undefined) return 'the configuration has no [ha] section';
  return loaded.config.ha;
}

function report(what: string, r: HaControlReply): void {
  if (r.ok) process.stdout.write(`${JSON.stringify({ [what]: r.state, role: r.role, holes: r.holes, holesRemoved: r.holesRemoved })}\n`);
  else process.stderr.write(`talkgate ha: ${sanitizeText(r.error)}\n`);
}

/** Runs one conntrackd step; a failure is reported and the switch goes on (a node must still change role). */
function step(argv: readonly string[]): Promise<boolean> {
  const [program, ...args] = argv;
  return new Promise((resolve) => {
    const t0 = Date.now();
    execFile(program ?? '', args, { timeout: CONNTRACKD_STEP_TIMEOUT_MS }, (err, stdout, stderr) => {
      const took = Date.now() - t0;
      const out = sanitizeText(`${stdout}${stderr}`.trim()).slice(0, 300);
      if (err === null) process.stderr.write(`talkgate ha: ${args.join(' ')}: ok (${took} ms)${out !== '' ? `: ${out}` : ''}\n`);
      else process.stderr.write(`talkgate ha: ${args.join(' ')}: failed (${took} ms): ${sanitizeText(err.message).slice(0, 200)}\n`);
      resolve(err === null);
    });
  });
}

async function runNotify(state: HaState, path: string | undefined, committed: boolean): Promise<number> {
  const cfg = haOf(path);
  if (typeof cfg === 'string') {
    fail(cfg);
    return 1;
  }
  const plan = haNotifyPlan(state, cfg.conntrackd, committed);
  for (const s of plan.before) await step(s);
  const r = await haControlRequest(cfg.controlSocket, { op: 'notify', state });
  report('notify', r);
  for (const s of plan.after) await step(s);
  return r.ok ? 0 : 1;
}
