import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindUdpSocketFd, closeFd } from '../native/fd-datagram-endpoint.js';
import { systemClock } from '../shared/clock.js';
import { FIRST_CHILD_FD, WorkerSupervisor, type WorkerReply } from './worker-supervisor.js';

// A worker that reports its inherited socket, answers one request kind and can be told to crash.
const WORKER = `
const dgram = require('node:dgram');
process.on('message', (m) => {
  if (m.t === 'init') {
    const s = dgram.createSocket('udp4');
    s.bind({ fd: m.fd }, () => process.send({ t: 'ready', info: { port: s.address().port, pid: process.pid } }));
  } else if (m.t === 'stop') process.exit(0);
  else if (m.t === 'res') process.send({ t: 'req', req: { echo: m.id } });
});
`;

test('WorkerSupervisor: the worker gets the socket and the privileged side keeps none; a dead worker is cleaned up after and replaced', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-supervisor-'));
  const entry = join(dir, 'worker.cjs');
  writeFileSync(entry, WORKER);
  const handed: number[] = [];
  let deaths = 0;
  const handled: unknown[] = [];
  const sup = new WorkerSupervisor({
    entry,
    cwd: dir,
    clock: systemClock,
    log: { info: () => undefined, error: () => undefined },
    launch: () => {
      const fd = bindUdpSocketFd('127.0.0.1', 0);
      handed.push(fd);
      return { fds: [fd], init: { t: 'init', fd: FIRST_CHILD_FD } };
    },
    handle: (req): Promise<WorkerReply> => {
      handled.push(req);
      return Promise.resolve({ t: 'res', id: 0, ok: true });
    },
    onDeath: () => ++deaths,
    onGiveUp: () => assert.fail('gave up'),
    close: closeFd,
  });
  try {
    await sup.start();
    const first = sup.workerPid as number;
    assert.ok(first > 0);
    assert.ok(typeof sup.info['port'] === 'number' && sup.info['port'] > 0, 'the worker serves on the inherited socket');
    // The privileged side closed its copy at once (the fd is gone here, or reused for something else).
    assert.throws(() => fstatSync(handed[0] as number).isSocket() || assert.fail('still open'));
    process.kill(first, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while ((sup.workerPid === undefined || sup.workerPid === first) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(deaths, 1, 'onDeath ran for the dead worker');
    assert.notEqual(sup.workerPid, first, 'a new worker was started');
    assert.equal(handed.length, 2, 'with freshly opened sockets');
  } finally {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(deaths, 2, 'a stopped worker is cleaned up after too, and not restarted');
});
