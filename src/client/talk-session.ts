/**
 * Adapter that runs one talk call: wires the pure CallMachine and ScreenModel to the UDP control
 * sockets, the TCP data connection, timers and the terminal. Resolves with the exit code once the
 * call is over and the terminal is restored (on every path: end, ^C, hang-up, error, signal).
 */
import { lookup } from 'node:dns/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import type { ReadStream, WriteStream } from 'node:tty';
import { CallMachine, type CallEffect, type CallEvent, type Endpoint, type TimerName } from './call-machine.js';
import { ControlChannels } from './io/control-channels.js';
import { Terminal } from './io/terminal.js';
import { ScreenModel } from './screen/screen-model.js';
import { encodeEditChars } from './screen/edit-chars.js';
import { renderTranscript } from './screen/transcript.js';
import { parseTalkTarget } from './talk-target.js';
import { BELL_MIN_INTERVAL_MS, CONNECT_TIMEOUT_MS, UTF8_FLUSH_MS } from './client-constants.js';
import { Status } from './call-messages.js';

export interface TalkOptions {
  readonly target: string;
  readonly tty: string;
  /** ntalk port of the callee's daemon (and of ours unless localPort is given). */
  readonly port: number;
  /** otalk port of the callee's daemon; null = never try otalk. */
  readonly otalkPort: number | null;
  readonly localPort: number;
  /** Our login name (default: the current user). */
  readonly user?: string;
  /**
   * Print the last screenful of both halves on the normal screen after the call (default true;
   * `--no-keep` turns it off).
   */
  readonly keep?: boolean;
}

const ETX = 0x03; // ^C: quit
const FF = 0x0c; // ^L: redraw
const CR = 0x0d;
const LF = 0x0a;

export async function runTalk(opts: TalkOptions, input: ReadStream, output: WriteStream): Promise<number> {
  const target = parseTalkTarget(opts.target);
  if ('error' in target) {
    process.stderr.write(`talkgate talk: ${target.error}\n`);
    return 2;
  }
  if (!input.isTTY || !output.isTTY) {
    process.stderr.write('talkgate talk: standard input and output must be a terminal\n');
    return 2;
  }
  let remoteAddress = '127.0.0.1';
  if (target.host !== undefined) {
    try {
      remoteAddress = (await lookup(target.host, { family: 4 })).address;
    } catch {
      process.stderr.write(`talkgate talk: ${visible(target.host)}: unknown host\n`);
      return 2;
    }
  }
  const localName = opts.user ?? userInfo().username;
  const localDaemon: Endpoint = { address: '127.0.0.1', port: opts.localPort };
  const remoteDaemon: Endpoint = { address: remoteAddress, port: opts.port };

  const term = new Terminal(input, output);
  const model = new ScreenModel({ ...term.size, ownEditChars: term.editChars(), ruleChar: '-' });

  return new Promise<number>((resolve) => {
    const timers = new Map<TimerName, NodeJS.Timeout>();
    let server: Server | null = null;
    let data: Socket | null = null;
    let channels: ControlChannels | null = null;
    let finished = false;
    let drawPending = false;
    let lastBell = 0;
    let flushTimer: NodeJS.Timeout | null = null;
    let machine: CallMachine | null = null;

    const draw = (full = false): void => {
      if (full) {
        term.draw(model.frame(), true);
        return;
      }
      if (drawPending) return;
      drawPending = true;
      setImmediate(() => {
        drawPending = false;
        term.draw(model.frame());
      });
    };
    const bell = (): void => {
      const now = Date.now();
      if (now - lastBell >= BELL_MIN_INTERVAL_MS) {
        lastBell = now;
        term.bell();
      }
    };

    const onSignal = (): void => finish(0, Status.closing);
    const onCrash = (err: unknown): void => {
      term.restore();
      process.stderr.write(`talkgate talk: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(70);
    };
    const onExit = (): void => term.restore();
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of signals) process.on(s, onSignal);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    process.on('exit', onExit);

    function finish(code: number, message: string): void {
      if (finished) return;
      finished = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      if (flushTimer !== null) clearTimeout(flushTimer);
      server?.close();
      data?.destroy();
      // Let fire-and-forget DELETEs leave before the sockets close.
      const ch = channels;
      setTimeout(() => ch?.close(), 50);
      term.restore();
      for (const s of signals) process.off(s, onSignal);
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
      process.off('exit', onExit);
      if (opts.keep ?? true) {
        model.peer.flush();
        const kept = renderTranscript(model);
        if (kept.length > 0) output.write(`${kept.join('\n')}\n`);
      }
      (code === 0 ? process.stdout : process.stderr).write(`${message}\n`);
      resolve(code);
    }

    function dispatch(ev: CallEvent): void {
      if (machine === null || finished) return;
      for (const fx of machine.handle(ev)) effect(fx);
    }

    function effect(fx: CallEffect): void {
      switch (fx.kind) {
        case 'send':
          channels?.send(fx.channel, fx.protocol, fx.msg, fx.version);
          return;
        case 'start-timer': {
          const old = timers.get(fx.timer);
          if (old !== undefined) clearTimeout(old);
          timers.set(
            fx.timer,
            setTimeout(() => {
              timers.delete(fx.timer);
              dispatch({ kind: 'timer', timer: fx.timer });
            }, fx.ms),
          );
          return;
        }
        case 'cancel-timer': {
          const t = timers.get(fx.timer);
          if (t !== undefined) clearTimeout(t);
          timers.delete(fx.timer);
          return;
        }
        case 'listen':
          listen();
          return;
        case 'connect':
          dial(fx.addr.address, fx.addr.port);
          return;
        case 'status':
          model.setStatus(fx.text);
          draw();
          return;
        case 'established':
          return;
        case 'end':
          finish(fx.ok ? 0 : 1, fx.message);
          return;
      }
    }

    function listen(): void {
      const ip = channels?.ctlAddrs().remote.address ?? '127.0.0.1';
      const srv = createServer({ pauseOnConnect: false });
      server = srv;
      srv.maxConnections = 1;
      srv.on('error', (err) => finish(1, `[Cannot listen for your party: ${err.message}]`));
      srv.on('connection', (sock) => {
        if (data !== null) {
          sock.destroy();
          return;
        }
        srv.close();
        startData(sock);
        dispatch({ kind: 'accepted' });
      });
      srv.listen(0, ip, () => {
        const a = srv.address();
        if (a !== null && typeof a === 'object') dispatch({ kind: 'listening', addr: { address: a.address, port: a.port } });
      });
    }

    function dial(address: string, port: number): void {
      const sock = connect({ host: address, port, timeout: CONNECT_TIMEOUT_MS });
      let settled = false;
      sock.once('connect', () => {
        settled = true;
        sock.setTimeout(0);
        startData(sock);
        dispatch({ kind: 'connected' });
      });
      sock.once('timeout', () => {
        if (settled) return;
        settled = true;
        sock.destroy();
        dispatch({ kind: 'connect-failed', refused: false, reason: 'timed out' });
      });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        dispatch({ kind: 'connect-failed', refused: err.code === 'ECONNREFUSED', reason: err.code ?? err.message });
      });
    }

    function startData(sock: Socket): void {
      data = sock;
      sock.setNoDelay(true);
      const own = model.own.editChars;
      if (own !== null) sock.write(encodeEditChars(own));
      sock.on('data', (chunk: Buffer) => {
        if (model.peerBytes(chunk)) bell();
        if (flushTimer !== null) clearTimeout(flushTimer);
        flushTimer = model.peer.hasPending
          ? setTimeout(() => {
              flushTimer = null;
              if (model.peer.flush().bell) bell();
              draw();
            }, UTF8_FLUSH_MS)
          : null;
        draw();
      });
      sock.on('end', () => finish(0, Status.closing));
      sock.on('close', () => finish(0, Status.closing));
      sock.on('error', (err) => finish(1, `[Connection lost: ${err.message}]`));
    }

    term.enter();
    term.onResize(() => {
      model.resize(term.size.rows, term.size.cols);
      draw(true);
    });
    term.onKeys((keys) => {
      if (keys.includes(ETX)) {
        if (machine === null) {
          finish(1, '[Call abandoned]');
          return;
        }
        if (machine?.state === 'established') finish(0, Status.closing);
        else dispatch({ kind: 'quit' });
        return;
      }
      if (keys.includes(FF)) draw(true);
      const out = Buffer.from(keys.filter((b) => b !== FF).map((b) => (b === CR ? LF : b)));
      if (out.length === 0 || data === null || machine?.state !== 'established') return;
      data.write(out);
      if (model.ownBytes(out)) bell();
      draw();
    });
    draw(true);

    ControlChannels.open(localDaemon, remoteDaemon, opts.otalkPort, (ev) => dispatch(ev))
      .then((ch) => {
        channels = ch;
        if (finished) {
          ch.close();
          return;
        }
        machine = new CallMachine({
          localName,
          remoteName: target.user,
          remoteTty: opts.tty,
          pid: process.pid,
          localDaemon,
          remoteDaemon,
          remoteOtalkPort: opts.otalkPort,
          ctlAddr: ch.ctlAddrs(),
        });
        dispatch({ kind: 'start' });
      })
      .catch((err: unknown) => finish(1, `[Cannot reach the talk daemons: ${err instanceof Error ? err.message : String(err)}]`));
  });
}

function visible(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}
