/**
 * The lab's delay line (delay-line.ts) on a real link: fw ── "outside" ── out (prefix tgw), UDP
 * round trips measured from fw to an echo on out, without the line, with it (10 ms each way: issue
 * 17's 20 ms RTT), and again after it stopped; its queue bound against a burst; and its process
 * ending by itself (lifetime bound, parent gone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from './lab.js';
import { inCI, labSkip } from './prereq.js';
import { DelayLine, delayLineMissing } from './delay-line.js';
import { rttLine, udpRtt } from './udp-rtt.js';
import { sleep, waitUntil } from './proc.js';

const PREFIX = 'tgw';
const FW = '198.51.100.1';
const OUT = '198.51.100.2';
const PROBES = 40;

function skip(): string | false {
  const lab = labSkip();
  if (lab !== false) return lab;
  const why = delayLineMissing();
  if (why === undefined) return false;
  if (inCI()) throw new Error(`CI=true and the delay line cannot run: ${why}`);
  return `delay line cannot run: ${why}`;
}

async function link(): Promise<Lab> {
  return Lab.create({
    prefix: PREFIX,
    hosts: ['fw', 'out'],
    segments: [{ name: 'outside', members: [{ host: 'fw', addr: `${FW}/24` }, { host: 'out', addr: `${OUT}/24` }] }],
    users: [],
  });
}

const rtt = (lab: Lab, count = PROBES): ReturnType<typeof udpRtt> => udpRtt(lab, { fromHost: 'fw', fromAddr: FW, toHost: 'out', toAddr: OUT, count });

test('a 10 ms delay line gives the link a 20 ms round trip, and the link is back to under 2 ms once it stops', { skip: skip() }, async () => {
  const lab = await link();
  try {
    const before = await rtt(lab);
    assert.equal(before.lost, 0);
    assert.ok(before.p50 < 2, `without the line: ${rttLine(before)}`);

    const line = await DelayLine.start(lab, 'out', 'outside', { delayMs: 10 });
    const during = await rtt(lab);
    const report = await line.stop();
    console.log(`# without: ${rttLine(before)}; with the 10 ms line: ${rttLine(during)}; line ${JSON.stringify(report)}`);
    assert.equal(during.lost, 0);
    assert.ok(during.p50 >= 19 && during.p50 <= 30, `with the line: ${rttLine(during)}, want p50 19-30 ms`);
    // Each frame waits at least the delay in each direction: no round trip is shorter than 2 x 10 ms.
    assert.ok(during.min >= 20, `with the line: ${rttLine(during)}, want min >= 20 ms`);
    assert.ok(report !== undefined, 'the process reports when it stops');
    assert.equal(report.stopped, 'SIGTERM');
    assert.ok(report.toLine.released >= PROBES && report.toHost.released >= PROBES, 'both directions carried every probe');
    assert.equal(report.toLine.dropped + report.toHost.dropped, 0);

    const after = await rtt(lab);
    assert.equal(after.lost, 0);
    assert.ok(after.p50 < 2, `after the line stopped: ${rttLine(after)}`);
    const links = (await lab.exec('out', ['ip', '-br', 'link'])).stdout;
    assert.doesNotMatch(links, /dl-/, 'the TAPs and the bridge are gone');
    assert.match((await lab.exec('out', ['ip', '-br', '-4', 'addr', 'show', 'dev', 'outside'])).stdout, new RegExp(OUT.replaceAll('.', '\\.')));
  } finally {
    await lab.destroy();
  }
});

test('frames beyond the queue bound are dropped and counted, the rest delivered', { skip: skip() }, async () => {
  const lab = await link();
  try {
    const line = await DelayLine.start(lab, 'out', 'outside', { delayMs: 50, maxFrames: 8 });
    // Settle ARP through the line first, so the burst meets an empty queue.
    await rtt(lab, 2);
    const burst = 40;
    const r = await lab.exec('fw', [process.execPath, '-e', `
      const s = require('node:dgram').createSocket('udp4');
      s.bind(0, '${FW}', () => { for (let i = 0; i < ${burst}; i++) s.send(Buffer.alloc(32), 9, '${OUT}'); setTimeout(() => s.close(), 200); });`]);
    assert.equal(r.code, 0);
    await sleep(200);
    const report = await line.stop();
    assert.ok(report !== undefined);
    console.log(`# burst of ${burst} into an 8-frame queue: ${JSON.stringify(report.toHost)}`);
    assert.ok(report.toHost.dropped > 0, 'some of the burst was dropped');
    assert.ok(report.toHost.maxQueued <= 8, 'never more than the bound queued');
    assert.equal(report.toHost.read, report.toHost.accepted + report.toHost.dropped, 'every frame read is either queued or counted as dropped');
    // A frame the host sent on its own (ARP, ND) just before the stop may still be in its delay.
    assert.equal(report.toHost.released + report.toHost.queued, report.toHost.accepted, 'every queued frame was delivered or was still in its delay at the stop');
    assert.ok(report.toHost.queued <= 1, 'the burst itself was delivered');
  } finally {
    await lab.destroy();
  }
});

test('the delay line process ends by itself at its lifetime bound', { skip: skip() }, async () => {
  const lab = await link();
  try {
    const line = await DelayLine.start(lab, 'out', 'outside', { lifetimeMs: 1_500 });
    await waitUntil('the process to end', () => !line.running, 10_000, 100);
    const report = await line.stop();
    assert.equal(report?.stopped, 'lifetime');
    const again = await rtt(lab, 10);
    assert.ok(again.lost === 0 && again.p50 < 2, `the link is usable again: ${rttLine(again)}`);
  } finally {
    await lab.destroy();
  }
});

test('the delay line process ends by itself when the process that started it is gone', { skip: skip() }, async () => {
  const lab = await link();
  try {
    // A shell starts it in the background and exits: the process is orphaned at once.
    const cfg = { hostTap: 'dl-host', lineTap: 'dl-line', delayMs: 10, maxFrames: 16, maxBytes: 65536, lifetimeMs: 60_000 };
    const script = new URL('./delay-line-process.js', import.meta.url).pathname;
    const started = await lab.exec('out', ['/bin/sh', '-c', `'${process.execPath}' '${script}' '${JSON.stringify(cfg)}' >/dev/null 2>&1 & sleep 1; ip -br link show dev dl-host`]);
    assert.match(started.stdout, /^dl-host/, 'the process ran and made its TAP');
    const ours = async (): Promise<number> => (await lab.pids('out')).filter((p) => p.argv.some((a) => a.endsWith('delay-line-process.js'))).length;
    await waitUntil('the orphaned process to end', async () => (await ours()) === 0, 10_000, 100);
    assert.doesNotMatch((await lab.exec('out', ['ip', '-br', 'link'])).stdout, /dl-/, 'its TAPs are gone with it');
  } finally {
    await lab.destroy();
  }
});
