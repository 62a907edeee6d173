import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../shared/clock.js';
import { AuditLog, AUDIT_MAX_LINE_BYTES, AUDIT_SYNC_DELAY_MS } from './audit-log.js';

const CHILD_ENV = 'TALKGATE_AUDIT_TEST_CHILD';

// Child mode: record events until killed, announcing each record only after record() returned.
if (process.env[CHILD_ENV] !== undefined) {
  const log = AuditLog.open(process.env[CHILD_ENV]);
  for (let i = 0; ; i++) {
    log.record({ event: 'ended', callId: `call-${i}`, bytesIn: i, bytesOut: 2 * i, reason: 'peer-closed' });
    fs.writeSync(1, `${i}\n`);
  }
}

function tmpFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tg-audit-')), 'audit.jsonl');
}

test('AuditLog writes one JSON line per record with ts, event and callId first', () => {
  const file = tmpFile();
  const log = AuditLog.open(file, { clock: new ManualClock(0) });
  log.record({ event: 'requested', callId: 'g1', caller: 'bob@198.51.100.7', callee: 'alice' });
  log.record({ event: 'refused', callId: 'g2', reason: 'policy' });
  log.close();
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[2], '');
  assert.deepEqual(JSON.parse(lines[0]!), {
    ts: '1970-01-01T00:00:00.000Z', event: 'requested', callId: 'g1', caller: 'bob@198.51.100.7', callee: 'alice',
  });
  assert.equal(Object.keys(JSON.parse(lines[1]!)).join(','), 'ts,event,callId,reason');
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('AuditLog sanitises peer text and bounds the line size', () => {
  const file = tmpFile();
  const log = AuditLog.open(file);
  log.record({ event: 'requested', callId: 'g3', caller: 'ev\x1b[2Jil\u009b', tty: 'x'.repeat(10_000), nested: { a: { b: { c: { d: 1 } } } } });
  log.record({ event: 'ended', callId: 'g4', ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, 'y'.repeat(250)])) });
  log.close();
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(first['caller'], 'ev^[[2JilM-^[');
  assert.ok((first['tty'] as string).length <= 257);
  assert.deepEqual(first['nested'], { a: { b: '[…]' } });
  for (const l of lines) assert.ok(Buffer.byteLength(l) + 1 <= AUDIT_MAX_LINE_BYTES);
  const second = JSON.parse(lines[1]!) as Record<string, unknown>;
  assert.equal(second['callId'], 'g4');
  assert.ok(Array.isArray(second['truncated']));
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('AuditLog loses no record when the process is killed with SIGKILL right after record()', async () => {
  const file = tmpFile();
  const self = fileURLToPath(import.meta.url);
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
  const child = spawn(process.execPath, [...execArgv, self], {
    env: { ...process.env, [CHILD_ENV]: file },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let acked = -1;
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child made no progress')), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) acked = Number(l);
      if (acked >= 200 && !child.killed) {
        child.kill('SIGKILL');
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await new Promise((r) => child.once('exit', r));
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const last = lines.pop();
  assert.equal(last, '', 'the file ends with a complete line');
  assert.ok(lines.length >= acked + 1, `${lines.length} lines, ${acked + 1} acknowledged`);
  lines.forEach((l, i) => {
    const rec = JSON.parse(l) as Record<string, unknown>;
    assert.equal(rec['callId'], `call-${i}`);
    assert.equal(rec['bytesOut'], 2 * i);
  });
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('AuditLog tags every record with its run, so run + callId identify a call across restarts', () => {
  const file = tmpFile();
  const a = AuditLog.open(file, { clock: new ManualClock(0), run: '1970-01-01T00:00:00.000Z/100' });
  a.record({ event: 'requested', callId: 'c-000001' });
  a.close();
  const b = AuditLog.open(file, { clock: new ManualClock(5_000), run: '1970-01-01T00:00:05.000Z/200' });
  b.record({ event: 'requested', callId: 'c-000001' });
  b.close();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => `${String(l['run'])} ${String(l['callId'])}`), [
    '1970-01-01T00:00:00.000Z/100 c-000001',
    '1970-01-01T00:00:05.000Z/200 c-000001',
  ]);
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('AuditLog: a record is in the file when record() returns; synced() resolves once it is on stable storage', async () => {
  const file = tmpFile();
  const log = AuditLog.open(file, { clock: new ManualClock(0) });
  for (let i = 0; i < 50; i++) {
    log.record({ event: 'requested', callId: `c-${i}` });
    // Written through to the kernel before anything else happens (no buffering in the process).
    assert.equal(fs.readFileSync(file, 'utf8').trimEnd().split('\n').length, i + 1);
  }
  await log.synced();
  await log.synced(); // nothing pending: resolves at once
  log.close();
  assert.equal(fs.readFileSync(file, 'utf8').trimEnd().split('\n').length, 50);
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('AuditLog: close() while an fsync is in flight flushes, closes once, and refuses later records', async () => {
  const file = tmpFile();
  const log = AuditLog.open(file, { clock: new ManualClock(0), syncDelayMs: 0 });
  log.record({ event: 'requested', callId: 'c-1' }); // starts an asynchronous fsync
  const waiting = log.synced();
  log.close(); // fsyncs synchronously, the fd closes when the in-flight fsync returns
  log.close(); // idempotent
  assert.throws(() => log.record({ event: 'ended', callId: 'c-1' }), /closed/);
  await waiting;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fs.readFileSync(file, 'utf8').trimEnd().split('\n').length, 1);
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('AuditLog: fsync is a group commit AUDIT_SYNC_DELAY_MS after the first unsynced record, off the record() path', async (t) => {
  const file = tmpFile();
  const fsyncs = t.mock.method(fs, 'fsync');
  const log = AuditLog.open(file, { clock: new ManualClock(0) });
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) log.record({ event: 'requested', callId: `c-${i}` });
  assert.equal(fsyncs.mock.callCount(), 0, 'record() does not fsync');
  await log.synced();
  const waited = performance.now() - t0;
  assert.equal(fsyncs.mock.callCount(), 1, 'one fsync commits the 20 records');
  assert.ok(waited >= AUDIT_SYNC_DELAY_MS - 1, `synced after ${waited.toFixed(1)} ms`);
  log.record({ event: 'ended', callId: 'c-0' });
  await log.synced();
  assert.equal(fsyncs.mock.callCount(), 2, 'a later record gets its own round');
  log.close();
  assert.equal(fs.readFileSync(file, 'utf8').trimEnd().split('\n').length, 21);
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('AuditLog: a failing fsync is reported and retried with a doubling delay, never in a tight loop', async (t) => {
  const file = tmpFile();
  let calls = 0;
  t.mock.method(fs, 'fsync', (_fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    calls += 1;
    const err = Object.assign(new Error('EIO'), { code: 'EIO' });
    setImmediate(() => cb(calls <= 3 ? err : null));
  });
  const errors: string[] = [];
  const log = AuditLog.open(file, { clock: new ManualClock(0), syncDelayMs: 0, onSyncError: (e) => errors.push(String(e.code)) });
  const t0 = performance.now();
  log.record({ event: 'requested', callId: 'c-1' });
  await log.synced();
  const waited = performance.now() - t0;
  assert.deepEqual(errors, ['EIO', 'EIO', 'EIO']);
  assert.equal(calls, 4, 'three failures, then the fourth fsync commits the record');
  // Retries after 40, 80 and 160 ms (AUDIT_SYNC_DELAY_MS doubled per failure).
  assert.ok(waited >= 7 * 2 * AUDIT_SYNC_DELAY_MS - 5, `synced after ${waited.toFixed(1)} ms`);
  t.mock.restoreAll();
  log.close();
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('AuditLog: close() on a device that rejects fsync (/dev/full: EINVAL) reports it, does not throw, and closes', { skip: fs.existsSync('/dev/full') ? false : 'no /dev/full' }, () => {
  const errors: string[] = [];
  const log = AuditLog.open('/dev/full', { onSyncError: (e) => errors.push(String(e.code)) });
  assert.doesNotThrow(() => log.close());
  assert.deepEqual(errors, ['EINVAL']);
  assert.throws(() => log.record({ event: 'ended', callId: 'c-1' }), /closed/);
  assert.doesNotThrow(() => log.close(), 'a second close is a no-op');
});

test('AuditLog: close() survives a failing fsync and a failing close(2), and releases the descriptor', (t) => {
  const file = tmpFile();
  t.after(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
  const errors: string[] = [];
  const log = AuditLog.open(file, { clock: new ManualClock(0), onSyncError: (e) => errors.push(String(e.code)) });
  log.record({ event: 'requested', callId: 'c-1' });
  const realClose = fs.closeSync;
  const closed: number[] = [];
  t.mock.method(fs, 'fsyncSync', () => {
    throw Object.assign(new Error('EIO'), { code: 'EIO' });
  });
  t.mock.method(fs, 'closeSync', (fd: number) => {
    closed.push(fd);
    realClose(fd);
    throw Object.assign(new Error('EIO'), { code: 'EIO' });
  });
  assert.doesNotThrow(() => log.close());
  t.mock.restoreAll();
  assert.deepEqual(errors, ['EIO', 'EIO']);
  assert.equal(closed.length, 1, 'the descriptor is closed once');
  assert.throws(() => log.record({ event: 'ended', callId: 'c-1' }), /closed/);
  assert.match(fs.readFileSync(file, 'utf8'), /"callId":"c-1"/, 'the record written before stays written');
});

test('AuditLog: close() with a throwing onSyncError handler still does not throw', (t) => {
  const file = tmpFile();
  t.after(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
  const log = AuditLog.open(file, { onSyncError: () => { throw new Error('reporter broke'); } });
  t.mock.method(fs, 'fsyncSync', () => {
    throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
  });
  assert.doesNotThrow(() => log.close());
  t.mock.restoreAll();
});
