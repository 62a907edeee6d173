import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from './logger.js';
import { DeferredLog, DEFERRED_LOG_FLUSH_MS, DEFERRED_LOG_MAX_LINES } from './deferred-log.js';

function sink(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, stream };
}

test('DeferredLog writes nothing during the current turn nor before DEFERRED_LOG_FLUSH_MS, then every line in order', async () => {
  const s = sink();
  const d = new DeferredLog(createLogger({ name: 't', format: 'json', level: 'info', destination: s.stream }));
  d.write('info', { callId: 'c-1' }, 'first');
  d.write('debug', { callId: 'c-1' }, 'below the level: dropped at once');
  d.facade({ callId: 'c-2' }).child({ port: 7 }).warn({ from: 'x' }, 'second');
  assert.equal(d.pending, 2);
  assert.equal(s.lines.length, 0, 'nothing written synchronously');
  await nextTurn();
  await nextTurn();
  assert.equal(s.lines.length, 0, 'nothing written in the next turns either (the call set-up continues)');
  await sleep(DEFERRED_LOG_FLUSH_MS + 5);
  await nextTurn();
  assert.deepEqual(s.lines.map((l) => [l['msg'], l['callId'], l['port']]), [['first', 'c-1', undefined], ['second', 'c-2', 7]]);
});

test('DeferredLog is bounded: a burst past the bound is summarised in one line', async () => {
  const s = sink();
  const d = new DeferredLog(createLogger({ name: 't', format: 'json', level: 'info', destination: s.stream }));
  for (let i = 0; i < DEFERRED_LOG_MAX_LINES + 10; i++) d.write('info', { i }, 'line');
  assert.equal(d.pending, DEFERRED_LOG_MAX_LINES);
  d.flush();
  await nextTurn();
  assert.equal(s.lines.length, DEFERRED_LOG_MAX_LINES + 1);
  assert.equal(s.lines.at(-1)?.['dropped'], 10);
});
