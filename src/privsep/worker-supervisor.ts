/**
 * The privileged half of privilege separation, for any talkgate daemon (as OpenBSD ftp-proxy does
 * it): starts the unprivileged worker (this program's worker entry) with the sockets peers talk to
 * as inherited fds and an init message over the IPC channel, closes its own copies of those fds
 * at once, answers the worker's requests through a handler the daemon supplies (which validates
 * them), and when a worker dies lets the daemon clean up after it, then starts a new one: bounded
 * restarts with a doubling delay. It never reads a peer's byte itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../shared/clock.js';

/** Restarts of a dying worker allowed within RESTART_WINDOW_MS before the daemon gives up. */
export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 60_000;
/** First restart delay, doubled per restart in the window (a crash loop cannot spin). */
export const RESTART_BACKOFF_MS = 100;
/** How long a worker may take from spawn to ready. */
export const WORKER_START_TIMEOUT_MS = 20_000;
/** How long a stopping worker gets before SIGKILL. */
export const WORKER_STOP_TIMEOUT_MS = 5_000;
/** The child's fds 0-2 are stdio and 3 the IPC channel: inherited sockets start at 4. */
export const FIRST_CHILD_FD = 4;

/** worker → privileged: a request, readiness, or a fatal start-up error. */
export type FromWorker =
  | { readonly t: 'req'; readonly req: unknown }
  | { readonly t: 'ready'; readonly info?: Record<string, unknown> }
  | { readonly t: 'fatal'; readonly message: string };

/** A reply to one request (the worker matches it by id). */
export interface WorkerReply {
  readonly t: 'res';
  readonly id: number;
  readonly ok: boolean;
}

export interface SupervisorLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WorkerLaunch {
  /** fds to hand over (closed here once the worker has them); child fd numbers from FIRST_CHILD_FD. */
  readonly fds: readonly number[];
  /** The init message (its own shape per daemon). */
  readonly init: object;
}

export interface SupervisorOptions {
  /** The worker's entry module. */
  readonly entry: string;
  /** The worker runs here (an empty directory). */
  readonly cwd: string;
  readonly clock: Clock;
  readonly log: SupervisorLog;
  /** Opens the worker's sockets and builds its init message, for each (re)start. */
  launch(): WorkerLaunch;
  /** Answers one request of the worker (validating it); never throws. */
  handle(req: unknown): Promise<WorkerReply>;
  /** A worker died: remove whatever it had (holes, mappings); returns a count for the log. */
  onDeath(): number;
  /** The supervisor gave up (too many restarts) or a restart failed. */
  onGiveUp(): void;
  close(fd: number): void;
}

export class WorkerSupervisor {
  readonly #o: SupervisorOptions;
  #worker: ChildProcess | undefined;
  #restarts: number[] = [];
  #stopping = false;
  #info: Record<string, unknown> = {};

  constructor(o: SupervisorOptions) {
    this.#o = o;
  }

  get workerPid(): number | undefined {
    return this.#worker?.pid;
  }

  /** What the worker said when ready (its bound addresses). */
  get info(): Record<string, unknown> {
    return this.#info;
  }

  /** Sends a message to the current worker, if it is connected. */
  send(message: object): void {
    const w = this.#worker;
    if (w?.connected === true) w.send(message);
  }

  /** Starts a worker; resolves once it is ready (rejects if it fails to start). */
  async start(): Promise<void> {
    const { fds, init } = this.#o.launch();
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...process.execArgv, this.#o.entry], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...fds],
        cwd: this.#o.cwd,
        env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', TZ: process.env['TZ'] ?? '', NODE_ENV: process.env['NODE_ENV'] ?? '' },
      });
    } finally {
      // The worker has its copies now (or none, if spawn failed): this process keeps no peer-facing socket.
      for (const fd of fds) this.#o.close(fd);
    }
    this.#worker = child;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('worker did not start in time')), WORKER_START_TIMEOUT_MS);
      const onMessage = (m: FromWorker): void => {
        if (m.t === 'ready') {
          this.#info = m.info ?? {};
          done();
          resolve();
        } else if (m.t === 'fatal') {
          done();
          reject(new Error(`worker: ${m.message}`));
        }
      };
      const onExit = (): void => {
        done();
        reject(new Error('worker exited while starting'));
      };
      const done = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    child.on('message', (m: FromWorker) => void this.#onMessage(child, m));
    child.on('exit', (code, signal) => this.#onExit(child, code, signal));
    child.send(init);
    await ready;
    this.#o.log.info({ worker: child.pid }, 'worker serving');
  }

  /** Stops the worker (asked to stop, then killed); no restart after this. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const w = this.#worker;
    if (w === undefined || w.exitCode !== null || w.signalCode !== null) return;
    const gone = new Promise<void>((r) => w.once('exit', () => r()));
    this.send({ t: 'stop' });
    const t = setTimeout(() => w.kill('SIGKILL'), WORKER_STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(t);
  }

  async #onMessage(child: ChildProcess, m: FromWorker): Promise<void> {
    if (child !== this.#worker || m.t !== 'req') return;
    const reply = await this.#o.handle(m.req);
    if (child === this.#worker && child.connected) child.send(reply);
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.#worker) return;
    this.#worker = undefined;
    // Nothing of a dead worker stays open.
    const removed = this.#o.onDeath();
    if (this.#stopping) return;
    this.#o.log.error({ worker: child.pid, code, signal, removed }, 'worker died; what it held was removed');
    const now = this.#o.clock.now();
    this.#restarts = this.#restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.#restarts.length >= MAX_RESTARTS) {
      this.#o.log.error({ restarts: this.#restarts.length, windowMs: RESTART_WINDOW_MS }, 'worker keeps dying: giving up');
      this.#o.onGiveUp();
      return;
    }
    const delay = RESTART_BACKOFF_MS * 2 ** this.#restarts.length;
    this.#restarts.push(now);
    setTimeout(() => {
      if (this.#stopping) return;
      this.start().catch((err: unknown) => {
        this.#o.log.error({ err: String(err) }, 'worker restart failed');
        this.#o.onGiveUp();
      });
    }, delay);
  }
}
