/**
 * Adapter: the privileged process's HA control socket (a unix socket, mode 0600, in a directory of
 * mode 0700 that it creates; root only: not the worker, not the admin listener). One request line
 * per connection, bounded in size, time and number of connections.
 */
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { HA_CONTROL_MAX_LINE, HA_CONTROL_TIMEOUT_MS, haControlRequestSchema, type HaControlReply, type HaControlRequest } from './ha-control-messages.js';

/** Control connections served at once (keepalived runs one notify at a time; a few spare). */
const MAX_CONNECTIONS = 4;

export class HaControlServer {
  readonly #server: Server;
  readonly #path: string;

  private constructor(path: string, handle: (r: HaControlRequest) => Promise<HaControlReply>) {
    this.#path = path;
    this.#server = createServer((sock) => serve(sock, handle));
    this.#server.maxConnections = MAX_CONNECTIONS;
  }

  /** Listens on `path`; a stale socket file there (a killed predecessor's) is replaced, anything else refused. */
  static async listen(path: string, handle: (r: HaControlRequest) => Promise<HaControlReply>): Promise<HaControlServer> {
    const dir = dirname(path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const d = lstatSync(dir);
    // Someone else able to replace the socket in its directory could stand in for the gateway.
    if (!d.isDirectory() || (d.mode & 0o022) !== 0 || (process.getuid !== undefined && d.uid !== process.getuid())) {
      throw new Error(`ha: ${dir} (the control socket's directory) must be a directory of this user, writable by no one else`);
    }
    try {
      if (lstatSync(path).isSocket()) rmSync(path);
      else throw new Error(`ha: ${path} exists and is not a socket`);
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const s = new HaControlServer(path, handle);
    // The socket is born 0600 (the umask covers the bind), not made so afterwards.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        s.#server.once('error', reject);
        s.#server.listen(path, () => {
          s.#server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(path, 0o600);
    return s;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.#server.close(() => r()));
    rmSync(this.#path, { force: true });
  }
}

function serve(sock: Socket, handle: (r: HaControlRequest) => Promise<HaControlReply>): void {
  let buf = '';
  let done = false;
  const reply = (r: HaControlReply): void => {
    done = true;
    sock.end(`${JSON.stringify(r)}\n`);
  };
  sock.setEncoding('utf8');
  sock.setTimeout(HA_CONTROL_TIMEOUT_MS, () => sock.destroy());
  sock.on('error', () => undefined);
  sock.on('data', (chunk: string) => {
    if (done) return;
    buf += chunk;
    const nl = buf.indexOf('\n');
    if (nl < 0) {
      if (buf.length > HA_CONTROL_MAX_LINE) reply({ ok: false, error: 'request too long' });
      return;
    }
    let parsed: ReturnType<typeof haControlRequestSchema.safeParse>;
    try {
      parsed = haControlRequestSchema.safeParse(JSON.parse(buf.slice(0, nl)));
    } catch {
      reply({ ok: false, error: 'not JSON' });
      return;
    }
    if (!parsed.success) {
      reply({ ok: false, error: 'malformed request' });
      return;
    }
    done = true;
    handle(parsed.data).then(reply, (err: unknown) => reply({ ok: false, error: (err as Error).message.slice(0, 200) }));
  });
}
