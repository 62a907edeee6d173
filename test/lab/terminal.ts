/**
 * A user logged in on a lab host: a tmux server run as the user inside the host (so utempter writes
 * the utmp record into the host's /run/utmp), driven by root from outside through its socket.
 * The typescript (tmux pipe-pane) keeps what the alternate screen hides (lab README pitfall 9).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run, sleep, waitUntil } from './proc.js';

const TMUX = '/usr/bin/tmux';

export interface LoginOptions {
  readonly cols?: number;
  readonly rows?: number;
  /** Extra environment for the user's shell. */
  readonly env?: Readonly<Record<string, string>>;
}

/** What Terminal needs from the lab (kept minimal to avoid an import cycle). */
export interface TerminalHost {
  enterArgv(host: string, user?: string): string[];
  hostname(host: string): string;
  exec(host: string, argv: readonly string[], opts?: { check?: boolean }): Promise<{ code: number; stdout: string; stderr: string }>;
  log(msg: string): void;
}

export class Terminal {
  readonly socket: string;
  readonly typescriptPath: string;
  /** The pane's tty, e.g. /dev/pts/0 (inside the host's devpts instance). */
  tty = '';
  readonly cols: number;
  readonly rows: number;

  constructor(
    private readonly lab: TerminalHost,
    readonly host: string,
    readonly user: string,
    readonly dir: string,
    private readonly opts: LoginOptions,
  ) {
    this.socket = join(dir, 'sock');
    this.typescriptPath = join(dir, `${user}.typescript`);
    this.cols = opts.cols ?? 80;
    this.rows = opts.rows ?? 24;
  }

  /** `user@hostname:~$ ` at the end of a screen line. */
  get promptRe(): RegExp {
    return new RegExp(`^${this.user}@${this.lab.hostname(this.host)}:~\\$ *$`, 'm');
  }

  async start(home: string): Promise<void> {
    const env = [
      `HOME=${home}`,
      `USER=${this.user}`,
      `LOGNAME=${this.user}`,
      'SHELL=/bin/bash',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      'TERM=xterm',
      'LANG=C.UTF-8',
    ];
    const shellEnv = Object.entries(this.opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    // Separate arguments: tmux execs them directly (a `bash -c` in between would unset PS1).
    await run([
      ...this.lab.enterArgv(this.host, this.user),
      'env', '-i', ...env,
      TMUX, '-S', this.socket, 'new-session', '-d', '-s', this.user, '-x', String(this.cols), '-y', String(this.rows), '-c', home,
      'env', 'PS1=\\u@\\h:\\w\\$ ', ...shellEnv, 'bash', '--norc', '--noprofile', '-i',
    ]);
    await this.tmux('pipe-pane', '-t', this.user, '-o', `cat >> '${this.typescriptPath}'`);
    await this.waitFor(this.promptRe, 10_000);
    this.tty = (await this.tmux('display', '-p', '-t', this.user, '#{pane_tty}')).trim();
    const who = (await this.lab.exec(this.host, ['who'])).stdout;
    if (!new RegExp(`^${this.user}\\s.*${this.tty.replace('/dev/', '')}\\b`, 'm').test(who)) {
      throw new Error(`${this.user} is not in the utmp of ${this.host} after login:\n${who}`);
    }
    this.lab.log(`${this.user} logged in on ${this.host} ${this.tty}`);
  }

  /** Runs a tmux command against this user's server and returns stdout. */
  async tmux(...args: string[]): Promise<string> {
    return (await run([TMUX, '-S', this.socket, ...args])).stdout;
  }

  /** Types literal text, then Enter unless enter=false. */
  async type(text: string, enter = true): Promise<void> {
    if (text.length) await this.tmux('send-keys', '-t', this.user, '-l', '--', text);
    if (enter) await this.tmux('send-keys', '-t', this.user, 'Enter');
  }

  /** Sends tmux key names: 'Enter', 'C-c', 'Escape', ... */
  async key(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', this.user, ...keys);
  }

  /** The visible screen (the alternate screen while a curses client runs). */
  async screen(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-t', this.user);
  }

  /** Raw bytes the pane printed since login (from `fromOffset`). */
  typescriptBytes(fromOffset = 0): Buffer {
    try {
      return readFileSync(this.typescriptPath).subarray(fromOffset);
    } catch {
      return Buffer.alloc(0);
    }
  }

  /** The typescript as text (latin1, NULs removed) from `fromOffset`. */
  typescript(fromOffset = 0): string {
    return this.typescriptBytes(fromOffset).toString('latin1').replace(/\0/g, '');
  }

  /** Current length of the typescript: pass it to waitForOutput/typescript to look only at what follows. */
  mark(): number {
    try {
      return statSync(this.typescriptPath).size;
    } catch {
      return 0;
    }
  }

  /** Waits until the screen matches; returns the screen. */
  async waitFor(re: RegExp, timeoutMs = 15_000): Promise<string> {
    return waitUntil(`${this.user}@${this.host} screen /${re.source}/`, async () => {
      const s = await this.screen();
      return re.test(s) ? s : undefined;
    }, timeoutMs, 30).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- screen of ${this.user}@${this.host} ---\n${await this.screen().catch(() => '?')}`);
    });
  }

  /** Waits until the typescript after `fromOffset` matches; returns that text. */
  async waitForOutput(re: RegExp, fromOffset: number, timeoutMs = 15_000): Promise<string> {
    return waitUntil(`${this.user}@${this.host} output /${re.source}/`, () => {
      const t = this.typescript(fromOffset);
      return re.test(t) ? t : undefined;
    }, timeoutMs, 50);
  }

  /** True when the shell prompt is the last non-empty line of the screen. */
  async atPrompt(): Promise<boolean> {
    const lines = (await this.screen()).split('\n').filter((l) => l.trim() !== '');
    const last = lines[lines.length - 1] ?? '';
    return this.promptRe.test(last);
  }

  /**
   * Brings the pane back to a shell prompt: Enter (netkit's "Press any key"), then ^C, bounded.
   * Returns whether the prompt came back.
   */
  async backToPrompt(): Promise<boolean> {
    const rounds: Array<[string[], number]> = [[[], 4], [['Enter'], 20], [['C-c'], 20], [['C-c'], 20], [['Enter'], 20]];
    for (const [k, polls] of rounds) {
      if (k.length) await this.key(...k);
      for (let i = 0; i < polls; i++) {
        if (await this.atPrompt()) return true;
        await sleep(50);
      }
    }
    return false;
  }

  /** Clears the screen from the shell (only at a prompt). */
  async clear(): Promise<void> {
    await this.type('clear');
    await sleep(100);
    await this.tmux('clear-history', '-t', this.user);
  }

  /**
   * mesg y|n on this terminal's tty (what mesg(1) does: toggle group write), done by root in the
   * host so it does not depend on what runs in the pane.
   */
  async mesg(state: 'y' | 'n'): Promise<void> {
    await this.lab.exec(this.host, ['chmod', state === 'y' ? 'g+w' : 'g-w', this.tty]);
  }
}
