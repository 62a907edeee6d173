/**
 * Memory per request is constant (issue 18: 15,000 ANNOUNCEs took talkd from 73 to 263 MB): the
 * real `talkgate talkd` process, reading a real utmp file, answers 15,000 ANNOUNCEs and its RSS
 * (VmRSS of /proc/PID/status, sampled every RSS_SAMPLE_MS) grows by less than 20 MB over its
 * warmed-up baseline, and is back within 20 MB of it within 10 s of the end. Bounded: a fixed
 * count at a fixed rate, a deadline on the flood, the daemon killed at the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNtalkCtlMsg, sockAddr } from '../protocol/index.js';
import { RequestType } from '../protocol/talk-types.js';
import { udpClient } from './testing/udp-client.js';
import { USER_PROCESS } from './user-lookup.js';
import { encodeUtmpRecord } from './utmp-record.js';

const ANNOUNCES = 15_000;
const WARM_UP = 3_000;
/** The attack rate (ANNOUNCEs per second), sent in a batch every FLOOD_TICK_MS. */
const FLOOD_RATE = 5_000;
const FLOOD_TICK_MS = 5;
const FLOOD_TICK_BATCH = 25;
/**
 * At most this many ANNOUNCEs unanswered at once: on a loaded machine the sender then slows down
 * rather than overflow the daemon's socket buffer (about 270 datagrams of this size), so the
 * memory bound rests on all 15,000 having been processed.
 */
const MAX_IN_FLIGHT = 128;
const RSS_GROWTH_LIMIT_KB = 20 * 1024;
const RETURN_WITHIN_MS = 10_000;
const FLOOD_DEADLINE_MS = 60_000;
const RSS_SAMPLE_MS = 20;

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return dir;
}
const root = repoRoot();
const skip = existsSync(join(root, 'dist', 'src', 'cli', 'main.js')) ? false : 'dist/ not built (npm run build)';

/** VmRSS of `pid` in kB (NaN when gone). */
function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] !== undefined ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

async function freePort(): Promise<number> {
  const s = await udpClient();
  const port = s.address().port;
  s.close();
  return port;
}

test('talkgate talkd: 15,000 ANNOUNCEs grow its RSS by less than 20 MB, back within 10 s', { skip, timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'talkgate-mem-'));
  const utmpPath = join(dir, 'utmp');
  const recs = Array.from({ length: 8 }, (_, i) =>
    encodeUtmpRecord({ type: USER_PROCESS, pid: 100 + i, line: `pts/${900 + i}`, user: `user${i}`, host: '', loginTime: 1 }),
  );
  await writeFile(utmpPath, Buffer.concat(recs));
  const old = new Date(Date.now() - 60_000);
  await utimes(utmpPath, old, old);
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'talkgate.js'), 'talkd', '--port', String(port), '--no-otalk', '--bind', '127.0.0.1',
      '--utmp', utmpPath, '--dev-dir', dir, '--rate', '1000000'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let logBytes = 0;
  child.stderr?.on('data', (c: Buffer) => (logBytes += c.byteLength));
  const clients: Socket[] = await Promise.all(Array.from({ length: 4 }, (_, i) => udpClient(`127.0.0.${i + 2}`)));
  let replies = 0;
  for (const c of clients) c.on('message', () => replies++);
  const announce = (c: Socket, i: number): Uint8Array =>
    encodeNtalkCtlMsg({
      version: 1, type: RequestType.ANNOUNCE, id: 0xffffffff, addr: sockAddr('127.0.0.1', 4000),
      ctlAddr: sockAddr(c.address().address, c.address().port), pid: i, lName: `caller${i}`, rName: 'nobody-here', rTty: '',
    });
  const pid = child.pid;
  assert.ok(pid !== undefined);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKb(pid) || 0)), RSS_SAMPLE_MS);
  /**
   * Sends `count` ANNOUNCEs at up to FLOOD_RATE per second (the attack rate), never more than
   * MAX_IN_FLIGHT unanswered, bounded by a deadline; resolves to the number answered.
   */
  const flood = async (count: number): Promise<number> => {
    const start = replies;
    const deadline = Date.now() + FLOOD_DEADLINE_MS;
    const t0 = Date.now();
    let sent = 0;
    while (sent < count && Date.now() < deadline) {
      const due = Math.min(count, Math.floor(((Date.now() - t0) / 1000) * FLOOD_RATE) + FLOOD_TICK_BATCH, replies - start + MAX_IN_FLIGHT);
      for (; sent < due; sent++) {
        const c = clients[sent % clients.length];
        if (c !== undefined) c.send(announce(c, sent), port, '127.0.0.1');
      }
      await new Promise((r) => setTimeout(r, FLOOD_TICK_MS));
    }
    const settle = Date.now() + 5_000;
    while (replies - start < sent && Date.now() < settle) await new Promise((r) => setTimeout(r, 5));
    return replies - start;
  };
  try {
    const ready = Date.now() + 10_000;
    while (replies === 0 && Date.now() < ready) {
      const c = clients[0];
      if (c !== undefined) c.send(announce(c, 0), port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(replies > 0, 'the daemon answers');
    await flood(WARM_UP); // JIT, socket buffers, logger, the heap at its working size
    await new Promise((r) => setTimeout(r, 500));
    const baseline = rssKb(pid);
    peak = baseline;
    const answered = await flood(ANNOUNCES);
    peak = Math.max(peak, rssKb(pid));
    const end = Date.now();
    let after = rssKb(pid);
    while (!(after - baseline < RSS_GROWTH_LIMIT_KB) && Date.now() - end < RETURN_WITHIN_MS) {
      await new Promise((r) => setTimeout(r, 100));
      after = rssKb(pid);
    }
    const mb = (kb: number): string => (kb / 1024).toFixed(1);
    process.stdout.write(
      `# talkd rss baseline ${mb(baseline)} MB, peak +${mb(peak - baseline)} MB, after +${mb(after - baseline)} MB; ` +
        `${answered} answered, log ${logBytes} B\n`,
    );
    assert.ok(answered >= ANNOUNCES * 0.95, `the ANNOUNCEs were answered (${answered})`);
    assert.ok(peak - baseline < RSS_GROWTH_LIMIT_KB, `RSS grew by ${mb(peak - baseline)} MB during the flood`);
    assert.ok(after - baseline < RSS_GROWTH_LIMIT_KB, `RSS is back within 20 MB (+${mb(after - baseline)} MB)`);
  } finally {
    clearInterval(sampler);
    for (const c of clients) c.close();
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
