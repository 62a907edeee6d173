import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, closeSync, readSync, statSync } from 'node:fs';
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
    assert.equal(await writeToTty(p.line, Buffer.from('\x07hello\r\n'), { devDir: DEV, timeoutMs: 2000 }), Answer.SUCCESS);
    const buf = Buffer.alloc(64);
    const n = readSync(p.masterFd, buf, 0, buf.length, null);
    assert.match(buf.subarray(0, n).toString('latin1'), /hello/);
  } finally {
    closeSync(p.masterFd);
  }
});

test('writeToTty() answers PERMISSION_DENIED for mesg n, FAILED for a missing or unsafe tty name', async () => {
  const p = ptyLine();
  try {
    chmodSync(p.path, 0o600);
    assert.equal(statSync(p.path).mode & 0o020, 0);
    assert.equal(await writeToTty(p.line, Buffer.from('x'), { devDir: DEV }), Answer.PERMISSION_DENIED);
  } finally {
    closeSync(p.masterFd);
  }
  assert.equal(await writeToTty('pts/99999', Buffer.from('x'), { devDir: DEV }), Answer.FAILED);
  assert.equal(await writeToTty('../etc/passwd', Buffer.from('x'), { devDir: DEV }), Answer.FAILED);
  assert.equal(await writeToTty('/dev/null', Buffer.from('x'), { devDir: DEV }), Answer.FAILED);
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
    assert.equal(answer, Answer.FAILED);
    assert.ok(elapsed >= 550 && elapsed < 3000, `gave up after ${elapsed} ms`);
    assert.ok(ticks >= 20, `the event loop kept running (${ticks} ticks of 10 ms in ${elapsed} ms)`);
  } finally {
    closeSync(p.masterFd);
  }
});
