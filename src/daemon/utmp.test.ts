import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir, chmod, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import {
  encodeUtmpRecord,
  parseUtmp,
  UT_HOST_OFFSET,
  UT_ID_OFFSET,
  UT_LINE_OFFSET,
  UT_PID_OFFSET,
  UT_TV_SEC_OFFSET,
  UT_USER_OFFSET,
  UTMP_RECORD_SIZE,
  type UtmpRecord,
} from './utmp-record.js';
import { chooseTty, USER_PROCESS } from './user-lookup.js';
import { lookUpUser, readUtmp, UtmpView } from './utmp.js';

const rec = (user: string, line: string, type = USER_PROCESS): UtmpRecord => ({ type, pid: 100, line, user, host: '', loginTime: 1 });

test('utmp offsets match glibc struct utmp as laid out by the C ABI (koffi)', () => {
  const Utmp = koffi.struct('talkgate_test_utmp', {
    ut_type: 'short',
    ut_pid: 'int',
    ut_line: koffi.array('char', 32, 'Array'),
    ut_id: koffi.array('char', 4, 'Array'),
    ut_user: koffi.array('char', 32, 'Array'),
    ut_host: koffi.array('char', 256, 'Array'),
    ut_exit: koffi.struct('talkgate_test_exit', { e_termination: 'short', e_exit: 'short' }),
    ut_session: 'int32_t',
    ut_tv: koffi.struct('talkgate_test_tv', { tv_sec: 'int32_t', tv_usec: 'int32_t' }),
    ut_addr_v6: koffi.array('int32_t', 4, 'Array'),
    reserved: koffi.array('char', 20, 'Array'),
  });
  assert.equal(koffi.sizeof(Utmp), UTMP_RECORD_SIZE);
  assert.equal(koffi.offsetof(Utmp, 'ut_pid'), UT_PID_OFFSET);
  assert.equal(koffi.offsetof(Utmp, 'ut_line'), UT_LINE_OFFSET);
  assert.equal(koffi.offsetof(Utmp, 'ut_id'), UT_ID_OFFSET);
  assert.equal(koffi.offsetof(Utmp, 'ut_user'), UT_USER_OFFSET);
  assert.equal(koffi.offsetof(Utmp, 'ut_host'), UT_HOST_OFFSET);
  assert.equal(koffi.offsetof(Utmp, 'ut_tv'), UT_TV_SEC_OFFSET);
});

test('parseUtmp() reads records written with the real layout, ignoring a partial tail', () => {
  const a = { type: USER_PROCESS, pid: 4553, line: 'pts/3', user: 'alice', host: '10.1.0.2', loginTime: 1_700_000_000 };
  const b = { type: 8, pid: 9, line: 'tty1', user: 'averyveryverylongusernamethirty2', host: 'h', loginTime: 2 };
  const bytes = new Uint8Array(3 * UTMP_RECORD_SIZE - 10);
  bytes.set(encodeUtmpRecord(a), 0);
  bytes.set(encodeUtmpRecord(b), UTMP_RECORD_SIZE);
  assert.deepEqual(parseUtmp(bytes), [a, b]);
});

test('chooseTty() picks the newest g+w tty, else PERMISSION_DENIED / NOT_HERE / FAILED', () => {
  const stats: Record<string, { mode: number; atimeMs: number }> = {
    'pts/1': { mode: 0o20620, atimeMs: 10 },
    'pts/2': { mode: 0o20620, atimeMs: 30 },
    'pts/3': { mode: 0o20600, atimeMs: 99 },
  };
  const st = (l: string): { mode: number; atimeMs: number } | undefined => stats[l];
  const recs = [rec('bob', 'pts/1'), rec('bob', 'pts/2'), rec('bob', 'pts/3'), rec('carol', 'pts/3'), rec('dave', 'pts/9'), rec('erin', 'pts/2', 8)];
  assert.deepEqual(chooseTty(recs, 'bob', '', st), { kind: 'found', tty: 'pts/2' });
  assert.deepEqual(chooseTty(recs, 'bob', 'pts/1', st), { kind: 'found', tty: 'pts/1' });
  assert.deepEqual(chooseTty(recs, 'bob', 'pts/3', st), { kind: 'permission-denied', reason: 'mesg-n' });
  assert.deepEqual(chooseTty(recs, 'carol', '', st), { kind: 'permission-denied', reason: 'mesg-n' });
  assert.deepEqual(chooseTty(recs, 'nobody', '', st), { kind: 'not-here' });
  assert.deepEqual(chooseTty(recs, 'erin', '', st), { kind: 'not-here' }, 'DEAD_PROCESS records do not count');
  assert.deepEqual(chooseTty(recs, 'dave', '', st), { kind: 'failed' }, 'tty missing');
  assert.deepEqual(chooseTty([rec('x', '../etc/passwd')], 'x', '', () => stats['pts/1']), { kind: 'not-here' });
});

test('lookUpUser() reads a utmp file and stats the ttys in the dev directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'talkgate-utmp-'));
  try {
    const dev = join(dir, 'dev');
    await mkdir(join(dev, 'pts'), { recursive: true });
    await writeFile(join(dev, 'pts', '1'), '');
    await writeFile(join(dev, 'pts', '2'), '');
    await chmod(join(dev, 'pts', '1'), 0o620);
    await chmod(join(dev, 'pts', '2'), 0o620);
    await utimes(join(dev, 'pts', '1'), 2000, 2000);
    await utimes(join(dev, 'pts', '2'), 1000, 1000);
    const utmp = join(dir, 'utmp');
    await writeFile(utmp, Buffer.concat([encodeUtmpRecord(rec('bob', 'pts/2')), encodeUtmpRecord(rec('bob', 'pts/1'))]));
    assert.deepEqual(await lookUpUser({ utmpPath: utmp, devDir: dev }, 'bob', ''), { kind: 'found', tty: 'pts/1' });
    await chmod(join(dev, 'pts', '1'), 0o600);
    assert.deepEqual(await lookUpUser({ utmpPath: utmp, devDir: dev }, 'bob', ''), { kind: 'found', tty: 'pts/2' });
    assert.deepEqual(await lookUpUser({ utmpPath: join(dir, 'none'), devDir: dev }, 'bob', ''), { kind: 'not-here' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('readUtmp() reads the system utmp when there is one', { skip: existsSync('/run/utmp') ? false : 'no /run/utmp on this machine' }, async () => {
  const records = await readUtmp('/run/utmp');
  assert.ok(records.every((r) => Number.isInteger(r.type) && r.type >= 0 && r.type <= 9));
});

test('UtmpView caches the records while the file is unchanged and re-reads it when it changes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'talkgate-utmp-'));
  try {
    const path = join(dir, 'utmp');
    const view = new UtmpView(path);
    assert.deepEqual(await view.records(), [], 'missing file: nobody logged in');
    await writeFile(path, encodeUtmpRecord(rec('alice', 'pts/1')));
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old); // settled: older than the racy window
    const first = await view.records();
    assert.deepEqual(first.map((r) => r.user), ['alice']);
    assert.equal(await view.records(), first, 'unchanged file: the same cached array');
    await writeFile(path, encodeUtmpRecord(rec('bob', 'pts/2'))); // same size, rewritten in place
    await utimes(path, old, new Date(Date.now() - 30_000));
    assert.deepEqual((await view.records()).map((r) => r.user), ['bob'], 'a new mtime invalidates the view');
    await writeFile(path, encodeUtmpRecord(rec('carol', 'pts/3'))); // just modified: racy, never cached
    assert.deepEqual((await view.records()).map((r) => r.user), ['carol']);
    await writeFile(path, encodeUtmpRecord(rec('dave', 'pts/4')));
    assert.deepEqual((await view.records()).map((r) => r.user), ['dave'], 'a racy mtime is re-read every time');
    await rm(path);
    assert.deepEqual(await view.records(), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('readUtmp() reads whole records of a file of any size, ignoring a partial tail', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'talkgate-utmp-'));
  try {
    const path = join(dir, 'utmp');
    await writeFile(path, new Uint8Array(0));
    assert.deepEqual(await readUtmp(path), []);
    const bytes = new Uint8Array(2 * UTMP_RECORD_SIZE + 7);
    bytes.set(encodeUtmpRecord(rec('alice', 'pts/1')), 0);
    bytes.set(encodeUtmpRecord(rec('bob', 'pts/2')), UTMP_RECORD_SIZE);
    await writeFile(path, bytes);
    assert.deepEqual((await readUtmp(path)).map((r) => r.user), ['alice', 'bob']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('lookUpUser() memory per request is the size of the utmp file, not the 1.5 MB bound (64 in flight)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'talkgate-utmp-'));
  try {
    const path = join(dir, 'utmp');
    await writeFile(path, Buffer.concat(Array.from({ length: 8 }, (_, i) => encodeUtmpRecord(rec(`u${i}`, `pts/${i}`)))));
    const base = process.memoryUsage().arrayBuffers;
    let peak = base;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 1);
    try {
      for (let round = 0; round < 4; round++) {
        await Promise.all(Array.from({ length: 64 }, () => lookUpUser({ utmpPath: path, devDir: dir }, 'nobody', '')));
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      }
    } finally {
      clearInterval(sample);
    }
    // 256 reads of a 3 KB file: well under a megabyte even if none is collected yet; the old
    // fixed 1.5 MB buffer put 64 × 1.5 MB = 96 MB in flight.
    assert.ok(peak - base < 4 * 1024 * 1024, `external memory grew by ${((peak - base) / 1048576).toFixed(1)} MB`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
