/**
 * Issue 3 acceptance: `talkgate talk` against the real Debian talk programs and daemons, in a
 * threeHosts lab (prefix tgc): in = alice, out = bob. Each case picks its daemons and clients.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { labSkip } from './prereq.js';
import { threeHosts, IN_ADDR, OUT_ADDR } from './topologies.js';
import { checkHalves, respondWithOf, RESPOND_RE } from './talk-call.js';
import { TalkdControl } from './talkd-control.js';
import { INETUTILS_TALK, NETKIT_TALK, talkgateArgv } from './peers.js';
import { sleep } from './proc.js';
import type { Lab } from './lab.js';
import type { Terminal } from './terminal.js';
import { CTL_GIVE_UP_MS } from '../../src/client/client-constants.js';

const skip = labSkip();
const TALKGATE = talkgateArgv('talk').join(' ');
const T = 15_000;
const UTF8_ENV = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };

describe('talkgate talk against real peers', { skip, timeout: 300_000 }, () => {
  let lab: Lab;
  let daemons: TalkdControl;
  let alice: Terminal;
  let bob: Terminal;

  before(async () => {
    lab = await threeHosts('tgc');
    daemons = new TalkdControl(lab);
    alice = await lab.login('in', 'alice', { env: UTF8_ENV });
    bob = await lab.login('out', 'bob', { env: UTF8_ENV });
    await daemons.use('in', { kind: 'netkit' });
    await daemons.use('out', { kind: 'netkit' });
  });
  after(async () => {
    await lab?.destroy();
  });

  /** Caller runs `callerCmd target`, the callee answers with the announced command, lines are exchanged. */
  async function call(callerCmd: string, calleeCmd: string, lines?: { a: string; b: string }): Promise<{ caller: string; callee: string }> {
    const tag = Math.floor(Math.random() * 1e6).toString(36);
    const a = lines?.a ?? `from-alice-${tag} hello`;
    const b = lines?.b ?? `from-bob-${tag} hi there`;
    try {
      await connect(callerCmd, calleeCmd);
      await alice.type(a);
      await bob.type(b);
      await bob.waitFor(new RegExp(escapeRe(a)), T);
      await alice.waitFor(new RegExp(escapeRe(b)), T);
      await sleep(200);
      const caller = await alice.screen();
      const callee = await bob.screen();
      checkHalves(caller, a, b, 'caller');
      checkHalves(callee, b, a, 'callee');
      return { caller, callee };
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- alice ---\n${await alice.screen()}\n--- bob ---\n${await bob.screen()}`);
    } finally {
      await hangUp();
    }
  }

  /**
   * Clears both screens, alice runs `callerCmd bob@out`, bob answers with the command his daemon
   * announced; resolves when alice (and, unless `calleeEstablished` is false, bob) is connected.
   */
  async function connect(callerCmd: string, calleeCmd: string, calleeEstablished = true): Promise<void> {
    await alice.clear();
    await bob.clear();
    await alice.type(`${callerCmd} bob@${OUT_ADDR}`);
    await bob.type(`${calleeCmd} ${respondWithOf(await bob.waitFor(RESPOND_RE, T))}`);
    await alice.waitFor(/Connection established/, T);
    if (calleeEstablished) await bob.waitFor(/Connection established/, T);
  }

  async function hangUp(): Promise<void> {
    await alice.key('C-c');
    await bob.waitFor(/Connection clos|\$ *$/m, 5_000).catch(() => undefined);
    await bob.key('C-c');
    assert.ok(await alice.backToPrompt(), `alice has no prompt:\n${await alice.screen()}`);
    assert.ok(await bob.backToPrompt(), `bob has no prompt:\n${await bob.screen()}`);
  }

  test('talkgate talk calls a netkit talk user through netkit talkd', async () => {
    await call(TALKGATE, NETKIT_TALK);
  });

  test('talkgate talk is called by a netkit talk user', async () => {
    await call(NETKIT_TALK, TALKGATE);
  });

  test('talkgate talk with the inetutils talk client as the peer, both directions', async () => {
    await call(TALKGATE, INETUTILS_TALK);
    await call(INETUTILS_TALK, TALKGATE);
  });

  test('talkgate talk through talkgate talkd on both hosts', async () => {
    await daemons.use('out', { kind: 'talkgate', mode: 'standalone' });
    await daemons.use('in', { kind: 'talkgate', mode: 'standalone' });
    try {
      await call(TALKGATE, NETKIT_TALK);
      await call(NETKIT_TALK, TALKGATE);
    } finally {
      await daemons.use('in', { kind: 'netkit' });
      await daemons.use('out', { kind: 'netkit' });
    }
  });

  test('two talkgate clients exchange UTF-8 lines with accents, CJK and emoji', async () => {
    const { caller, callee } = await call(TALKGATE, TALKGATE, { a: 'Grüße aus Zürich 漢字かな 😀 ok', b: 'réponse déjà vue 中文 🎉 fin' });
    assert.match(caller, /réponse déjà vue 中文 🎉 fin/);
    assert.match(callee, /Grüße aus Zürich 漢字かな 😀 ok/);
  });

  test('a peer sending ESC ] 0;pwned BEL, ESC [2J and a C1 CSI gets them shown visibly, never emitted', async () => {
    try {
      // The peer is a talkgate client, which sends typed bytes raw (netkit's curses eats a typed ESC).
      await connect(TALKGATE, TALKGATE);
      const mark = alice.mark();
      // ESC ] 0 ; pwned BEL, ESC [ 2 J, C1 CSI (0x9b, invalid UTF-8 → Latin-1 fallback), "31m", LF
      await bob.tmux('send-keys', '-t', 'bob', '-H', ...hex('\x1b]0;pwned\x07 \x1b[2J \x9b31mevil\n'));
      const screen = await alice.waitFor(/\^\[\]0;pwned/, T);
      assert.match(screen, /\^\[\]0;pwned \^\[\[2J \\x9b31mevil/);
      const raw = alice.typescriptBytes(mark);
      assert.equal(raw.indexOf(Buffer.from('\x1b]0;pwned')), -1, 'raw OSC reached the terminal');
      assert.equal(raw.indexOf(Buffer.from('\x1b[2J')), -1, 'raw ED reached the terminal');
      assert.equal(raw.indexOf(Buffer.from([0x9b])) === -1 || !raw.includes(Buffer.from([0x9b, 0x33, 0x31])), true, 'raw C1 CSI reached the terminal');
      const title = await alice.tmux('display-message', '-p', '-t', 'alice', '#{pane_title}');
      assert.doesNotMatch(title, /pwned/);
    } finally {
      await hangUp();
    }
  });

  test('terminal resize during a call keeps both halves right', async () => {
    try {
      await connect(TALKGATE, NETKIT_TALK, false);
      await alice.type('alice before resize');
      await bob.type('bob before resize');
      await alice.waitFor(/bob before resize/, T);
      await alice.tmux('resize-window', '-t', 'alice', '-x', '60', '-y', '16');
      await sleep(300);
      await alice.type('alice after resize');
      await bob.type('bob after resize');
      await alice.waitFor(/bob after resize/, T);
      await sleep(200);
      const s = await alice.screen();
      const lines = s.split('\n');
      assert.ok(lines.length <= 17, `rows after resize: ${lines.length}`);
      const rule = lines.findIndex((l) => /^-{60}$/.test(l));
      assert.ok(rule > 0, `no 60-column rule:\n${s}`);
      const above = lines.slice(0, rule).join('\n');
      const below = lines.slice(rule + 1).join('\n');
      for (const t of ['alice before resize', 'alice after resize']) assert.ok(above.includes(t) && !below.includes(t), s);
      for (const t of ['bob before resize', 'bob after resize']) assert.ok(below.includes(t) && !above.includes(t), s);
    } finally {
      await alice.tmux('resize-window', '-t', 'alice', '-x', '80', '-y', '24').catch(() => '');
      await hangUp();
    }
  });

  test("the callee's daemon drops every reply: the client gives up within its bound and restores the terminal", async () => {
    await lab.nft('out', [
      'table inet tgc_drop {',
      '  chain out {',
      '    type filter hook output priority 0; policy accept;',
      '    udp sport { 517, 518 } drop',
      '  }',
      '}',
    ].join('\n') + '\n');
    try {
      await alice.clear();
      const mark = alice.mark();
      const t0 = Date.now();
      await alice.type(`${TALKGATE} bob@${OUT_ADDR}`);
      await alice.waitForOutput(/No answer from your party's talk daemon/, mark, CTL_GIVE_UP_MS + 10_000);
      const elapsed = Date.now() - t0;
      assert.ok(await alice.backToPrompt(), `no prompt:\n${await alice.screen()}`);
      assert.ok(elapsed < CTL_GIVE_UP_MS + 5_000, `gave up after ${elapsed} ms`);
      const raw = alice.typescript(mark);
      assert.ok(raw.includes('\x1b[?1049l'), 'alternate screen was not left');
      const stty = await lab.exec('in', ['true']); // the pane's tty mode is checked by typing a line
      assert.equal(stty.code, 0);
      await alice.type('echo cooked-$((6*7))');
      await alice.waitFor(/cooked-42/, 5_000);
      process.stderr.write(`drop test: gave up after ${elapsed} ms (bound ${CTL_GIVE_UP_MS} ms)\n`);
    } finally {
      await lab.exec('out', ['nft', 'delete', 'table', 'inet', 'tgc_drop'], { check: false });
    }
  });

  /** One command a bash prompt runs that prints whether the tty was left raw (-icanon / -echo) or cooked. */
  const TTY_MODE_CMD = 'stty -a | grep -qw -e -icanon -e -echo && echo TTY-$((1+1))-RAW || echo TTY-$((1+1))-COOKED';

  async function assertRestored(t: Terminal, mark: number, who: string): Promise<void> {
    assert.ok(await t.backToPrompt(), `${who} has no prompt:\n${await t.screen()}`);
    assert.ok(t.typescript(mark).includes('\x1b[?1049l'), `${who}: the alternate screen was not left`);
    await t.type(TTY_MODE_CMD);
    const s = await t.waitFor(/TTY-2-(RAW|COOKED)/, 5_000);
    assert.match(s, /TTY-2-COOKED/, `${who}: the tty was left in raw/no-echo mode`);
  }

  test('^L redraws a garbled screen; ^C ends the call and restores the terminal; the peer hang-up restores the other side', async () => {
    try {
      await connect(TALKGATE, TALKGATE);
      await alice.type('alice line one');
      await bob.type('bob line one');
      await alice.waitFor(/bob line one/, T);
      // Something else writes over alice's screen (as `write` or a daemon would).
      const tty = (await alice.tmux('display-message', '-p', '-t', 'alice', '#{pane_tty}')).trim();
      assert.match(tty, /^\/dev\/pts\/\d+$/);
      await lab.exec('in', ['sh', '-c', `printf '\\033[3;1HGARBAGE-ON-ROW-3\\033[20;1HGARBAGE-ON-ROW-20' > ${tty}`]);
      await alice.waitFor(/GARBAGE-ON-ROW-20/, 5_000);
      await alice.key('C-l');
      await waitUntilScreen(alice, (s) => !s.includes('GARBAGE-ON-ROW'), 5_000);
      checkHalves(await alice.screen(), 'alice line one', 'bob line one', 'after ^L');

      const aliceMark = alice.mark();
      const bobMark = bob.mark();
      await alice.key('C-c');
      await assertRestored(alice, aliceMark, 'alice (^C)');
      // bob presses nothing: the peer's hang-up alone ends his client.
      await bob.waitForOutput(/Connection closing/, bobMark, 5_000);
      await assertRestored(bob, bobMark, 'bob (peer hang-up)');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- alice ---\n${await alice.screen()}\n--- bob ---\n${await bob.screen()}`);
    } finally {
      await hangUp().catch(() => undefined);
    }
  });

  test('after a hang-up both halves stay readable on the normal screen of both sides; --no-keep leaves neither', async () => {
    const exchange = async (a: string, b: string): Promise<void> => {
      await alice.type(a);
      await bob.type(b);
      await alice.waitFor(new RegExp(escapeRe(b)), T);
      await bob.waitFor(new RegExp(escapeRe(a)), T);
      const bobMark = bob.mark();
      await alice.key('C-c'); // alice hangs up; bob's client ends on the peer's hang-up
      assert.ok(await alice.backToPrompt(), `alice has no prompt:\n${await alice.screen()}`);
      await bob.waitForOutput(/Connection closing/, bobMark, 5_000);
      assert.ok(await bob.backToPrompt(), `bob has no prompt:\n${await bob.screen()}`);
    };
    try {
      await connect(TALKGATE, TALKGATE);
      await exchange('alice keeps this line', 'bob keeps this line');
      // Back at the shell prompt (the alternate screen is gone), the conversation is still there.
      checkHalves(await alice.screen(), 'alice keeps this line', 'bob keeps this line', 'alice after her ^C');
      checkHalves(await bob.screen(), 'bob keeps this line', 'alice keeps this line', 'bob after the peer hung up');

      await connect(`${TALKGATE} --no-keep`, `${TALKGATE} --no-keep`);
      await exchange('alice forgets this', 'bob forgets this');
      for (const [who, t] of [['alice', alice], ['bob', bob]] as const) {
        const s = await t.screen();
        assert.doesNotMatch(s, /forgets this/, `${who} kept the conversation despite --no-keep:\n${s}`);
        assert.match(s, /Connection closing/, `${who}: the closing message is still printed:\n${s}`);
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- alice ---\n${await alice.screen()}\n--- bob ---\n${await bob.screen()}`);
    } finally {
      await hangUp().catch(() => undefined);
    }
  });

  /**
   * The callee's daemon answers on udp/517 (otalk) only: first it silently drops udp/518 from the
   * caller (the client gets no ntalk answer and probes otalk), then it does not serve ntalk at all
   * (ICMP port unreachable: the client switches at once). Both calls connect through otalk.
   */
  test("otalk fallback: the callee's daemon answers on 517 but not on 518 (silent, then closed)", async () => {
    const otalkAnnounces = (): string[] =>
      daemons
        .log('out')
        .split('\n')
        .filter((l) => l.includes('"msg":"request"') && l.includes('"flavour":"otalk"') && l.includes('"type":"ANNOUNCE"'));
    try {
      await daemons.use('out', { kind: 'talkgate', mode: 'standalone' });
      await lab.nft('out', [
        'table inet tgc_no518 {',
        '  chain in {',
        '    type filter hook input priority 0; policy accept;',
        `    ip saddr ${IN_ADDR} udp dport 518 drop`,
        '  }',
        '}',
      ].join('\n') + '\n');
      await call(TALKGATE, NETKIT_TALK);
      assert.ok(otalkAnnounces().length > 0, `no otalk ANNOUNCE in the daemon log:\n${daemons.log('out')}`);
      await lab.exec('out', ['nft', 'delete', 'table', 'inet', 'tgc_no518'], { check: false });

      await daemons.use('out', { kind: 'talkgate', mode: 'standalone', args: ['--no-ntalk'] });
      await call(TALKGATE, NETKIT_TALK);
      assert.ok(otalkAnnounces().length > 0, `no otalk ANNOUNCE (--no-ntalk):\n${daemons.log('out')}`);
    } finally {
      await lab.exec('out', ['nft', 'delete', 'table', 'inet', 'tgc_no518'], { check: false });
      await daemons.use('out', { kind: 'netkit' });
    }
  });

  void IN_ADDR;
});

async function waitUntilScreen(t: Terminal, pred: (screen: string) => boolean, timeoutMs: number): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await t.screen();
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`screen condition not met in ${timeoutMs} ms:\n${s}`);
    await sleep(50);
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function hex(s: string): string[] {
  return [...Buffer.from(s, 'latin1')].map((b) => b.toString(16).padStart(2, '0'));
}
