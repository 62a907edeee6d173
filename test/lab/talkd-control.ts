/**
 * Puts a given talk daemon on a lab host: netkit or inetutils talkd under inetd, or talkgate talkd
 * under inetd (`--inetd`) or standalone. Replacing a daemon first ends the previous one and every
 * talkd child inetd left behind (they keep the udp socket for up to 120 s).
 */
import type { Lab, LabProcess } from './lab.js';
import { INETD, talkdInetdLines, talkgateArgv, type TalkdKind } from './peers.js';
import { waitUntil } from './proc.js';
import { NTALK_PORT, OTALK_PORT } from '../../src/protocol/constants.js';

export type DaemonMode = 'inetd' | 'standalone';

export interface DaemonChoice {
  readonly kind: TalkdKind;
  /** Only for talkgate: 'standalone' (default) or 'inetd'. The reference daemons always run under inetd. */
  readonly mode?: DaemonMode;
  /** Extra talkgate talkd arguments. */
  readonly args?: readonly string[];
}

const DAEMON_RE = /(^|\/)(inetd|in\.ntalkd|in\.talkd|talkd)$/;

function isTalkDaemon(argv: readonly string[]): boolean {
  const [a0 = '', a1 = '', a2 = ''] = argv;
  if (DAEMON_RE.test(a0)) return true;
  // talkgate talkd: node .../bin/talkgate.js talkd ... (argv[0] may be rewritten by inetd to "talkgate")
  return (a1.endsWith('talkgate.js') && a2 === 'talkd') || (a0 === 'talkgate' && argv.includes('talkd'));
}

export class TalkdControl {
  private readonly current = new Map<string, { choice: DaemonChoice; proc?: LabProcess }>();

  constructor(private readonly lab: Lab) {}

  /** The daemon currently configured on `host`. */
  kind(host: string): DaemonChoice | undefined {
    return this.current.get(host)?.choice;
  }

  /** The standalone talkgate process on `host` (for its log), if any. */
  process(host: string): LabProcess | undefined {
    return this.current.get(host)?.proc;
  }

  async stop(host: string): Promise<void> {
    await this.lab.killWhere(host, isTalkDaemon);
    await waitUntil(`udp/517+518 free on ${host}`, async () => {
      const r = await this.lab.exec(host, ['ss', '-H', '-uln'], { check: false });
      return !new RegExp(`:(${OTALK_PORT}|${NTALK_PORT})\\s`).test(r.stdout);
    }, 5_000, 50);
    this.current.delete(host);
  }

  /** Replaces the daemon on `host`; resolves when udp/518 (and 517 where served) listen. */
  async use(host: string, choice: DaemonChoice): Promise<void> {
    await this.stop(host);
    if (choice.kind === 'none') {
      this.current.set(host, { choice });
      return;
    }
    const args = choice.args ?? [];
    if (choice.kind === 'talkgate' && (choice.mode ?? 'standalone') === 'standalone') {
      const proc = this.lab.spawn(host, talkgateArgv('talkd', ...args));
      if (!args.includes('--no-ntalk')) await this.lab.waitUdpListen(host, NTALK_PORT, proc);
      if (!args.includes('--no-otalk')) await this.lab.waitUdpListen(host, OTALK_PORT, proc);
      this.current.set(host, { choice, proc });
      return;
    }
    const proc = await this.lab.startInetd(host, talkdInetdLines(choice.kind, args), 'inetd');
    if (!proc.argv.includes(INETD)) throw new Error('inetd did not start');
    this.current.set(host, { choice, proc });
  }

  /** Output of the standalone daemon (stdout + stderr) for diagnostics. */
  log(host: string): string {
    const p = this.process(host);
    return p ? `${p.stdout}${p.stderr}` : '';
  }
}
