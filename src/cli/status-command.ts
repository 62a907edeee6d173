/**
 * `talkgate status [--admin HOST:PORT] [--json]`: fetches a running gateway's /status from its
 * admin listener and prints the live calls as a table (or the raw JSON).
 */
import { Command } from 'commander';
import { DEFAULT_ADMIN_LISTEN, parseHostPort } from '../gateway/admin/listen-address.js';
import { renderStatusTable, statusSchema } from '../gateway/admin/status-table.js';

/** How long to wait for the gateway's answer. */
export const STATUS_FETCH_TIMEOUT_MS = 3_000;

export function command(): Command {
  return new Command('status')
    .description('list the live calls of a running gateway (from its admin listener)')
    .option('--admin <host:port>', 'admin listener of the gateway', DEFAULT_ADMIN_LISTEN)
    .option('--json', 'print the status JSON as received')
    .action(async (opts: { admin: string; json?: boolean }) => {
      process.exitCode = await runStatus(opts, { out: process.stdout, err: process.stderr });
    });
}

export interface StatusIo {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
}

/** Fetches and prints; resolves to the exit code (0 ok, 1 gateway unreachable or bad answer, 2 usage). */
export async function runStatus(opts: { admin: string; json?: boolean }, io: StatusIo): Promise<number> {
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseHostPort(opts.admin));
  } catch (err: unknown) {
    io.err.write(`talkgate status: ${(err as Error).message}\n`);
    return 2;
  }
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/status`;
  let body: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(STATUS_FETCH_TIMEOUT_MS) });
    body = await res.text();
    if (!res.ok) {
      io.err.write(`talkgate status: ${url} answered HTTP ${res.status}\n`);
      return 1;
    }
  } catch (err: unknown) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    io.err.write(`talkgate status: cannot reach the gateway admin listener at ${opts.admin} (${cause}); is \`talkgate gateway\` running, and is [admin] listen the same?\n`);
    return 1;
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    io.err.write(`talkgate status: ${url} did not answer JSON\n`);
    return 1;
  }
  if (opts.json === true) {
    io.out.write(`${JSON.stringify(json, null, 2)}\n`);
    return 0;
  }
  const parsed = statusSchema.safeParse(json);
  if (!parsed.success) {
    io.err.write(`talkgate status: unexpected status format from ${url} (no "calls" list); try --json\n`);
    return 1;
  }
  io.out.write(renderStatusTable(parsed.data, Date.now()));
  return 0;
}
