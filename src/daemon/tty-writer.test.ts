import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, readSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Answer } from '../protocol/talk-types.js';
import { openPty } from '../native/pty.js';
import { writeToTty } from './tty-writer.js';

const DEV = '/dev';

function ptyLine(): { line: string; masterFd: number; path: string } {
  const pty = openPty();
  return { line: pty.slavePath.slice(`${DEV}/`.length), masterFd: pty.masterFd, path: pty.slavePath };
}

test('writeToTty() writes the whole announcement to a tty that accepts messages', async () => {
  const p = ptyLine();
  try {
    chmodSync(p.path, 0o620);
    assert.deepEqual(await writeToTty(p.line, Buffer.from('\x07hello\r\n'), { devDir: DEV, timeoutMs: 2000 }), { answer: Answer.SUCCESS });
    const buf = Buffer.alloc(64);
    const n = readSync(p.masterFd, buf, 0, buf.length, null);
    assert.match(buf.subarray(0, n).toString('latin1'), /hello/);
  } finally {
    closeSync(p.masterFd);
  }
});

test('writeToTty() answers PERMISSION_DENIED (reason mesg-n) for mesg n, FAILED for a missing or unsafe tty name', async () => {
  const p = ptyLine();
  try {
    chmodSync(p.path, 0o600);
    assert.equal(statSync(p.path).mode & 0o020, 0);
    assert.deepEqual(await writeToTty(p.line, Buffer.from('x'), { devDir: DEV }), {
      answer: Answer.PERMISSION_DENIED,
      reason: 'mesg-n',
    });
  } finally {
    closeSync(p.masterFd);
  }
  assert.deepEqual(await writeToTty('pts/99999', Buffer.from('x'), { devDir: DEV }), { answer: Answer.FAILED });
  assert.deepEqual(await writeToTty('../etc/passwd', Buffer.from('x'), { devDir: DEV }), { answer: Answer.FAILED });
  assert.deepEqual(await writeToTty('/dev/null', Buffer.from('x'), { devDir: DEV }), { answer: Answer.FAILED });
});

test('writeToTty() answers PERMISSION_DENIED (reason not-a-tty) for a g+w path that is no character device', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'talkgate-tty-'));
  try {
    await writeFile(join(dir, 'ttyX'), '');
    chmodSync(join(dir, 'ttyX'), 0o620);
    assert.deepEqual(await writeToTty('ttyX', Buffer.from('x'), { devDir: dir }), {
      answer: Answer.PERMISSION_DENIED,
      reason: 'not-a-tty',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeToTty() answers PERMISSION_DENIED (reason tty-open-failed) with the errno when open(2) fails', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'talkgate-tty-'));
  try {
    // A FIFO without a reader: open(O_WRONLY|O_NONBLOCK) fails with ENXIO whoever we are (root
    // bypasses the EACCES of a devpts mounted without the tty group, so this stands in for it).
    const fifo = join(dir, 'ttyF');
    assert.equal(spawnSync('mkfifo', ['-m', '0620', fifo]).status, 0, 'mkfifo');
    assert.deepEqual(await writeToTty('ttyF', Buffer.from('x'), { devDir: dir, allowNonTty: true }), {
      answer: Answer.PERMISSION_DENIED,
      reason: 'tty-open-failed',
      errno: 'ENXIO',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeToTty() gives up on a stuck tty with FAILED after its timeout, never blocking the event loop', async () => {
  const p = ptyLine();
  try {
    chmodSync(p.path, 0o620);
    // Nobody reads the master: the pty's buffers fill and the rest of the write gets EAGAIN.
    const big = Buffer.alloc(4 * 1024 * 1024, 0x61);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const t0 = Date.now();
    const answer = await writeToTty(p.line, big, { devDir: DEV, timeoutMs: 600 });
    const elapsed = Date.now() - t0;
    clearInterval(ticker);
    assert.deepEqual(answer, { answer: Answer.FAILED });
    assert.ok(elapsed >= 550 && elapsed < 3000, `gave up after ${elapsed} ms`);
    assert.ok(ticks >= 20, `the event loop kept running (${ticks} ticks of 10 ms in ${elapsed} ms)`);
  } finally {
    closeSync(p.masterFd);
  }
});
