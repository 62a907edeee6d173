/**
 * Network-namespace lab: "hosts" that are each a network + UTS + mount namespace held by an anchor
 * process, with their own /run (so /run/utmp), /var/log, devpts instance and /etc/hosts, joined by
 * veth links or bridged segments. A TypeScript port of ../shared/lab/talk-lab.sh (see its README for
 * the reasons behind every step). Root only.
 *
 *   const lab = await Lab.create({ prefix: 'tgl', hosts: ['a', 'b'], segments: [{ name: 'net', members: [
 *     { host: 'a', addr: '10.9.0.1/24' }, { host: 'b', addr: '10.9.0.2/24' }] }] });
 *   try { await lab.exec('a', ['ping', '-c1', '10.9.0.2']) } finally { await lab.destroy() }
 *
 * Namespace names are `${prefix}-${host}`; every process the lab starts lives in one of them and
 * teardown kills only the pids of those namespaces.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, run, runSync, sleep, sleepSync, waitUntil, type RunOptions, type RunResult } from './proc.js';
import { INETD } from './peers.js';
import { Terminal, type LoginOptions } from './terminal.js';

export { Terminal } from './terminal.js';
export type { LoginOptions } from './terminal.js';

const IP = '/usr/sbin/ip';
const NSENTER = '/usr/bin/nsenter';
const UNSHARE = '/usr/bin/unshare';
const RUNUSER = '/usr/sbin/runuser';
const NFT = '/usr/sbin/nft';
const TCPDUMP = '/usr/bin/tcpdump';
/** Linux IFNAMSIZ - 1. */
const MAX_IFNAME = 15;
/** How long to wait for an anchor, a carrier, a listener (ms). */
const SETUP_WAIT_MS = 10_000;

export interface SegmentMember {
  readonly host: string;
  /** CIDR, e.g. '10.1.0.2/24'. */
  readonly addr: string;
}

/**
 * An L2 segment. Two members: one veth pair, the interface in each host named after the segment.
 * More members: a bridge named after the segment in the first member's namespace (its address goes
 * on the bridge), and for every other member a veth whose host end is named after the segment.
 */
export interface SegmentSpec {
  readonly name: string;
  readonly members: readonly SegmentMember[];
}

export interface RouteSpec {
  readonly host: string;
  /** 'default' or a CIDR. */
  readonly to: string;
  readonly via: string;
}

export interface LabSpec {
  /** Namespace prefix, e.g. 'tgl'; namespaces are `${prefix}-${host}`. Letters/digits, <= 6 chars. */
  readonly prefix: string;
  readonly hosts: readonly string[];
  readonly segments?: readonly SegmentSpec[];
  readonly routes?: readonly RouteSpec[];
  /** Hosts with net.ipv4.ip_forward=1 (per namespace). */
  readonly forwarding?: readonly string[];
  /** Extra /etc/hosts lines for every host (each host already knows every lab address). */
  readonly extraHostsLines?: readonly string[];
  /** Users to create (useradd -m) if missing; default alice, bob, carol. */
  readonly users?: readonly string[];
  /** Log harness steps to stderr (also TG_LAB_VERBOSE=1). */
  readonly verbose?: boolean;
}

export interface HostExecOptions extends RunOptions {
  /** Run as this user (runuser -u USER --). */
  readonly user?: string;
}

export interface SpawnOptions {
  readonly user?: string;
  /** Extra environment (merged over a minimal PATH/LANG environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** File or fd for stdin; default /dev/null. */
  readonly stdinFile?: string;
}

/** A long-running process inside a host; killed on lab teardown. */
export class LabProcess {
  private out = '';
  private err = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly host: string,
    readonly argv: readonly string[],
    readonly child: ChildProcess,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (this.out.length < 4 * 1024 * 1024) this.out += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (this.err.length < 4 * 1024 * 1024) this.err += d;
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      child.on('error', (e) => {
        this.err += `\nspawn error: ${String(e)}`;
        this.exitInfo = { code: 127, signal: null };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get stdout(): string {
    return this.out;
  }
  get stderr(): string {
    return this.err;
  }
  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }
  get running(): boolean {
    return this.exitInfo === undefined;
  }
  /** Resolves when the process exits, or undefined after timeoutMs. */
  async wait(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    try {
      return await Promise.race([this.exited, t]);
    } finally {
      clearTimeout(timer);
    }
  }
  /** Sends a signal; waits up to 2 s for the exit, then SIGKILL. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    if ((await this.wait(2_000)) === undefined) {
      this.child.kill('SIGKILL');
      await this.wait(2_000);
    }
  }
}

export interface Capture {
  readonly path: string;
  /** Stops tcpdump (SIGINT, flushes) and returns the pcap path. */
  stop(): Promise<string>;
}

interface HostState {
  readonly name: string;
  readonly ns: string;
  readonly dir: string;
  anchorPid: number;
  anchor: ChildProcess;
}

const liveLabs = new Set<Lab>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const lab of liveLabs) lab.destroySync();
      process.kill(process.pid, sig);
    });
  }
}

function nsExists(ns: string): boolean {
  return runSync([IP, 'netns', 'list']).stdout.split('\n').some((l) => l.split(/\s+/)[0] === ns);
}

/** Kills every process in namespace `ns` (TERM, then KILL) and deletes it. Synchronous, never throws. */
function removeNamespace(ns: string): void {
  if (!nsExists(ns)) return;
  const pids = (): number[] =>
    runSync([IP, 'netns', 'pids', ns])
      .stdout.split(/\s+/)
      .filter((s) => /^\d+$/.test(s))
      .map(Number)
      .filter((p) => p !== process.pid);
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    const list = pids();
    if (list.length === 0) break;
    for (const p of list) {
      try {
        process.kill(p, sig);
      } catch {
        /* gone */
      }
    }
    for (let i = 0; i < 20 && pids().length > 0; i++) sleepSync(25);
  }
  runSync([IP, 'netns', 'del', ns]);
}

export class Lab {
  private readonly hostStates = new Map<string, HostState>();
  private readonly processes: LabProcess[] = [];
  private readonly terminals = new Map<string, Terminal>();
  private readonly addresses = new Map<string, string[]>();
  private destroyed = false;
  private readonly verbose: boolean;

  private constructor(
    readonly spec: LabSpec,
    /** Private state directory (tmux sockets, typescripts, configs, pcaps). */
    readonly dir: string,
  ) {
    this.verbose = spec.verbose === true || process.env['TG_LAB_VERBOSE'] === '1';
  }

  /** Builds the lab. On any failure it is torn down again and the error rethrown. */
  static async create(spec: LabSpec): Promise<Lab> {
    if (!/^[a-z][a-z0-9]{1,5}$/.test(spec.prefix)) throw new Error(`lab prefix must be 2-6 lowercase letters/digits: ${spec.prefix}`);
    for (const h of spec.hosts) if (!/^[a-z][a-z0-9]{0,9}$/.test(h)) throw new Error(`bad lab host name: ${h}`);
    const dir = mkdtempSync(`/tmp/${spec.prefix}-lab-`);
    chmodSync(dir, 0o755); // users' tmux dirs live below
    const lab = new Lab(spec, dir);
    installExitHooks();
    liveLabs.add(lab);
    try {
      await lab.build();
    } catch (e) {
      lab.destroySync();
      throw e;
    }
    return lab;
  }

  log(msg: string): void {
    if (this.verbose) process.stderr.write(`[lab ${this.spec.prefix} ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
  }

  /** Namespace name of a host. */
  ns(host: string): string {
    return `${this.spec.prefix}-${host}`;
  }
  /** The hostname inside a host (= its namespace name; resolves to its first address in every /etc/hosts). */
  hostname(host: string): string {
    return this.ns(host);
  }
  /** IPv4 addresses of a host (without prefix length), in segment order. */
  addrs(host: string): string[] {
    return [...(this.addresses.get(host) ?? [])];
  }
  /** First IPv4 address of a host. */
  addr(host: string): string {
    const a = this.addresses.get(host)?.[0];
    if (a === undefined) throw new Error(`lab host ${host} has no address`);
    return a;
  }
  anchorPid(host: string): number {
    return this.host(host).anchorPid;
  }
  /** Private per-host directory in the lab state dir (readable by all). */
  hostDir(host: string): string {
    return this.host(host).dir;
  }

  private host(name: string): HostState {
    const h = this.hostStates.get(name);
    if (!h) throw new Error(`unknown lab host ${name}`);
    return h;
  }

  // ------------------------------------------------------------------ build
  private async build(): Promise<void> {
    const { spec } = this;
    await ensureUsers(spec.users ?? ['alice', 'bob', 'carol']);
    for (const h of spec.hosts) removeNamespace(this.ns(h)); // leftovers of a crashed run with our names
    for (const h of spec.hosts) {
      await run([IP, 'netns', 'add', this.ns(h)]);
      await run([IP, '-n', this.ns(h), 'link', 'set', 'lo', 'up']);
    }
    const waitLinks: Array<[string, string]> = [];
    for (const seg of spec.segments ?? []) await this.buildSegment(seg, waitLinks);
    for (const [host, ifname] of waitLinks) {
      await waitUntil(
        `carrier on ${host}/${ifname}`,
        async () => / UP /.test((await run([IP, '-n', this.ns(host), '-br', 'link', 'show', 'dev', ifname])).stdout),
        SETUP_WAIT_MS,
      );
    }
    for (const r of spec.routes ?? []) await run([IP, '-n', this.ns(r.host), 'route', 'add', r.to, 'via', r.via]);
    for (const h of spec.forwarding ?? []) {
      await run([IP, 'netns', 'exec', this.ns(h), 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    }
    // /etc/hosts for every host: every lab address, the first one under the host's name.
    const lines = ['127.0.0.1\tlocalhost'];
    for (const h of spec.hosts) {
      const as = this.addresses.get(h) ?? [];
      as.forEach((a, i) => lines.push(`${a}\t${i === 0 ? this.hostname(h) : `${this.hostname(h)}-${i}`}`));
    }
    lines.push(...(spec.extraHostsLines ?? []));
    for (const h of spec.hosts) await this.startAnchor(h, lines.join('\n') + '\n');
    this.log(`lab up: ${spec.hosts.map((h) => this.ns(h)).join(' ')} in ${this.dir}`);
  }

  private async buildSegment(seg: SegmentSpec, waitLinks: Array<[string, string]>): Promise<void> {
    if (seg.name.length > MAX_IFNAME - 3) throw new Error(`segment name too long: ${seg.name}`);
    const [first, ...rest] = seg.members;
    if (!first || rest.length === 0) throw new Error(`segment ${seg.name} needs at least two members`);
    const addAddr = async (m: SegmentMember, ifname: string): Promise<void> => {
      await run([IP, '-n', this.ns(m.host), 'addr', 'add', m.addr, 'dev', ifname]);
      const list = this.addresses.get(m.host) ?? [];
      list.push(m.addr.split('/')[0] ?? m.addr);
      this.addresses.set(m.host, list);
    };
    const up = async (host: string, ifname: string): Promise<void> => {
      await run([IP, '-n', this.ns(host), 'link', 'set', ifname, 'up']);
      waitLinks.push([host, ifname]);
    };
    const second = rest[0];
    if (rest.length === 1 && second) {
      await run([IP, 'link', 'add', seg.name, 'netns', this.ns(first.host), 'type', 'veth', 'peer', 'name', seg.name, 'netns', this.ns(second.host)]);
      for (const m of seg.members) {
        await addAddr(m, seg.name);
        await up(m.host, seg.name);
      }
      return;
    }
    const brNs = this.ns(first.host);
    await run([IP, '-n', brNs, 'link', 'add', seg.name, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    await addAddr(first, seg.name);
    await up(first.host, seg.name);
    let i = 0;
    for (const m of rest) {
      const port = `${seg.name}-p${i++}`;
      await run([IP, 'link', 'add', seg.name, 'netns', this.ns(m.host), 'type', 'veth', 'peer', 'name', port, 'netns', brNs]);
      await run([IP, '-n', brNs, 'link', 'set', port, 'master', seg.name]);
      await up(first.host, port);
      await addAddr(m, seg.name);
      await up(m.host, seg.name);
    }
  }

  private async startAnchor(host: string, hostsFile: string): Promise<void> {
    const ns = this.ns(host);
    const dir = join(this.dir, host);
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'hosts'), hostsFile, { mode: 0o644 });
    const p = this.spec.prefix;
    const script = [
      'set -e',
      `hostname ${ns}`,
      `mount -t tmpfs -o mode=755 ${p}-run-${host} /run`,
      'install -m 664 -o root -g utmp /dev/null /run/utmp',
      `mount -t tmpfs -o mode=755 ${p}-log-${host} /var/log`,
      'install -m 666 /dev/null /var/log/talkd.log',
      `mount -t devpts -o newinstance,gid=5,mode=620,ptmxmode=666 ${p}-pts-${host} /dev/pts`,
      `mount --bind ${join(dir, 'hosts')} /etc/hosts`,
      `echo ready > ${join(dir, 'anchor.ready')}`,
      'exec sleep infinity',
    ].join('\n');
    const logFd = openSync(join(dir, 'anchor.log'), 'w');
    // ip netns exec and unshare (no --fork) exec in place, so the child's pid is the anchor's.
    const anchor = spawn(IP, ['netns', 'exec', ns, UNSHARE, '--uts', '--mount', '--propagation', 'private', '--', 'sh', '-c', script], {
      stdio: ['ignore', logFd, logFd],
      detached: true,
    });
    closeSync(logFd);
    anchor.unref();
    if (anchor.pid === undefined) throw new Error(`cannot start anchor for ${ns}`);
    const state: HostState = { name: host, ns, dir, anchorPid: anchor.pid, anchor };
    this.hostStates.set(host, state);
    await waitUntil(
      `anchor of ${ns}`,
      () => {
        try {
          statSync(join(dir, 'anchor.ready'));
          return true;
        } catch {
          if (anchor.exitCode !== null) throw new Error(`anchor for ${ns} died: ${readFileSync(join(dir, 'anchor.log'), 'utf8')}`);
          return false;
        }
      },
      SETUP_WAIT_MS,
    );
    const hn = (await this.exec(host, ['hostname'])).stdout.trim();
    if (hn !== ns) throw new Error(`anchor for ${ns}: hostname is ${hn}`);
  }

  // ------------------------------------------------------------------ running things
  /** nsenter argv prefix for a host (network, mount, UTS namespaces of its anchor). */
  enterArgv(host: string, user?: string): string[] {
    const base = [NSENTER, '-t', String(this.host(host).anchorPid), '-n', '-m', '-u', '--'];
    return user === undefined ? base : [...base, RUNUSER, '-u', user, '--'];
  }

  /** Runs argv inside a host and returns {code, stdout, stderr}; throws on exit != 0 unless check:false. */
  exec(host: string, argv: readonly string[], opts: HostExecOptions = {}): Promise<RunResult> {
    return run([...this.enterArgv(host, opts.user), ...argv], opts);
  }

  /** Runs a shell command line inside a host. */
  sh(host: string, script: string, opts: HostExecOptions = {}): Promise<RunResult> {
    return this.exec(host, ['/bin/sh', '-c', script], opts);
  }

  /** Starts a long-running process inside a host (stdout/stderr collected); killed on teardown. */
  spawn(host: string, argv: readonly string[], opts: SpawnOptions = {}): LabProcess {
    const env: NodeJS.ProcessEnv = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      ...(opts.env ?? {}),
    };
    const stdin = opts.stdinFile !== undefined ? openSync(opts.stdinFile, 'r') : 'ignore';
    const child = spawn(this.enterArgv(host, opts.user)[0] ?? NSENTER, [...this.enterArgv(host, opts.user).slice(1), ...argv], {
      stdio: [stdin, 'pipe', 'pipe'],
      env,
    });
    if (typeof stdin === 'number') closeSync(stdin);
    const p = new LabProcess(host, argv, child);
    this.processes.push(p);
    this.log(`spawned on ${host} pid ${child.pid ?? '?'}: ${argv.join(' ')}`);
    return p;
  }

  /**
   * openbsd-inetd in the foreground (`inetd -i CONFIG`) with a private config holding `lines`
   * (use udp4 and wait for talk). Waits until every udp port of the lines' services listens.
   */
  async startInetd(host: string, lines: readonly string[], name = 'inetd'): Promise<LabProcess> {
    const conf = join(this.host(host).dir, `${name}.conf`);
    writeFileSync(conf, lines.join('\n') + '\n', { mode: 0o644 });
    const ports = lines.map((l) => serviceUdpPort(l.split(/\s+/)[0] ?? '')).filter((p): p is number => p !== undefined);
    const p = this.spawn(host, [INETD, '-i', conf]);
    for (const port of ports) await this.waitUdpListen(host, port, p);
    return p;
  }

  /** Waits until something in `host` listens on udp/`port` (and, if given, `proc` is still alive). */
  async waitUdpListen(host: string, port: number, proc?: LabProcess, timeoutMs = SETUP_WAIT_MS): Promise<void> {
    await waitUntil(
      `udp/${port} listening on ${host}`,
      async () => {
        if (proc && !proc.running) throw new Error(`${proc.argv.join(' ')} exited ${JSON.stringify(proc.exitStatus)}: ${proc.stderr}`);
        const r = await this.exec(host, ['ss', '-H', '-uln', `sport = :${port}`], { check: false });
        return r.stdout.includes(`:${port}`);
      },
      timeoutMs,
      50,
    );
  }

  /** Applies an nftables ruleset inside a host: JSON (object or string, `nft -j -f -`) or nft text. */
  async nft(host: string, ruleset: object | string, format: 'json' | 'text' = typeof ruleset === 'string' ? 'text' : 'json'): Promise<RunResult> {
    const input = typeof ruleset === 'string' ? ruleset : JSON.stringify(ruleset);
    return this.exec(host, format === 'json' ? [NFT, '-j', '-f', '-'] : [NFT, '-f', '-'], { input });
  }

  /** tcpdump on an interface of a host; `stop()` returns the pcap path. */
  async capture(host: string, iface: string, filter: readonly string[] = [], name?: string): Promise<Capture> {
    const path = join(this.dir, `${name ?? `${host}-${iface}`}-${Date.now()}.pcap`);
    // -Z root: tcpdump would otherwise drop to user tcpdump, who cannot write our state dir.
    const p = this.spawn(host, [TCPDUMP, '-i', iface, '-U', '-n', '-Z', 'root', '-w', path, ...filter]);
    await waitUntil(`tcpdump on ${host}/${iface}`, () => {
      if (!p.running) throw new Error(`tcpdump failed: ${p.stderr}`);
      return /listening on/.test(p.stderr);
    }, SETUP_WAIT_MS);
    return {
      path,
      stop: async () => {
        await sleep(100);
        await p.kill('SIGINT');
        return path;
      },
    };
  }

  /** Processes living in a host's network namespace: pid and argv (from /proc). */
  async pids(host: string): Promise<Array<{ pid: number; argv: string[] }>> {
    const r = await run([IP, 'netns', 'pids', this.ns(host)], { check: false });
    const out: Array<{ pid: number; argv: string[] }> = [];
    for (const s of r.stdout.split(/\s+/)) {
      if (!/^\d+$/.test(s)) continue;
      const pid = Number(s);
      if (pid === this.host(host).anchorPid || pid === process.pid) continue;
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter((x) => x !== '');
        out.push({ pid, argv });
      } catch {
        /* exited meanwhile */
      }
    }
    return out;
  }

  /**
   * Kills the processes of a host whose argv matches `match` (TERM, then KILL after 2 s) and waits
   * until they are gone. Only pids of this lab's namespace are considered. Returns how many.
   */
  async killWhere(host: string, match: (argv: readonly string[]) => boolean): Promise<number> {
    const victims = (await this.pids(host)).filter((p) => match(p.argv)).map((p) => p.pid);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return readComm(pid) !== '' && !readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z ');
      } catch {
        return false;
      }
    };
    for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
      for (const pid of victims) {
        try {
          process.kill(pid, sig);
        } catch {
          /* gone */
        }
      }
      for (let i = 0; i < 40 && victims.some(alive); i++) await sleep(50);
      if (!victims.some(alive)) break;
    }
    return victims.length;
  }

  // ------------------------------------------------------------------ users and terminals
  /**
   * Logs `user` in on `host`: a tmux server run as the user inside the host (libutempter writes the
   * USER_PROCESS utmp record for its pty), bash with prompt `user@ns:~$ `, every byte the pane
   * prints appended to a typescript (pipe-pane). Returns the terminal; also reachable as
   * lab.term('user') or lab.term('user@host').
   */
  async login(host: string, user: string, opts: LoginOptions = {}): Promise<Terminal> {
    const key = `${user}@${host}`;
    if (this.terminals.has(key)) throw new Error(`${key} is already logged in`);
    const dir = join(this.host(host).dir, `tmux-${user}`);
    mkdirSync(dir, { mode: 0o700 });
    const pw = await passwdEntry(user);
    chownSync(dir, pw.uid, pw.gid);
    const term = new Terminal(this, host, user, dir, opts);
    await term.start(pw.home);
    this.terminals.set(key, term);
    return term;
  }

  /** A logged-in terminal by 'user' (if that user is logged in on only one host) or 'user@host'. */
  term(ref: string | Terminal): Terminal {
    if (typeof ref !== 'string') return ref;
    const t = this.terminals.get(ref);
    if (t) return t;
    const matches = [...this.terminals.values()].filter((x) => x.user === ref);
    if (matches.length === 1 && matches[0]) return matches[0];
    throw new Error(matches.length ? `${ref} is logged in on several hosts; use user@host` : `${ref} is not logged in`);
  }

  type(ref: string | Terminal, text: string, enter = true): Promise<void> {
    return this.term(ref).type(text, enter);
  }
  key(ref: string | Terminal, ...keys: string[]): Promise<void> {
    return this.term(ref).key(...keys);
  }
  screen(ref: string | Terminal): Promise<string> {
    return this.term(ref).screen();
  }
  typescript(ref: string | Terminal, fromOffset = 0): string {
    return this.term(ref).typescript(fromOffset);
  }
  waitFor(ref: string | Terminal, re: RegExp, timeoutMs = 15_000): Promise<string> {
    return this.term(ref).waitFor(re, timeoutMs);
  }
  mesg(ref: string | Terminal, state: 'y' | 'n'): Promise<void> {
    return this.term(ref).mesg(state);
  }

  // ------------------------------------------------------------------ teardown
  /** Kills everything in the lab's namespaces and removes them and the state dir. Idempotent. */
  async destroy(): Promise<void> {
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    for (const h of this.spec.hosts) removeNamespace(this.ns(h));
    // anchors are inside their netns, but if a namespace vanished earlier make sure they are gone
    for (const h of this.hostStates.values()) {
      if (h.anchor.exitCode === null && readComm(h.anchorPid) === 'sleep') {
        try {
          process.kill(h.anchorPid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    for (const p of this.processes) if (p.running) p.child.kill('SIGKILL');
    if (process.env['TG_LAB_KEEP_DIR'] !== '1') rmSync(this.dir, { recursive: true, force: true });
    this.log('lab down');
  }
}

function readComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** udp port of an inetd.conf service name or number (from /etc/services). */
function serviceUdpPort(service: string): number | undefined {
  if (/^\d+$/.test(service)) return Number(service);
  try {
    for (const line of readFileSync('/etc/services', 'utf8').split('\n')) {
      const m = /^(\S+)\s+(\d+)\/udp\b(.*)$/.exec(line.replace(/#.*/, ''));
      if (m && (m[1] === service || (m[3] ?? '').split(/\s+/).includes(service))) return Number(m[2]);
    }
  } catch {
    /* no /etc/services */
  }
  return undefined;
}

interface Passwd {
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

async function passwdEntry(user: string): Promise<Passwd> {
  const r = await run(['getent', 'passwd', user], { check: false });
  const f = r.stdout.trim().split(':');
  if (r.code !== 0 || f.length < 7) throw new Error(`no such user ${user}`);
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? `/home/${user}` };
}

/** useradd -m -s /bin/bash for each missing user (retried: other labs may be adding users too). */
export async function ensureUsers(users: readonly string[]): Promise<void> {
  for (const u of users) {
    for (let attempt = 0; attempt < 10; attempt++) {
      if ((await run(['id', u], { check: false })).code === 0) break;
      const r = await run(['useradd', '-m', '-s', '/bin/bash', u], { check: false });
      if (r.code === 0 || r.code === 9 /* exists */) break;
      if (attempt === 9) throw new CommandError(['useradd', u], r);
      await sleep(200);
    }
  }
}
