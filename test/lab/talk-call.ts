/**
 * A scripted talk call between two logged-in lab users (the recipe of talk-lab.sh `call`):
 * the caller runs a real talk client, the callee waits for the announcement, answers with exactly
 * the command the announcement printed, both exchange two lines, each screen is checked for its own
 * text above the rule and the peer's below, then both hang up and must get their prompt back.
 */
import { type Terminal } from './terminal.js';
import { sleep } from './proc.js';
import { clientBinary, NETKIT_TALK, type TalkClientKind } from './peers.js';

export interface CallOptions {
  readonly caller: Terminal;
  readonly callee: Terminal;
  /** What the caller types after the client binary, e.g. 'bob@198.51.100.2'. */
  readonly target: string;
  readonly callerClient?: TalkClientKind;
  readonly calleeClient?: TalkClientKind;
  /** The callee waits this long after the announcement before answering (re-announce test). */
  readonly answerDelayMs?: number;
  /** Per screen-event bound (default 15 s). */
  readonly timeoutMs?: number;
  /** Runs after the announcement reached the callee, before the callee answers. */
  readonly beforeAnswer?: () => Promise<void>;
  /** Runs once both screens were checked, before the caller hangs up. */
  readonly beforeHangup?: () => Promise<void>;
}

export interface CallResult {
  /** ms from the caller's Enter to the announcement on the callee's screen. */
  readonly announceMs: number;
  /** ms from the callee's Enter to "Connection established" on both screens. */
  readonly connectMs: number;
  /** ms from typing the first lines to both arriving. */
  readonly textMs: number;
  /** `user@host` the announcement told the callee to answer. */
  readonly respondWith: string;
  /** The callee's typescript during the call (raw). */
  readonly calleeOutput: Buffer;
  /** The caller's typescript during the call (raw). */
  readonly callerOutput: Buffer;
}

/** The "respond with:  talk USER@HOST" line of an announcement. */
export const RESPOND_RE = /respond with: +talk +(\S+)/;

/** The USER@HOST of the last "respond with:" line on `screen`; throws when there is none. */
export function respondWithOf(screen: string): string {
  const m = [...screen.matchAll(new RegExp(RESPOND_RE.source, 'g'))].pop();
  const respondWith = (m?.[1] ?? '').replace(/\.$/, '');
  if (!respondWith) throw new Error(`no respond-with line in:\n${screen}`);
  return respondWith;
}

export async function talkCall(o: CallOptions): Promise<CallResult> {
  const timeout = o.timeoutMs ?? 15_000;
  const { caller, callee } = o;
  const tag = Math.floor(Math.random() * 1e6).toString(36);
  const a1 = `caller-line-${tag} hello`;
  const b1 = `callee-line-${tag} hi there`;
  const a2 = `second from caller ${tag}`;
  const b2 = `second from callee ${tag}`;
  const cMark = caller.mark();
  const eMark = callee.mark();
  await caller.clear();
  await callee.clear();
  try {
    const t0 = Date.now();
    await caller.type(`${clientBinary(o.callerClient ?? 'netkit')} ${o.target}`);
    const announced = await callee.waitFor(RESPOND_RE, timeout);
    const t1 = Date.now();
    const respondWith = respondWithOf(announced);
    if (o.answerDelayMs) await sleep(o.answerDelayMs);
    if (o.beforeAnswer) await o.beforeAnswer();
    const t2 = Date.now();
    await callee.type(`${clientBinary(o.calleeClient ?? 'netkit')} ${respondWith}`);
    await callee.waitFor(/Connection established/, timeout);
    await caller.waitFor(/Connection established/, timeout);
    const t3 = Date.now();
    await caller.type(a1);
    await callee.type(b1);
    await callee.waitFor(new RegExp(`caller-line-${tag}`), timeout);
    await caller.waitFor(new RegExp(`callee-line-${tag}`), timeout);
    const t4 = Date.now();
    await caller.type(a2);
    await callee.type(b2);
    await callee.waitFor(new RegExp(`second from caller ${tag}`), timeout);
    await caller.waitFor(new RegExp(`second from callee ${tag}`), timeout);
    await sleep(150);
    checkHalves(await caller.screen(), a2, b2, 'caller');
    checkHalves(await callee.screen(), b2, a2, 'callee');
    if (o.beforeHangup) await o.beforeHangup();
    // hang up: caller ^C; netkit shows "[Connection closed. ^C to exit]" on the callee, inetutils exits
    await caller.key('C-c');
    if (!(await caller.backToPrompt())) throw new Error(`caller's talk did not exit:\n${await caller.screen()}`);
    await callee.waitFor(/Connection clos|\$ *$/m, 5_000).catch(() => undefined);
    if (!(await callee.backToPrompt())) throw new Error(`callee's talk did not exit:\n${await callee.screen()}`);
    return {
      announceMs: t1 - t0,
      connectMs: t3 - t2,
      textMs: t4 - t3,
      respondWith,
      calleeOutput: callee.typescriptBytes(eMark),
      callerOutput: caller.typescriptBytes(cMark),
    };
  } catch (e) {
    const screens = `--- caller ${caller.user}@${caller.host} ---\n${await caller.screen().catch(() => '?')}\n--- callee ${callee.user}@${callee.host} ---\n${await callee.screen().catch(() => '?')}`;
    await caller.backToPrompt().catch(() => false);
    await callee.backToPrompt().catch(() => false);
    throw new Error(`${(e as Error).message}\n${screens}`);
  }
}

/**
 * The talk screen is split by a horizontal rule (ACS 'q' runs for netkit, 'm----j' for inetutils,
 * or U+2500): `own` must be above it and `peer` below, neither in the wrong half.
 */
/**
 * In an established call, alice and bob each type one line tagged with the time; each waits for the
 * other's line, then each screen must show its own line above the rule and the peer's below.
 */
export async function exchangeTaggedLines(alice: Terminal, bob: Terminal, timeoutMs: number): Promise<void> {
  const tag = Date.now().toString(36);
  await alice.type(`alice-line ${tag}`);
  await bob.type(`bob-line ${tag}`);
  await bob.waitFor(new RegExp(`alice-line ${tag}`), timeoutMs);
  await alice.waitFor(new RegExp(`bob-line ${tag}`), timeoutMs);
  await sleep(150);
  checkHalves(await alice.screen(), `alice-line ${tag}`, `bob-line ${tag}`, 'alice');
  checkHalves(await bob.screen(), `bob-line ${tag}`, `alice-line ${tag}`, 'bob');
}

export function checkHalves(screen: string, own: string, peer: string, who: string): void {
  const lines = screen.split('\n');
  const sep = lines.findIndex((l) => l.length >= 40 && l.replace(/[─mljkq-]/g, '') === '');
  if (sep < 0) throw new Error(`${who}: no separator rule on screen:\n${screen}`);
  const above = lines.slice(0, sep).join('\n');
  const below = lines.slice(sep + 1).join('\n');
  const ok = above.includes(own) && below.includes(peer) && !above.includes(peer) && !below.includes(own);
  if (!ok) throw new Error(`${who}: own text must be above the rule (row ${sep}) and the peer's below:\n${screen}`);
}

/** caller runs netkit `talk target`; returns the callee's respond-with once it is rung. */
export async function ringWithNetkit(caller: Terminal, callee: Terminal, target: string, timeoutMs: number): Promise<string> {
  const m = callee.mark();
  await caller.type(`${NETKIT_TALK} ${target}`);
  return respondWithOf(await callee.waitForOutput(RESPOND_RE, m, timeoutMs));
}

/** A netkit call rung and answered with the announced command: both screens say "Connection established". */
export async function connectWithNetkit(caller: Terminal, callee: Terminal, target: string, timeoutMs: number): Promise<void> {
  const respondWith = await ringWithNetkit(caller, callee, target, timeoutMs);
  await callee.type(`${NETKIT_TALK} ${respondWith}`);
  await callee.waitFor(/Connection established/, timeoutMs);
  await caller.waitFor(/Connection established/, timeoutMs);
}

/** ^C in each terminal, and each gets its prompt back. */
export async function hangUp(...ts: Terminal[]): Promise<void> {
  for (const t of ts) {
    await t.key('C-c');
    await t.backToPrompt();
  }
}
