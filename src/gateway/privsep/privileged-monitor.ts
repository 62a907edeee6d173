/**
 * The gateway's privileged process (privilege separation in every mode, as OpenBSD ftp-proxy does
 * it). It keeps only what needs privileges: the mode's firewall state (the interception table and
 * policy routing, the local holes' table and conntrack) and the right to open privileged sockets.
 * For each worker it opens the sockets peers talk to (the control faces on 517/518, the client
 * sockets, the admin listener, the tproxy socket), starts the worker with them as inherited fds,
 * and closes its own copies: it holds no socket a peer's packets reach and no listening socket.
 * The worker drops to the configured unprivileged user (no capabilities, an empty working
 * directory) before it reads a byte, and asks for firewall changes through {@link PrivilegedService}.
 *
 * A worker that dies leaves nothing open: its calls' holes and flows are removed at once, and a
 * new worker is started (bounded restarts with back-off). SIGHUP re-reads the configuration here
 * (a root-owned 0600 file works), hands it to the worker, and has the audit log reopened.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfig } from '../../config/gateway-config.js';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import { installIntercept, removeIntercept } from '../../firewall/intercept/intercept-installer.js';
import { bindUdpSocketFd, closeFd, listenTcpSocketFd } from '../../native/fd-datagram-endpoint.js';
import { openTransparentUdpFd, sendFrom } from '../../native/transparent/index.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../shared/clock.js';
import { sanitizeText } from '../../shared/sanitize.js';
import { interceptionSpec } from '../io/transparent-ingress.js';
import type { FaceKey, InheritedSockets } from '../io/gateway-runtime.js';
import { modeWiring } from '../modes/gateway-modes.js';
import { createPinholeDataPath } from '../pinhole/pinhole-from-config.js';
import type { PinholeDataPath } from '../pinhole/pinhole-data-path.js';
import { PrivilegedService } from './privileged-service.js';
import type { FromWorker, ToWorker } from './privsep-messages.js';

/** Restarts of a dying worker allowed within RESTART_WINDOW_MS before the gateway gives up. */
export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 60_000;
/** First restart delay, doubled per restart in the window (a crash loop cannot spin). */
export const RESTART_BACKOFF_MS = 100;
/** How long a worker may take from spawn to ready. */
export const WORKER_START_TIMEOUT_MS = 20_000;
/** How long a stopping worker gets before SIGKILL. */
export const WORKER_STOP_TIMEOUT_MS = 5_000;
/** Default worker user (Debian's nobody) when [privileges] is absent. */
export const DEFAULT_WORKER_USER = 'nobody';

const SIDES = ['inside', 'outside'] as const;
const PROTOCOLS = ['ntalk', 'otalk'] as const;
/** The child's fds 0-2 are stdio and 3 the IPC channel: inherited sockets start at 4. */
const FIRST_CHILD_FD = 4;

export interface MonitorOptions {
  readonly configPath: string;
  readonly configText: string;
  readonly config: GatewayConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly logLevel: string;
  readonly logFormat: string;
  /** The worker's entry module (dist/src/cli/gateway-worker.js). */
  readonly workerEntry: string;
}

/** uid/gid of a user (and its primary group, or `group`) through NSS (`getent`). */
export function lookupUser(user: string, group?: string): { uid: number; gid: number } {
  const entry = (db: string, key: string): string[] => {
    const r = spawnSyncText('getent', [db, key]);
    if (r === undefined) throw new Error(`no ${db} entry ${JSON.stringify(key)}`);
    return r.split(':');
  };
  const pw = entry('passwd', user);
  const uid = Number(pw[2]);
  let gid = Number(pw[3]);
  if (group !== undefined) gid = Number(entry('group', group)[2]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`bad passwd/group entry for ${user}`);
  if (uid === 0) throw new Error(`[privileges] user ${user} is root: the worker must run unprivileged`);
  return { uid, gid };
}

function spawnSyncText(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export class PrivilegedMonitor {
  readonly #o: MonitorOptions;
  readonly #log: Logger;
  #config: GatewayConfig;
  #configText: string;
  readonly #holes: PinholeDataPath | undefined;
  readonly #service: PrivilegedService;
  readonly #user: { name: string; group?: string; uid: number; gid: number };
  readonly #workdir: string;
  #worker: ChildProcess | undefined;
  #restarts: number[] = [];
  #stopping = false;
  #intercept = false;
  #exit: ((code: number) => void) | undefined;
  readonly exited: Promise<number>;
  #faces: Record<string, string> = {};

  private constructor(o: MonitorOptions) {
    this.#o = o;
    this.#log = o.logger;
    this.#config = o.config;
    this.#configText = o.configText;
    this.exited = new Promise((r) => (this.#exit = r));
    const c = o.config;
    const name = c.privileges?.user ?? DEFAULT_WORKER_USER;
    this.#user = { name, ...(c.privileges?.group !== undefined ? { group: c.privileges.group } : {}), ...lookupUser(name, c.privileges?.group) };
    if (c.mode === 'pinhole' && modeWiring(c).localFirewall(c)) {
      this.#holes = createPinholeDataPath({
        config: c,
        clock: o.clock,
        logger: o.logger,
        events: {
          onConnected: (callId, info) => this.#toWorker({ t: 'event', kind: 'connected', callId, info }),
          onEnded: (callId, info) => {
            this.#service.ended(callId);
            this.#toWorker({ t: 'event', kind: 'ended', callId, info });
          },
        },
      });
    }
    this.#service = new PrivilegedService({
      config: c,
      ...(this.#holes !== undefined ? { holes: this.#holes } : {}),
      ...(modeWiring(c).interception(c) !== undefined ? { sendFrom } : {}),
      log: o.logger,
    });
    // An empty directory the worker runs in (it needs no file but its audit log).
    this.#workdir = mkdtempSync(join(tmpdir(), 'talkgate-worker-'));
    chmodSync(this.#workdir, 0o555);
  }

  /** Sets up the firewall side, then starts the first worker; resolves once it serves. */
  static async start(o: MonitorOptions): Promise<PrivilegedMonitor> {
    const m = new PrivilegedMonitor(o);
    try {
      await m.#holes?.start();
      const plan = modeWiring(o.config).interception(o.config);
      if (plan !== undefined) {
        await installIntercept(interceptionSpec(o.config, plan));
        m.#intercept = true;
      }
      await m.#spawn();
    } catch (err: unknown) {
      await m.stop();
      throw err;
    }
    return m;
  }

  get workerPid(): number | undefined {
    return this.#worker?.pid;
  }

  faces(): Record<string, string> {
    return this.#faces;
  }

  /** SIGHUP: re-read the configuration (as root), hand it to the worker, reopen the logs. */
  reload(): void {
    let text: string;
    try {
      text = readFileSync(this.#o.configPath, 'utf8');
    } catch (err: unknown) {
      this.#log.warn({ err: sanitizeText(String(err)) }, 'reload rejected: cannot read the configuration');
      return;
    }
    const next = parseGatewayConfig(text, this.#o.configPath);
    if (!next.ok) {
      this.#log.warn({ errors: next.errors.map((e) => sanitizeText(e)) }, 'reload rejected: configuration invalid, keeping the running one');
      return;
    }
    this.#config = next.config;
    this.#configText = text;
    this.#service.setConfig(next.config);
    this.#prepareAudit();
    this.#toWorker({ t: 'reload', configText: text });
  }

  async stop(exitCode = 0): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const w = this.#worker;
    if (w !== undefined && w.exitCode === null && w.signalCode === null) {
      const gone = new Promise<void>((r) => w.once('exit', () => r()));
      this.#toWorker({ t: 'stop' });
      const t = setTimeout(() => w.kill('SIGKILL'), WORKER_STOP_TIMEOUT_MS);
      await gone;
      clearTimeout(t);
    }
    this.#service.flush();
    await this.#holes?.stop();
    if (this.#intercept) {
      const plan = modeWiring(this.#config).interception(this.#config);
      if (plan !== undefined) {
        const report = await removeIntercept(interceptionSpec(this.#config, plan));
        this.#log[report.table.ok ? 'info' : 'error']({ report }, 'interception removed');
      }
    }
    rmSync(this.#workdir, { recursive: true, force: true });
    this.#exit?.(exitCode);
  }

  /** The audit file exists and belongs to the worker user, so the worker can (re)open it after its drop. */
  #prepareAudit(): void {
    const file = this.#config.audit?.file;
    if (file === undefined) return;
    try {
      const fd = openSync(file, 'a', 0o640);
      closeSync(fd);
      chownSync(file, this.#user.uid, this.#user.gid);
    } catch (err: unknown) {
      this.#log.warn({ file, err: sanitizeText(String(err)) }, 'audit file: cannot create it for the worker');
    }
  }

  /** Opens the sockets the worker serves on; returns the fds to hand over and their child numbers. */
  #openSockets(): { fds: number[]; sockets: InheritedSockets } {
    const c = this.#config;
    const fds: number[] = [];
    const put = (fd: number): number => {
      fds.push(fd);
      return FIRST_CHILD_FD + fds.length - 1;
    };
    try {
      const faces = {} as Record<FaceKey, number>;
      const clients = {} as Record<FaceKey, number>;
      for (const side of SIDES) {
        const address = c[side].address;
        for (const protocol of PROTOCOLS) {
          faces[`${side}/${protocol}`] = put(bindUdpSocketFd(address, c.ports[protocol]));
          clients[`${side}/${protocol}`] = put(bindUdpSocketFd(address, 0));
        }
      }
      const plan = modeWiring(c).interception(c);
      const sockets: InheritedSockets = {
        faces,
        clients,
        ...(c.admin !== undefined ? { admin: put(listenTcpSocketFd(c.admin.host, c.admin.port)) } : {}),
        ...(plan !== undefined ? { intercept: put(openTransparentUdpFd(plan.port)) } : {}),
      };
      return { fds, sockets };
    } catch (err: unknown) {
      for (const fd of fds) closeFd(fd);
      throw err;
    }
  }

  async #spawn(): Promise<void> {
    this.#prepareAudit();
    const { fds, sockets } = this.#openSockets();
    const o = this.#o;
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...process.execArgv, o.workerEntry], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...fds],
        cwd: this.#workdir,
        env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', TZ: process.env['TZ'] ?? '', NODE_ENV: process.env['NODE_ENV'] ?? '' },
      });
    } finally {
      // The worker has its copies now (or none, if spawn failed): this process keeps no peer-facing socket.
      for (const fd of fds) closeFd(fd);
    }
    this.#worker = child;
    child.on('message', (m: FromWorker) => void this.#onWorkerMessage(child, m));
    child.on('exit', (code, signal) => this.#onWorkerExit(child, code, signal));
    const ready = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('gateway worker did not start in time')), WORKER_START_TIMEOUT_MS);
      child.once('message', function first(m: FromWorker) {
        clearTimeout(t);
        if (m.t === 'ready') resolve();
        else if (m.t === 'fatal') reject(new Error(`gateway worker: ${m.message}`));
        else child.once('message', first);
      });
      child.once('exit', () => {
        clearTimeout(t);
        reject(new Error('gateway worker exited while starting'));
      });
    });
    this.#toWorker({
      t: 'init',
      configPath: o.configPath,
      configText: this.#configText,
      logLevel: o.logLevel,
      logFormat: o.logFormat,
      sockets,
      holes: this.#holes !== undefined,
      user: this.#user.name,
      ...(this.#user.group !== undefined ? { group: this.#user.group } : {}),
      workdir: this.#workdir,
    });
    await ready;
    this.#log.info({ worker: child.pid, user: this.#user.name }, 'gateway worker serving');
  }

  async #onWorkerMessage(child: ChildProcess, m: FromWorker): Promise<void> {
    if (child !== this.#worker) return;
    if (m.t === 'ready') {
      this.#faces = m.faces;
      return;
    }
    if (m.t !== 'req') return;
    const reply = await this.#service.handle(m.req);
    if (child === this.#worker && child.connected) child.send(reply);
  }

  #onWorkerExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.#worker) return;
    this.#worker = undefined;
    // Nothing of a dead worker stays open: its holes and flows go at once.
    const ended = this.#service.flush();
    if (this.#stopping) return;
    this.#log.error({ worker: child.pid, code, signal, callsEnded: ended.length }, 'gateway worker died; its holes were removed');
    const now = this.#o.clock.now();
    this.#restarts = this.#restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.#restarts.length >= MAX_RESTARTS) {
      this.#log.error({ restarts: this.#restarts.length, windowMs: RESTART_WINDOW_MS }, 'gateway worker keeps dying: giving up');
      void this.stop(1);
      return;
    }
    const delay = RESTART_BACKOFF_MS * 2 ** this.#restarts.length;
    this.#restarts.push(now);
    setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn().catch((err: unknown) => {
        this.#log.error({ err: sanitizeText(String(err)) }, 'gateway worker restart failed');
        void this.stop(1);
      });
    }, delay);
  }

  #toWorker(m: ToWorker): void {
    const w = this.#worker;
    if (w?.connected === true) w.send(m);
  }
}
