/**
 * `talkgate status [--admin HOST:PORT] [--json]`: fetches a running gateway's /api/status (docs/admin-api.md) from its
 * admin listener and prints the live calls as a table (or the JSON, ASCII-escaped).
 *
 * The answer is not trusted (issue 18): its size is bounded while it is read, redirects are
 * refused, deep nesting and huge call lists are refused with a clear error before anything recurses
 * over them, and everything printed is sanitised in every output mode.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Command } from 'commander';
import { stringifyAsciiJson } from '../gateway/admin/ascii-json.js';
import { jsonNestingDepth } from '../gateway/admin/json-depth.js';
import { DEFAULT_ADMIN_LISTEN, parseHostPort } from '../gateway/admin/listen-address.js';
import { sanitizeText } from '../shared/sanitize.js';

/** How long to wait for the gateway's whole answer. */
export const STATUS_FETCH_TIMEOUT_MS = 3_000;
/**
 * Largest answer read (a 10,000-call status is about 3 MB); more → error, nothing parsed. Keeps the
 * command under 64 MB RSS against an endless body (issue 18): node + commander + http are ~47 MB.
 */
export const STATUS_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Deepest JSON nesting accepted; GatewayStatus itself is 4 deep. */
export const STATUS_MAX_JSON_DEPTH = 32;
/** Most calls shown (a bigger gateway is read through its web page / paged API instead). */
export const STATUS_MAX_CALLS = 10_000;

export function command(): Command {
  return new Command('status')
    .description('list the live calls of a running gateway (from its admin listener)')
    .option('--admin <host:port>', 'admin listener of the gateway', DEFAULT_ADMIN_LISTEN)
    .option('-c, --config <file>', "the gateway's configuration: its [admin] listen (and TLS certificate) instead of --admin")
    .option('--json', 'print the status JSON (non-ASCII and control chars as \\u escapes)')
    .action(async (opts: { admin: string; config?: string; json?: boolean }) => {
      const io = { out: process.stdout, err: process.stderr };
      if (opts.config === undefined) {
        process.exitCode = await runStatus(opts, io);
        return;
      }
      const target = await adminOfConfig(opts.config);
      if (typeof target === 'string') {
        io.err.write(`talkgate status: ${target}\n`);
        process.exitCode = 1;
        return;
      }
      process.exitCode = await runStatus({ ...opts, ...target }, io);
    });
}

/** The admin listener a gateway configuration names, or why there is none. */
export async function adminOfConfig(path: string): Promise<{ admin: string; ca?: Buffer } | string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    return `${sanitizeText(path)}: cannot read: ${sanitizeText((err as NodeJS.ErrnoException).code ?? String(err))}`;
  }
  // Loaded only here: the schema (zod) would cost every plain `status` ~14 MB (issue 18's RSS bound).
  const { parseGatewayConfig } = await import('../config/load-gateway-config.js');
  const parsed = parseGatewayConfig(text, path);
  if (!parsed.ok) return parsed.errors.map((e) => sanitizeText(e)).join('; ');
  const a = parsed.config.admin;
  if (a === undefined) return `${sanitizeText(path)}: [admin] listen = "off": the gateway has no admin listener`;
  let ca: Buffer | undefined;
  if (a.tls !== undefined) {
    try {
      ca = readFileSync(a.tls.certFile);
    } catch (err: unknown) {
      return `${sanitizeText(a.tls.certFile)}: cannot read the admin certificate: ${sanitizeText((err as NodeJS.ErrnoException).code ?? String(err))}`;
    }
  }
  return { admin: `${a.host}:${a.port}`, ...(ca !== undefined ? { ca } : {}) };
}

export interface StatusIo {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
}

/** Why an answer was not usable: typed code + human message. */
export type StatusFetchFailure =
  | { code: 'unreachable'; detail: string }
  | { code: 'timeout' }
  | { code: 'redirect'; status: number }
  | { code: 'http-status'; status: number }
  | { code: 'too-large'; limit: number };

type FetchResult = { ok: true; body: string } | { ok: false; failure: StatusFetchFailure };

/** Bounded GET: never follows redirects, stops reading at STATUS_MAX_BODY_BYTES. */
function getBounded(url: string, ca?: Buffer): Promise<FetchResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: FetchResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, failure: { code: 'timeout' } }), STATUS_FETCH_TIMEOUT_MS);
    // Over TLS the configured certificate is the only one trusted (it is the listener's own).
    const get = ca !== undefined ? (u: string, o: https.RequestOptions, cb: (res: http.IncomingMessage) => void) => https.get(u, { ...o, ca }, cb) : http.get;
    const req = get(url, { headers: { accept: 'application/json' }, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) return done({ ok: false, failure: { code: 'redirect', status } });
      if (status !== 200) return done({ ok: false, failure: { code: 'http-status', status } });
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > STATUS_MAX_BODY_BYTES) {
        return done({ ok: false, failure: { code: 'too-large', limit: STATUS_MAX_BODY_BYTES } });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > STATUS_MAX_BODY_BYTES) {
          chunks.length = 0;
          return done({ ok: false, failure: { code: 'too-large', limit: STATUS_MAX_BODY_BYTES } });
        }
        chunks.push(chunk);
      });
      res.on('end', () => done({ ok: true, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, failure: { code: 'unreachable', detail: err.code ?? err.name } }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, failure: { code: 'unreachable', detail: err.code ?? err.name } }));
  });
}

function failureMessage(f: StatusFetchFailure, admin: string, url: string): string {
  switch (f.code) {
    case 'unreachable':
      return `cannot reach the gateway admin listener at ${admin} (${sanitizeText(f.detail)}); is \`talkgate gateway\` running, and is [admin] listen the same?`;
    case 'timeout':
      return `${url} did not answer within ${STATUS_FETCH_TIMEOUT_MS} ms`;
    case 'redirect':
      return `${url} answered a redirect (HTTP ${f.status}); refusing to follow it`;
    case 'http-status':
      return `${url} answered HTTP ${f.status}`;
    case 'too-large':
      return `${url} sent more than ${f.limit} bytes; refusing the answer`;
  }
}

/** Fetches and prints; resolves to the exit code (0 ok, 1 gateway unreachable or bad answer, 2 usage). */
export async function runStatus(opts: { admin: string; json?: boolean; ca?: Buffer }, io: StatusIo): Promise<number> {
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseHostPort(opts.admin));
  } catch (err: unknown) {
    io.err.write(`talkgate status: ${sanitizeText((err as Error).message)}\n`);
    return 2;
  }
  const admin = sanitizeText(opts.admin);
  const url = sanitizeText(`${opts.ca !== undefined ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}/api/status`);
  const got = await getBounded(url, opts.ca);
  if (!got.ok) {
    io.err.write(`talkgate status: ${failureMessage(got.failure, admin, url)}\n`);
    return 1;
  }
  const depth = jsonNestingDepth(got.body, STATUS_MAX_JSON_DEPTH);
  if (depth > STATUS_MAX_JSON_DEPTH) {
    io.err.write(`talkgate status: ${url} answered JSON nested deeper than ${STATUS_MAX_JSON_DEPTH} levels; refusing it\n`);
    return 1;
  }
  let json: unknown;
  try {
    json = JSON.parse(got.body);
  } catch {
    io.err.write(`talkgate status: ${url} did not answer JSON\n`);
    return 1;
  }
  const calls = (json as { calls?: unknown } | null)?.calls;
  if (Array.isArray(calls) && calls.length > STATUS_MAX_CALLS) {
    io.err.write(`talkgate status: ${url} lists ${calls.length} calls, more than the ${STATUS_MAX_CALLS} this command shows; refusing it\n`);
    return 1;
  }
  if (opts.json === true) {
    io.out.write(`${stringifyAsciiJson(json)}\n`);
    return 0;
  }
  // Loaded only now: zod costs ~14 MB of RSS, which the bounded read above does without.
  const { renderStatusTable, statusSchema } = await import('../gateway/admin/status-table.js');
  const parsed = statusSchema.safeParse(json);
  if (!parsed.success) {
    io.err.write(`talkgate status: unexpected status format from ${url} (no "calls" list); try --json\n`);
    return 1;
  }
  io.out.write(renderStatusTable(parsed.data, Date.now()));
  return 0;
}
