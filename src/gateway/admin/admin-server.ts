/**
 * The gateway's admin HTTP listener (issue 4): GET /metrics (Prometheus text), GET /status (the
 * GatewayStatus JSON), GET /healthz. Loopback by default; read-only; small bounded responses.
 * Hardened against a local stranger (issue 18): per-client connection shares, a real header
 * deadline and idle timeout, and a Host-header check against DNS rebinding.
 */
import http from 'node:http';
import https from 'node:https';
import { once } from 'node:events';
import type net from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import { ClientShares } from './client-shares.js';
import { ACTION_REFUSAL_MESSAGES, ACTION_REFUSAL_STATUS, refuseAction } from './admin-auth.js';
import { allowedHosts, isAllowedHost, type AllowedHosts } from './host-check.js';
import { ADMIN_PAGE_CSP, ADMIN_PAGE_CSS, ADMIN_PAGE_HTML, ADMIN_PAGE_JS } from './web/admin-page.js';
import { parseHostPort } from './listen-address.js';
import { HISTORY_INTERVAL_MS, StatusHistory } from './status-history.js';
import { TalkError } from '../../shared/talk-error.js';

/**
 * A connection must deliver complete request headers this long after it opens (or after its last
 * answer, when kept alive); else it is destroyed. Enforced by our own per-socket timer: Node checks
 * `headersTimeout` only every `connectionsCheckingInterval` (30 s by default) and never for a
 * connection that sent no byte, which is how a slow-header connection lived 28 s (issue 18).
 */
export const ADMIN_REQUEST_TIMEOUT_MS = 5_000;
/** A connection with no traffic in either direction this long is destroyed (socket idle timeout). */
export const ADMIN_IDLE_TIMEOUT_MS = 5_000;
/** Concurrent admin connections accepted in all. */
export const ADMIN_MAX_CONNECTIONS = 64;
/** Concurrent admin connections from one remote address (a fair share: 8 clients fill the table). */
export const ADMIN_MAX_CONNECTIONS_PER_CLIENT = 8;

/** Largest request body read (an end-call request is `{"callId":"c-000042"}`). */
export const ADMIN_MAX_BODY_BYTES = 1_024;

/** Outcome of an end-call action (typed code; the human message is beside it in the answer). */
export type EndCallResult = { readonly code: 'ended' } | { readonly code: 'unknown-call' } | { readonly code: 'failed'; readonly message: string };

export interface AdminActions {
  /** Ends a live call (relay or data path closed, audit record `ended` with `endedBy: actor`). */
  endCall(callId: string, actor: string): Promise<EndCallResult>;
}

export interface AdminServerOptions {
  /** `host:port`, e.g. 127.0.0.1:9518. */
  listen: string;
  /** An inherited listening socket (opened by the privileged process) to serve on instead. */
  fd?: number;
  /** Current GatewayStatus (serialised as JSON). */
  status: () => unknown;
  registry: Registry;
  /**
   * Host names (or addresses) besides the listen address under which the listener may be reached
   * (`[admin] hosts`); `localhost` is implied for a loopback listener. Any other Host → 421.
   */
  hosts?: readonly string[];
  /** Bearer token for actions; without it the listener is read-only (issue 16). */
  token?: string;
  /** PEM certificate and key: the listener speaks HTTPS. */
  tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** State-changing hooks; without them actions answer 501. */
  actions?: AdminActions;
  /** Overrides of ADMIN_REQUEST_TIMEOUT_MS / ADMIN_IDLE_TIMEOUT_MS / HISTORY_INTERVAL_MS (tests). */
  timeouts?: { readonly requestMs?: number; readonly idleMs?: number; readonly historyMs?: number };
}

export interface AdminServer {
  close(): Promise<void>;
  address: { address: string; port: number };
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const { host, port } = parseHostPort(opts.listen);
  const history = new StatusHistory();
  const sampler = setInterval(() => void sampleHistory(opts, history), opts.timeouts?.historyMs ?? HISTORY_INTERVAL_MS).unref();
  void sampleHistory(opts, history);
  let allowed = allowedHosts(host, port, opts.hosts);
  const shares = new ClientShares(ADMIN_MAX_CONNECTIONS_PER_CLIENT, ADMIN_MAX_CONNECTIONS);
  const requestMs = opts.timeouts?.requestMs ?? ADMIN_REQUEST_TIMEOUT_MS;
  const idleMs = opts.timeouts?.idleMs ?? ADMIN_IDLE_TIMEOUT_MS;
  const deadlines = new WeakMap<net.Socket, NodeJS.Timeout>();
  const armDeadline = (socket: net.Socket): void => {
    clearTimeout(deadlines.get(socket));
    deadlines.set(socket, setTimeout(() => socket.destroy(), requestMs).unref());
  };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    clearTimeout(deadlines.get(req.socket));
    res.on('finish', () => {
      if (!req.socket.destroyed) armDeadline(req.socket);
    });
    if (!isAllowedHost(req.headers.host, allowed)) {
      send(res, 421, 'text/plain; charset=utf-8', 'misdirected request: unknown Host\n', { connection: 'close' });
      return;
    }
    void handle(opts, allowed, history, req, res);
  };
  const server =
    opts.tls === undefined
      ? http.createServer({ keepAliveTimeout: idleMs }, onRequest)
      : https.createServer({ keepAliveTimeout: idleMs, handshakeTimeout: requestMs, cert: opts.tls.cert, key: opts.tls.key }, onRequest);
  server.on('connection', (socket: net.Socket) => {
    const client = socket.remoteAddress ?? '?';
    if (!shares.acquire(client)) {
      socket.destroy();
      return;
    }
    socket.once('close', () => {
      shares.release(client);
      clearTimeout(deadlines.get(socket));
    });
    socket.setTimeout(idleMs, () => socket.destroy());
    if (opts.tls === undefined) armDeadline(socket);
  });
  // Over TLS the request's socket is the TLS socket: its header deadline starts after the handshake,
  // which itself must finish within the same bound (handshakeTimeout).
  server.on('secureConnection', (socket: net.Socket) => {
    socket.once('close', () => clearTimeout(deadlines.get(socket)));
    armDeadline(socket);
  });
  server.headersTimeout = requestMs;
  server.requestTimeout = requestMs;
  if (opts.fd !== undefined) server.listen({ fd: opts.fd });
  else server.listen(port, host);
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new TalkError('ADMIN_LISTEN', 'Admin server has no TCP address');
  if (port === 0) allowed = allowedHosts(host, addr.port, opts.hosts);
  return {
    address: { address: addr.address, port: addr.port },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sampler);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Reads a bounded body; undefined when it is larger than ADMIN_MAX_BODY_BYTES. */
async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > ADMIN_MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const JSON_TYPE = 'application/json; charset=utf-8';

async function endCall(opts: AdminServerOptions, allowed: AllowedHosts, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const refusal = refuseAction({ authorization: req.headers.authorization, origin: req.headers.origin, contentType: req.headers['content-type'] }, opts.token, allowed);
  if (refusal !== undefined) {
    const extra: Record<string, string> = refusal === 'missing-token' || refusal === 'bad-token' ? { 'www-authenticate': 'Bearer realm="talkgate admin"' } : {};
    return send(res, ACTION_REFUSAL_STATUS[refusal], JSON_TYPE, `${JSON.stringify({ code: refusal, message: ACTION_REFUSAL_MESSAGES[refusal] })}\n`, { ...extra, connection: 'close' });
  }
  if (opts.actions === undefined) return send(res, 501, JSON_TYPE, '{"code":"not-supported","message":"this listener has no actions"}\n');
  const body = await readBody(req);
  let callId: unknown;
  try {
    callId = body === undefined ? undefined : (JSON.parse(body) as { callId?: unknown }).callId;
  } catch {
    callId = undefined;
  }
  if (typeof callId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(callId)) {
    return send(res, 400, JSON_TYPE, '{"code":"bad-request","message":"expected {\\"callId\\": \\"c-000042\\"}"}\n');
  }
  const actor = `admin-token@${req.socket.remoteAddress ?? '?'}`;
  const r = await opts.actions.endCall(callId, actor);
  const status = r.code === 'ended' ? 200 : r.code === 'unknown-call' ? 404 : 500;
  return send(res, status, JSON_TYPE, `${JSON.stringify({ ...r, callId, endedBy: actor })}\n`);
}

/**
 * uPlot (MIT, https://github.com/leeoniya/uPlot), served from the installed package: the page never
 * loads anything from elsewhere. Read once, when first asked for.
 */
let uplotAssets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  if (uplotAssets === undefined) {
    const require = createRequire(import.meta.url);
    uplotAssets = {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  }
  return uplotAssets;
}

async function sampleHistory(opts: AdminServerOptions, history: StatusHistory): Promise<void> {
  try {
    const st = opts.status() as { calls?: unknown; counters?: Record<string, unknown> } | null;
    const refused = st?.counters?.['calls_refused'];
    const bytes = (await opts.registry.getSingleMetric('talkgate_relay_bytes_total')?.get())?.values ?? [];
    const dir = (d: string): number => bytes.filter((v) => v.labels['direction'] === d).reduce((a, v) => a + v.value, 0);
    history.record({
      t: Date.now(),
      liveCalls: Array.isArray(st?.calls) ? st.calls.length : 0,
      refusedTotal: typeof refused === 'number' ? refused : 0,
      bytesInTotal: dir('in'),
      bytesOutTotal: dir('out'),
    });
  } catch {
    // A failing status provider shows as a gap in the charts; /api/status reports the error.
  }
}

async function handle(opts: AdminServerOptions, allowed: AllowedHosts, history: StatusHistory, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  try {
    if (req.method === 'POST' && path === '/api/calls/end') return await endCall(opts, allowed, req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    switch (path) {
      case '/metrics':
        return send(res, 200, opts.registry.contentType, await opts.registry.metrics());
      case '/status':
      case '/api/status':
        return send(res, 200, JSON_TYPE, `${JSON.stringify(opts.status())}\n`);
      case '/api/info':
        return send(res, 200, JSON_TYPE, `${JSON.stringify({ endCall: opts.token !== undefined && opts.actions !== undefined, tls: opts.tls !== undefined })}\n`);
      case '/':
        return send(res, 200, 'text/html; charset=utf-8', ADMIN_PAGE_HTML, PAGE_HEADERS);
      case '/admin.js':
        return send(res, 200, 'text/javascript; charset=utf-8', ADMIN_PAGE_JS, PAGE_HEADERS);
      case '/api/history':
        return send(res, 200, JSON_TYPE, `${JSON.stringify(history.series())}\n`);
      case '/uplot.js':
        return send(res, 200, 'text/javascript; charset=utf-8', uplot().js, PAGE_HEADERS);
      case '/uplot.css':
        return send(res, 200, 'text/css; charset=utf-8', uplot().css, PAGE_HEADERS);
      case '/favicon.ico':
        res.writeHead(204, { 'cache-control': 'max-age=86400' });
        return void res.end();
      case '/admin.css':
        return send(res, 200, 'text/css; charset=utf-8', ADMIN_PAGE_CSS, PAGE_HEADERS);
      case '/healthz':
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  } catch (err: unknown) {
    send(res, 500, 'text/plain; charset=utf-8', `internal error: ${err instanceof Error ? err.name : 'unknown'}\n`);
  }
}

/** Security headers of the page and its assets (CSP: no inline script, same origin only). */
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': ADMIN_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function send(res: http.ServerResponse, code: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
