/**
 * A wide-area delay on a lab link without sch_netem: a user-space delay line in one host of the link.
 *
 *   before:  [peer] ──veth── DEV [host: address A, routes]
 *   after:   [peer] ──veth── DEV ─ dl-br (bridge) ─ dl-line ⇄ delay-line-process ⇄ dl-host [host: address A, routes]
 *
 * In `host`, the delay process (delay-line-process.ts) opens two TAP devices; this side puts the
 * link's interface DEV and the "line" TAP into a bridge and moves the host's IPv4 addresses and its
 * routes through DEV onto the "host" TAP. Every frame between the host's stack and the link then
 * passes the process, which releases it `delayMs` later in each direction: a round trip over the
 * link takes 2 x delayMs more. The host TAP takes DEV's MAC address (DEV gets a fresh one), so the
 * peer's neighbour cache stays right both when the line starts and when it stops.
 *
 * stop() ends the process (its TAPs vanish with it), removes the bridge and puts addresses, MAC and
 * routes back on DEV; the lab's teardown removes everything anyway (the process lives in the lab's
 * namespace and is one of its LabProcesses). The process also ends on its own after `lifetimeMs`,
 * when the lab process that started it is gone, and on any error.
 */
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabProcess } from './lab.js';
import { waitUntil } from './proc.js';
import type { DelayLineProcessConfig } from './delay-line-process.js';
import { TUN_DEVICE } from './tap-device.js';

const PROCESS_JS = join(dirname(fileURLToPath(import.meta.url)), 'delay-line-process.js');
/** Interface names inside the host (the namespace is the lab's, so they need no prefix). */
const HOST_TAP = 'dl-host';
const LINE_TAP = 'dl-line';
const BRIDGE = 'dl-br';
/** Default one-way delay: 2 x 10 ms = issue 17's 20 ms RTT. */
export const DEFAULT_DELAY_MS = 10;
/**
 * Queue bounds per direction: 4096 frames, 4 MiB (about 3 s of a 10 Mbit/s link; at the 10 ms delay
 * the line holds 10 ms of traffic, so only a flood beyond what a user-space copy forwards reaches them).
 */
const DEFAULT_MAX_FRAMES = 4_096;
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
/** Default lifetime of the process: longer than any lab file or benchmark pass takes. */
const DEFAULT_LIFETIME_MS = 30 * 60_000;
/** How long the process may take to create its TAPs, and to stop. */
const START_WAIT_MS = 10_000;
const STOP_WAIT_MS = 5_000;

export interface DelayLineOptions {
  /** One-way delay per direction, ms (default DEFAULT_DELAY_MS). */
  readonly delayMs?: number;
  readonly maxFrames?: number;
  readonly maxBytes?: number;
  readonly lifetimeMs?: number;
}

/** One direction's counters, as the process reports them when it stops. */
export interface DelayLineDirectionStats {
  readonly read: number;
  readonly accepted: number;
  readonly released: number;
  readonly dropped: number;
  readonly droppedBytes: number;
  /** Frames (and their bytes) still in their delay when the line stopped. */
  readonly queued: number;
  readonly queuedBytes: number;
  readonly maxQueued: number;
  readonly writeErrors: number;
}

/** The process's final report: why it stopped, both directions, its run time and CPU. */
export interface DelayLineReport {
  readonly stopped: string;
  /** host → link, and link → host. */
  readonly toLine: DelayLineDirectionStats;
  readonly toHost: DelayLineDirectionStats;
  readonly ranMs: number;
  readonly cpuMs: number;
}

/**
 * Why a delay line cannot run here (no /dev/net/tun, or a kernel without TUN/TAP), or undefined.
 * Opening /dev/net/tun creates nothing until TUNSETIFF, so this probe leaves no interface behind.
 */
export function delayLineMissing(): string | undefined {
  if (!existsSync(TUN_DEVICE)) return `${TUN_DEVICE} missing (kernel without CONFIG_TUN, or no device node)`;
  try {
    closeSync(openSync(TUN_DEVICE, constants.O_RDWR));
  } catch (e) {
    return `${TUN_DEVICE} cannot be opened: ${(e as Error).message}`;
  }
  return undefined;
}

interface Saved {
  readonly addrs: ReadonlyArray<{ local: string; prefixlen: number }>;
  readonly routes: ReadonlyArray<{ dst: string; gateway: string }>;
  readonly mac: string;
}

export class DelayLine {
  #stopped: Promise<DelayLineReport | undefined> | undefined;

  private constructor(
    private readonly lab: Lab,
    readonly host: string,
    readonly dev: string,
    readonly delayMs: number,
    private readonly proc: LabProcess,
    private readonly saved: Saved,
  ) {}

  /** Puts a delay line on `dev` in `host` (see the file header). On failure the link is left as it was. */
  static async start(lab: Lab, host: string, dev: string, o: DelayLineOptions = {}): Promise<DelayLine> {
    const cfg: DelayLineProcessConfig = {
      hostTap: HOST_TAP,
      lineTap: LINE_TAP,
      delayMs: o.delayMs ?? DEFAULT_DELAY_MS,
      maxFrames: o.maxFrames ?? DEFAULT_MAX_FRAMES,
      maxBytes: o.maxBytes ?? DEFAULT_MAX_BYTES,
      lifetimeMs: o.lifetimeMs ?? DEFAULT_LIFETIME_MS,
    };
    const ip = (...args: string[]): Promise<unknown> => lab.exec(host, ['ip', ...args]);
    const addrJson = JSON.parse((await lab.exec(host, ['ip', '-j', '-4', 'addr', 'show', 'dev', dev])).stdout) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
    const linkJson = JSON.parse((await lab.exec(host, ['ip', '-j', 'link', 'show', 'dev', dev])).stdout) as Array<{ address?: string }>;
    const routeJson = JSON.parse((await lab.exec(host, ['ip', '-j', '-4', 'route', 'show', 'dev', dev])).stdout) as Array<{ dst: string; gateway?: string }>;
    const saved: Saved = {
      addrs: (addrJson[0]?.addr_info ?? []).map((a) => ({ local: a.local, prefixlen: a.prefixlen })),
      routes: routeJson.filter((r): r is { dst: string; gateway: string } => r.gateway !== undefined),
      mac: linkJson[0]?.address ?? '',
    };
    if (saved.addrs.length === 0 || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(saved.mac)) throw new Error(`delay line: ${host}/${dev} has no IPv4 address or MAC`);
    const proc = lab.spawn(host, [process.execPath, PROCESS_JS, JSON.stringify(cfg)]);
    const line = new DelayLine(lab, host, dev, cfg.delayMs, proc, saved);
    try {
      await waitUntil('delay line TAPs', () => {
        if (!proc.running) throw new Error(`delay line process exited ${JSON.stringify(proc.exitStatus)}: ${proc.stderr.trim()}`);
        return proc.stdout.includes('"ready":true');
      }, START_WAIT_MS, 20);
      await ip('link', 'add', BRIDGE, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
      // The host TAP answers for the host from now on: it takes DEV's MAC, DEV (now a bridge port) a new one.
      await ip('link', 'set', 'dev', dev, 'address', locallyAdministered(saved.mac));
      await ip('link', 'set', 'dev', HOST_TAP, 'address', saved.mac);
      for (const ifname of [dev, LINE_TAP]) await ip('link', 'set', 'dev', ifname, 'master', BRIDGE);
      for (const ifname of [BRIDGE, LINE_TAP, HOST_TAP]) await ip('link', 'set', 'dev', ifname, 'up');
      for (const a of saved.addrs) {
        await ip('addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', dev);
        await ip('addr', 'add', `${a.local}/${a.prefixlen}`, 'dev', HOST_TAP);
      }
      for (const r of saved.routes) await ip('route', 'replace', r.dst, 'via', r.gateway, 'dev', HOST_TAP);
    } catch (e) {
      await line.stop();
      throw e;
    }
    return line;
  }

  /** True while the delay process runs. */
  get running(): boolean {
    return this.proc.running && this.#stopped === undefined;
  }

  /**
   * Ends the process and puts the link back as it was. Returns the process's report (undefined when
   * it had already ended without one). Idempotent.
   */
  stop(): Promise<DelayLineReport | undefined> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<DelayLineReport | undefined> {
    await this.proc.kill('SIGTERM');
    await this.proc.wait(STOP_WAIT_MS);
    const x = (...args: string[]): Promise<unknown> => this.lab.exec(this.host, ['ip', ...args], { check: false });
    await x('link', 'del', BRIDGE);
    await x('link', 'set', 'dev', this.dev, 'address', this.saved.mac);
    for (const a of this.saved.addrs) await x('addr', 'replace', `${a.local}/${a.prefixlen}`, 'dev', this.dev);
    for (const r of this.saved.routes) await x('route', 'replace', r.dst, 'via', r.gateway, 'dev', this.dev);
    const last = this.proc.stdout.trim().split('\n').at(-1) ?? '';
    try {
      const report = JSON.parse(last) as Partial<DelayLineReport>;
      return typeof report.stopped === 'string' ? (report as DelayLineReport) : undefined;
    } catch {
      return undefined;
    }
  }
}

/** A unicast MAC that differs from `mac`: the locally-administered bit set and the last byte flipped. */
function locallyAdministered(mac: string): string {
  const bytes = mac.split(':').map((h) => parseInt(h, 16));
  bytes[0] = (bytes[0]! | 0x02) & 0xfe;
  bytes[5] = bytes[5]! ^ 0x01;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
