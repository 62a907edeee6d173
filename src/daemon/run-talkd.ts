/**
 * Starting `talkgate talkd` in one of its three modes: standalone (binds its own sockets),
 * inetd wait mode (the UDP socket is fd 0; exits after MAX_IDLE_MS without packets, checked every
 * IDLE_CHECK_MS) and systemd socket activation (LISTEN_FDS sockets from fd 3, each matched to
 * ntalk/otalk by its bound port). After the sockets exist, a daemon running as root drops to
 * `user`/`group`. Resolves when the daemon stops (signal or idle exit).
 */
import { IDLE_CHECK_MS } from '../protocol/constants.js';
import { systemClock } from '../shared/clock.js';
import type { Logger } from '../observability/logger.js';
import type { DatagramEndpoint } from '../native/datagram-endpoint.js';
import { NodeDatagramEndpoint } from '../native/node-datagram-endpoint.js';
import { callerHostResolver } from './caller-host.js';
import { DEFAULT_RATE_BURST } from './daemon-limits.js';
import { localAddressChecker } from './local-addresses.js';
import type { TalkFlavour } from './process-request.js';
import { TalkdService } from './talkd.js';
import { writeToTty } from './tty-writer.js';
import { lookUpUser, UtmpView } from './utmp.js';
import { TalkError } from '../shared/talk-error.js';
import { dropPrivileges } from '../privsep/drop-privileges.js';

/** sd_listen_fds(3): the first passed file descriptor. */
export const SD_LISTEN_FDS_START = 3;

export interface TalkdOptions {
  readonly ntalkPort: number | undefined;
  readonly otalkPort: number | undefined;
  readonly bind: string;
  readonly utmpPath: string;
  readonly devDir: string;
  readonly maxInvitations: number;
  readonly maxInvitationsPerSource: number;
  readonly ratePerSecond: number;
  readonly user: string;
  readonly group: string;
  readonly hostname: string;
  readonly mode: 'standalone' | 'inetd' | 'systemd';
  readonly maxIdleMs: number;
  readonly logger: Logger;
}

/** Parses LISTEN_PID / LISTEN_FDS; undefined when they are not meant for this process. */
export function systemdListenFds(env: NodeJS.ProcessEnv, pid: number): number[] | undefined {
  const listenPid = Number(env['LISTEN_PID']);
  const n = Number(env['LISTEN_FDS']);
  if (!Number.isInteger(listenPid) || listenPid !== pid || !Number.isInteger(n) || n < 1 || n > 64) return undefined;
  return Array.from({ length: n }, (_, i) => SD_LISTEN_FDS_START + i);
}

function flavourOfPort(port: number, options: TalkdOptions): TalkFlavour {
  return options.otalkPort !== undefined && port === options.otalkPort ? 'otalk' : 'ntalk';
}

async function openEndpoints(options: TalkdOptions): Promise<Array<{ endpoint: DatagramEndpoint; flavour: TalkFlavour }>> {
  if (options.mode === 'standalone') {
    const out: Array<{ endpoint: DatagramEndpoint; flavour: TalkFlavour }> = [];
    try {
      if (options.ntalkPort !== undefined) {
        out.push({ endpoint: await NodeDatagramEndpoint.bind(options.bind, options.ntalkPort), flavour: 'ntalk' });
      }
      if (options.otalkPort !== undefined) {
        out.push({ endpoint: await NodeDatagramEndpoint.bind(options.bind, options.otalkPort), flavour: 'otalk' });
      }
    } catch (err: unknown) {
      await Promise.all(out.map((e) => e.endpoint.close()));
      throw err;
    }
    return out;
  }
  // Inherited sockets need the native layer; load it only here.
  const native = await import('../native/fd-datagram-endpoint.js');
  let fds: number[];
  if (options.mode === 'inetd') {
    fds = [0];
  } else {
    const listen = systemdListenFds(process.env, process.pid);
    if (listen === undefined) throw new TalkError('SOCKET_ACTIVATION', 'Socket activation requested but LISTEN_FDS/LISTEN_PID are not for this process');
    delete process.env['LISTEN_FDS'];
    delete process.env['LISTEN_PID'];
    delete process.env['LISTEN_FDNAMES'];
    fds = listen;
  }
  return fds.map((fd) => {
    if (!native.isInetDatagramSocket(fd)) throw new TalkError('SOCKET_ACTIVATION', `fd ${fd} is not an IPv4 UDP socket`);
    const { port } = native.socketLocalAddress(fd);
    return { endpoint: new native.FdDatagramEndpoint(fd), flavour: flavourOfPort(port, options) };
  });
}

export async function runTalkd(options: TalkdOptions): Promise<void> {
  const logger = options.logger;
  const endpoints = await openEndpoints(options);
  if (endpoints.length === 0) throw new TalkError('NOTHING_TO_SERVE', 'Nothing to serve: both ntalk and otalk are disabled');
  try {
    const as = dropPrivileges(options.user, options.group);
    if (as !== undefined) logger.info({ uid: process.getuid?.(), gid: process.getgid?.(), ...as }, 'dropped privileges');
  } catch (err: unknown) {
    await Promise.all(endpoints.map((e) => e.endpoint.close()));
    throw err;
  }
  const utmp = new UtmpView(options.utmpPath);
  const service = new TalkdService({
    clock: systemClock,
    logger,
    daemonHost: options.hostname,
    maxInvitations: options.maxInvitations,
    maxInvitationsPerSource: options.maxInvitationsPerSource,
    ratePerSecond: options.ratePerSecond,
    rateBurst: Math.max(DEFAULT_RATE_BURST, options.ratePerSecond),
    isLocalAddress: localAddressChecker(),
    lookUpUser: (name, tty) => lookUpUser({ utmpPath: options.utmpPath, devDir: options.devDir, view: utmp }, name, tty),
    resolveCallerHost: callerHostResolver(),
    writeTty: (tty, text) => writeToTty(tty, text, { devDir: options.devDir }),
  });
  for (const { endpoint, flavour } of endpoints) service.attach(endpoint, flavour);
  logger.info({ mode: options.mode, hostname: options.hostname }, 'talkd started');

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (reason: string): void => {
      if (stopping) return;
      stopping = true;
      clearInterval(idleTimer);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      logger.info({ reason, ...service.counters }, 'talkd stopping');
      void service.close().then(resolve, resolve);
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    const idleTimer = setInterval(
      () => {
        if (options.mode === 'inetd' && systemClock.now() - service.lastActivity >= options.maxIdleMs) stop('idle');
      },
      Math.min(IDLE_CHECK_MS, options.maxIdleMs),
    );
  });
}
