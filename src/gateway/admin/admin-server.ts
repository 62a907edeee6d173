/**
 * The gateway's admin HTTP listener (issue 4): GET /metrics (Prometheus text), GET /status (the
 * GatewayStatus JSON), GET /healthz. Loopback by default; read-only; small bounded responses.
 * Hardened against a local stranger (issue 18): per-client connection shares, a real header
 * deadline and idle timeout, and a Host-header check against DNS rebinding.
 */
import http from 'node:http';
import { once } from 'node:events';
import type net from 'node:net';
import type { Registry } from 'prom-client';
import { ClientShares } from './client-shares.js';
import { allowedHosts, isAllowedHost } from './host-check.js';
import { parseHostPort } from './listen-address.js';

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

export interface AdminServerOptions {
  /** `host:port`, e.g. 127.0.0.1:9518. */
  listen: string;
  /** Current GatewayStatus (serialised as JSON). */
  status: () => unknown;
  registry: Registry;
  /**
   * Host names (or addresses) besides the listen address under which the listener may be reached
   * (`[admin] hosts`); `localhost` is implied for a loopback listener. Any other Host → 421.
   */
  hosts?: readonly string[];
  /** Overrides of ADMIN_REQUEST_TIMEOUT_MS / ADMIN_IDLE_TIMEOUT_MS (tests). */
  timeouts?: { readonly requestMs?: number; readonly idleMs?: number };
}

export interface AdminServer {
  close(): Promise<void>;
  address: { address: string; port: number };
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const { host, port } = parseHostPort(opts.listen);
  let allowed = allowedHosts(host, port, opts.hosts);
  const shares = new ClientShares(ADMIN_MAX_CONNECTIONS_PER_CLIENT, ADMIN_MAX_CONNECTIONS);
  const requestMs = opts.timeouts?.requestMs ?? ADMIN_REQUEST_TIMEOUT_MS;
  const idleMs = opts.timeouts?.idleMs ?? ADMIN_IDLE_TIMEOUT_MS;
  const deadlines = new WeakMap<net.Socket, NodeJS.Timeout>();
  const armDeadline = (socket: net.Socket): void => {
    clearTimeout(deadlines.get(socket));
    deadlines.set(socket, setTimeout(() => socket.destroy(), requestMs).unref());
  };
  const server = http.createServer({ keepAliveTimeout: idleMs }, (req, res) => {
    clearTimeout(deadlines.get(req.socket));
    res.on('finish', () => {
      if (!req.socket.destroyed) armDeadline(req.socket);
    });
    if (!isAllowedHost(req.headers.host, allowed)) {
      send(res, 421, 'text/plain; charset=utf-8', 'misdirected request: unknown Host\n', { connection: 'close' });
      return;
    }
    void handle(opts, req, res);
  });
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
    armDeadline(socket);
  });
  server.headersTimeout = requestMs;
  server.requestTimeout = requestMs;
  server.listen(port, host);
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('Admin server has no TCP address');
  if (port === 0) allowed = allowedHosts(host, addr.port, opts.hosts);
  return {
    address: { address: addr.address, port: addr.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(opts: AdminServerOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    switch (path) {
      case '/metrics':
        return send(res, 200, opts.registry.contentType, await opts.registry.metrics());
      case '/status':
        return send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(opts.status())}\n`);
      case '/healthz':
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  } catch (err: unknown) {
    send(res, 500, 'text/plain; charset=utf-8', `internal error: ${err instanceof Error ? err.name : 'unknown'}\n`);
  }
}

function send(res: http.ServerResponse, code: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
