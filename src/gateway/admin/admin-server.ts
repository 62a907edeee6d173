/**
 * The gateway's admin HTTP listener (issue 4): GET /metrics (Prometheus text), GET /status (the
 * GatewayStatus JSON), GET /healthz. Loopback by default; read-only; small bounded responses.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { Registry } from 'prom-client';
import { parseHostPort } from './listen-address.js';

/** Requests slower than this (headers) are dropped: the admin port must not hold sockets open. */
export const ADMIN_REQUEST_TIMEOUT_MS = 5_000;
/** Concurrent admin connections accepted. */
export const ADMIN_MAX_CONNECTIONS = 64;

export interface AdminServerOptions {
  /** `host:port`, e.g. 127.0.0.1:9518. */
  listen: string;
  /** An inherited listening socket (opened by the privileged process) to serve on instead. */
  fd?: number;
  /** Current GatewayStatus (serialised as JSON). */
  status: () => unknown;
  registry: Registry;
}

export interface AdminServer {
  close(): Promise<void>;
  address: { address: string; port: number };
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const { host, port } = parseHostPort(opts.listen);
  const server = http.createServer((req, res) => {
    void handle(opts, req, res);
  });
  server.maxConnections = ADMIN_MAX_CONNECTIONS;
  server.headersTimeout = ADMIN_REQUEST_TIMEOUT_MS;
  server.requestTimeout = ADMIN_REQUEST_TIMEOUT_MS;
  if (opts.fd !== undefined) server.listen({ fd: opts.fd });
  else server.listen(port, host);
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('Admin server has no TCP address');
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
