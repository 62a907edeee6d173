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
import { closeSync, constants as fsConstants, fchownSync, fstatSync, openSync, readFileSync } from 'node:fs';
import type { GatewayConfig } from '../../config/gateway-config.js';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import { installIntercept, removeIntercept } from '../../firewall/intercept/intercept-installer.js';
import { bindUdpSocketFd, closeFd, listenTcpSocketFd, NativeSocketError } from '../../native/fd-datagram-endpoint.js';
import { openTransparentUdpFd, sendFrom } from '../../native/transparent/index.js';
import { Errno } from '../../native/socket-abi.js';
import { reopenLogFiles, type Logger } from '../../observability/logger.js';
import type { Clock } from '../../shared/clock.js';
import { sanitizeText } from '../../shared/sanitize.js';
import { interceptionSpec } from '../io/transparent-ingress.js';
import type { FaceKey, InheritedSockets } from '../io/gateway-runtime.js';
import { modeWiring } from '../modes/gateway-modes.js';
import { createPinholeDataPath } from '../pinhole/pinhole-from-config.js';
import type { PinholeDataPath } from '../pinhole/pinhole-data-path.js';
import { PrivilegedService } from './privileged-service.js';
import type { ToWorker } from './privsep-messages.js';
import { FIRST_CHILD_FD, WorkerSupervisor } from '../../privsep/worker-supervisor.js';
import { DEFAULT_WORKER_USER, lookupUser } from '../../privsep/lookup-user.js';
import { makeWorkerDir, type WorkerDir } from '../../privsep/worker-dir.js';
import { haTransition, type HaRole, type HaState } from '../ha/ha-role.js';
import { HaControlServer } from '../ha/ha-control-server.js';
import type { HaControlReply } from '../ha/ha-control-messages.js';
import { applyHaSysctls, haSysctls } from '../ha/ha-sysctls.js';
import { SplitBrainDetector } from '../ha/split-brain-detector.js';
import { otherHostAnswers } from '../ha/split-brain-probe.js';


/** A busy port at start is retried this often, this long apart (3 s in all). */
const PORT_BUSY_RETRIES = 30;
const PORT_BUSY_RETRY_MS = 100;

const SIDES = ['inside', 'outside'] as const;
/** How often a master asks whether another host answers for its virtual addresses (split brain). */
const SPLIT_BRAIN_PROBE_MS = 2_000;
const PROTOCOLS = ['ntalk', 'otalk'] as const;

export interface MonitorOptions {
  readonly configPath: string;
  readonly configText: string;
  readonly config: GatewayConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly logLevel: string;
  readonly logFormat: string;
  /** --log-file: this process and its worker append there; SIGHUP reopens it. */
  readonly logFile?: string;
  /** The worker's entry module (dist/src/cli/gateway-worker.js). */
  readonly workerEntry: string;
}

export class PrivilegedMonitor {
  readonly #o: MonitorOptions;
  readonly #log: Logger;
  #config: GatewayConfig;
  #configText: string;
  readonly #holes: PinholeDataPath | undefined;
  readonly #service: PrivilegedService;
  readonly #user: { name: string; group?: string; uid: number; gid: number };
  readonly #workdir: WorkerDir;
  readonly #supervisor: WorkerSupervisor;
  #stopping = false;
  #intercept = false;
  /** [ha]: this node's role, the last state keepalived reported, the control socket, split-brain watch. */
  #haRole: HaRole = 'master';
  #haState = 'none';
  #haServer: HaControlServer | undefined;
  readonly #splitBrain = new SplitBrainDetector();
  #splitTimer: NodeJS.Timeout | undefined;
  #exit: ((code: number) => void) | undefined;
  readonly exited: Promise<number>;

  private constructor(o: MonitorOptions) {
    this.#o = o;
    this.#log = o.logger;
    this.#config = o.config;
    this.#configText = o.configText;
    this.exited = new Promise((r) => (this.#exit = r));
    const c = o.config;
    if (c.ha !== undefined) {
      this.#haRole = c.ha.initialRole;
      this.#haState = c.ha.initialRole === 'master' ? 'MASTER' : 'BACKUP';
    }
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
      serving: () => this.#haRole === 'master',
    });
    // An empty directory the worker runs in (it needs no file but its audit log).
    this.#workdir = makeWorkerDir('talkgate-worker');
    this.#supervisor = new WorkerSupervisor({
      entry: o.workerEntry,
      cwd: this.#workdir.path,
      clock: o.clock,
      log: o.logger,
      launch: () => this.#launch(),
      handle: (req) => this.#service.handle(req),
      onDeath: () => this.#service.flush().length,
      onGiveUp: () => void this.stop(1),
      close: closeFd,
    });
  }

  /** Sets up the firewall side, then starts the first worker; resolves once it serves. */
  static async start(o: MonitorOptions): Promise<PrivilegedMonitor> {
    const m = new PrivilegedMonitor(o);
    try {
      const ha = o.config.ha;
      if (ha !== undefined) {
        const changed = applyHaSysctls(haSysctls(m.#holes !== undefined));
        if (changed.length > 0) o.logger.info({ sysctls: changed }, 'ha: kernel settings applied');
      }
      await m.#holes?.start();
      const plan = modeWiring(o.config).interception(o.config);
      if (plan !== undefined) {
        await installIntercept(interceptionSpec(o.config, plan));
        m.#intercept = true;
      }
      // A predecessor killed a moment ago may leave a worker that still holds the ports while it
      // exits (it leaves as soon as it sees its privileged process gone): retry a bound time.
      for (let tries = 0; ; tries++) {
        try {
          await m.#supervisor.start();
          break;
        } catch (err: unknown) {
          if (!(err instanceof NativeSocketError && err.errno === Errno.EADDRINUSE) || tries >= PORT_BUSY_RETRIES) throw err;
          await new Promise((r) => setTimeout(r, PORT_BUSY_RETRY_MS));
        }
      }
      o.logger.info({ worker: m.workerPid, user: m.#user.name }, 'gateway worker serving');
      if (ha !== undefined) {
        m.#haServer = await HaControlServer.listen(ha.controlSocket, (r) => Promise.resolve(r.op === 'notify' ? m.#haNotify(r.state) : m.#haStatus()));
        o.logger.info({ role: m.#haRole, control: ha.controlSocket }, 'ha: waiting for keepalived (talkgate ha notify)');
        m.#armSplitBrain();
      }
    } catch (err: unknown) {
      await m.stop();
      throw err;
    }
    return m;
  }

  get workerPid(): number | undefined {
    return this.#supervisor.workerPid;
  }

  /** The faces the worker serves, as it reported them. */
  faces(): Record<string, string> {
    return (this.#supervisor.info['faces'] as Record<string, string> | undefined) ?? {};
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
    this.#prepareFiles();
    reopenLogFiles();
    this.#toWorker({ t: 'reload', configText: text });
  }

  async stop(exitCode = 0): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#splitTimer !== undefined) clearTimeout(this.#splitTimer);
    await this.#haServer?.close();
    await this.#supervisor.stop();
    this.#service.flush();
    await this.#holes?.stop();
    if (this.#intercept) {
      const plan = modeWiring(this.#config).interception(this.#config);
      if (plan !== undefined) {
        const report = await removeIntercept(interceptionSpec(this.#config, plan));
        this.#log[report.table.ok ? 'info' : 'error']({ report }, 'interception removed');
      }
    }
    this.#workdir.remove();
    this.#exit?.(exitCode);
  }

  /**
   * The audit file (and the log file) exists and belongs to the worker user, so the worker can
   * (re)open it after its drop. Only a regular file (or none yet) is created or handed over: a device or anything else
   * named there is left as it is (O_NOFOLLOW: a symlink is never followed to chown its target).
   */
  #prepareFiles(): void {
    for (const file of [this.#config.audit?.file, this.#o.logFile]) if (file !== undefined) this.#prepareFile(file);
  }

  #prepareFile(file: string): void {
    try {
      const fd = openSync(file, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW, 0o640);
      try {
        if (fstatSync(fd).isFile()) fchownSync(fd, this.#user.uid, this.#user.gid);
      } finally {
        closeSync(fd);
      }
    } catch (err: unknown) {
      this.#log.warn({ file, err: sanitizeText(String(err)) }, 'cannot create the file for the worker');
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

  /** The sockets and the init message of the next worker. */
  #launch(): { fds: number[]; init: ToWorker } {
    this.#prepareFiles();
    const { fds, sockets } = this.#openSockets();
    const o = this.#o;
    return {
      fds,
      init: {
        t: 'init',
        configPath: o.configPath,
        configText: this.#configText,
        logLevel: o.logLevel,
        logFormat: o.logFormat,
        ...(o.logFile !== undefined ? { logFile: o.logFile } : {}),
        sockets,
        holes: this.#holes !== undefined,
        user: this.#user.name,
        ...(this.#user.group !== undefined ? { group: this.#user.group } : {}),
        workdir: this.#workdir.path,
        ...(this.#config.admin?.tls !== undefined
          ? { adminTls: { cert: readFileSync(this.#config.admin.tls.certFile, 'utf8'), key: readFileSync(this.#config.admin.tls.keyFile, 'utf8') } }
          : {}),
        ...(this.#config.peering !== undefined
          ? {
              peeringTls: {
                cert: readFileSync(this.#config.peering.certFile, 'utf8'),
                key: readFileSync(this.#config.peering.keyFile, 'utf8'),
                ca: readFileSync(this.#config.peering.caFile, 'utf8'),
              },
            }
          : {}),
      },
    };
  }

  /** keepalived's notify, through `talkgate ha notify` (which has already committed conntrackd for MASTER). */
  #haNotify(state: HaState): HaControlReply {
    const t = haTransition(this.#haRole, state);
    const was = this.#haRole;
    this.#haRole = t.role;
    this.#haState = state;
    let removed: string[] = [];
    if (t.removeHoles) {
      removed = this.#service.flush();
      for (const callId of removed) {
        this.#toWorker({ t: 'event', kind: 'ended', callId, info: { bytesIn: 0, bytesOut: 0, durationMs: 0, reason: 'this node of the HA pair is no longer the master' } });
      }
    }
    this.#log.info({ state, role: t.role, was, holesRemoved: removed.length, ...(removed.length > 0 ? { callIds: removed } : {}) }, t.changed ? 'ha: role changed' : 'ha: role confirmed');
    const ev = t.role === 'master' ? undefined : this.#splitBrain.reset();
    if (ev === 'resolved') this.#log.warn({ state }, 'ha: split brain over (this node is no longer master)');
    return this.#haStatus(removed.length);
  }

  #haStatus(holesRemoved = 0): HaControlReply {
    return { ok: true, role: this.#haRole, state: this.#haState, holesRemoved, holes: this.#holes?.size ?? 0 };
  }

  /** While master: does another host answer for a virtual address? Logs the start and the end of a split brain. */
  #armSplitBrain(): void {
    this.#splitTimer = setTimeout(() => void this.#probeSplitBrain(), SPLIT_BRAIN_PROBE_MS);
    this.#splitTimer.unref();
  }

  async #probeSplitBrain(): Promise<void> {
    if (this.#stopping) return;
    if (this.#haRole === 'master') {
      const c = this.#config;
      const answered: string[] = [];
      for (const side of SIDES) {
        const iface = c[side].interface;
        if (iface === undefined) continue;
        if ((await otherHostAnswers(iface, c[side].address)) === true) answered.push(`${side} ${c[side].address}`);
      }
      // Still master after the probe (a notify may have come meanwhile).
      if (this.#haRole === 'master') {
        const ev = this.#splitBrain.observe(answered.length > 0);
        if (ev === 'detected') this.#log.error({ addresses: answered, state: this.#haState }, 'ha: split brain: this node is master and another host answers for the virtual addresses');
        else if (ev === 'resolved') this.#log.warn({ state: this.#haState }, 'ha: split brain over');
      }
    }
    if (!this.#stopping) this.#armSplitBrain();
  }

  #toWorker(m: ToWorker): void {
    this.#supervisor.send(m);
  }
}
