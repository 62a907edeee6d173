import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../shared/clock.js';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import { IMPOSSIBLE_ID } from '../../protocol/constants.js';
import { NO_ADDR, RequestType } from '../../protocol/talk-types.js';
import { sockAddr } from '../../protocol/index.js';
import { GatewaySessions } from './gateway-sessions.js';
import { NewCallRateLimiter } from './new-call-rate-limiter.js';
import { RATE_REFUSAL_SUMMARY_MS } from './session-constants.js';
import type { Effect, SessionInput } from './session-types.js';

const TOML = `
[inside]
address = "10.1.0.1"
networks = ["10.1.0.0/24"]
[outside]
address = "198.51.100.1"
hosts = { "rc-out" = "198.51.100.2" }
dns = false
[directory]
alice = "alice@10.1.0.2"
bob = "bob@rc-out"
[[policy]]
action = "allow"
[limits]
max_calls = 100000
rate = 1
burst = 1
global_rate = 2
global_burst = 3
`;

function gateway(clock: ManualClock): GatewaySessions {
  const r = parseGatewayConfig(TOML, 'test');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return new GatewaySessions({ config: r.config, clock });
}

/** A forged ANNOUNCE "from" outside source number n (each source distinct, so the per-source limit passes). */
function forgedAnnounce(n: number): SessionInput {
  const address = `203.0.${(n >> 8) & 255}.${n & 255}`;
  return {
    kind: 'request',
    ingress: { side: 'outside', protocol: 'ntalk', source: { address, port: 1024 + (n % 60000) } },
    request: {
      protocol: 'ntalk',
      msg: { version: 1, type: RequestType.ANNOUNCE, id: IMPOSSIBLE_ID, addr: sockAddr(address, 2000), ctlAddr: NO_ADDR, pid: n, lName: 'mallory', rName: 'nosuchuser', rTty: '' },
    },
  };
}

function insideAnnounce(): SessionInput {
  return {
    kind: 'request',
    ingress: { side: 'inside', protocol: 'ntalk', source: { address: '10.1.0.2', port: 3001 } },
    request: {
      protocol: 'ntalk',
      msg: { version: 1, type: RequestType.ANNOUNCE, id: IMPOSSIBLE_ID, addr: sockAddr('10.1.0.2', 2001), ctlAddr: NO_ADDR, pid: 1, lName: 'alice', rName: 'bob', rTty: '' },
    },
  };
}

const audits = (fx: Effect[]): number => fx.filter((e) => e.kind === 'audit').length;
const logs = (fx: Effect[]): Extract<Effect, { kind: 'log' }>[] => fx.filter((e): e is Extract<Effect, { kind: 'log' }> => e.kind === 'log' && e.level === 'warn');

test('NewCallRateLimiter: burst at once, then the sustained rate, per side', () => {
  const l = new NewCallRateLimiter({ ratePerSecond: 2, burst: 3 });
  assert.deepEqual([0, 0, 0, 0].map(() => l.take('outside', 1000)), [true, true, true, false]);
  assert.equal(l.take('inside', 1000), true, 'the inside has its own bucket');
  assert.equal(l.take('outside', 1499), false, 'not yet a whole token back');
  assert.equal(l.take('outside', 1500), true, 'one token per 500 ms at 2/s');
  assert.equal(l.take('outside', 1500), false);
  assert.equal(l.take('outside', 1000), false, 'a clock going backwards gives nothing back');
  assert.throws(() => new NewCallRateLimiter({ ratePerSecond: 0, burst: 1 }), RangeError);
});

test('NewCallRateLimiter: never grants more than burst + rate × elapsed (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 20 }), (gaps, rate, burst) => {
      const l = new NewCallRateLimiter({ ratePerSecond: rate, burst });
      let now = 0;
      let granted = 0;
      for (const g of gaps) {
        now += g;
        if (l.take('outside', now)) granted++;
      }
      return granted <= burst + Math.floor((now * rate) / 1000) + 1e-9;
    }),
  );
});

test('GatewaySessions: a spoofed-source ANNOUNCE flood is bounded globally: no call, no audit line, no answer past the bound', () => {
  const clock = new ManualClock(0);
  const gw = gateway(clock);
  let auditLines = 0;
  let replies = 0;
  let refused = 0;
  const warnLines: Extract<Effect, { kind: 'log' }>[] = [];
  // 2 s of 1,000 forged ANNOUNCEs a second, each from a fresh source.
  for (let i = 0; i < 2000; i++) {
    if (i % 10 === 0 && i > 0) clock.advance(10);
    const fx = gw.handle(forgedAnnounce(i));
    auditLines += audits(fx);
    replies += fx.filter((e) => e.kind === 'reply').length;
    refused += fx.filter((e) => e.kind === 'count' && e.counter === 'dropped_global_rate').length;
    warnLines.push(...logs(fx));
  }
  // burst 3 + 2/s × ~2 s = at most 7 calls requested; each refused call writes requested + refused.
  const admitted = 2000 - refused;
  assert.ok(admitted >= 3 && admitted <= 3 + 4, `admitted ${admitted}`);
  assert.equal(auditLines, 2 * admitted, 'only admitted requests cost audit lines');
  assert.equal(replies, admitted, 'refused-by-rate requests get no answer (no reflection to forged sources)');
  assert.equal(gw.status().counters['dropped_global_rate'], refused);
  assert.equal(warnLines.filter((l) => /global new-call rate limit reached/.test(l.msg)).length, 1, 'one line when the refusals start');
  assert.equal(warnLines.length, 1, 'not one line per datagram');

  // The summary comes from the clock (tick at nextDeadline), with the count.
  const due = gw.nextDeadline();
  assert.ok(due !== undefined && due <= RATE_REFUSAL_SUMMARY_MS);
  clock.advance(due - clock.now());
  const summary = logs(gw.handle({ kind: 'tick' }));
  assert.equal(summary.length, 1);
  assert.equal(summary[0]?.fields?.['refused'], refused);
  assert.equal(summary[0]?.fields?.['outside'], refused);
  // A quiet window closes the episode silently and leaves no pending deadline.
  clock.advance(RATE_REFUSAL_SUMMARY_MS);
  assert.equal(logs(gw.handle({ kind: 'tick' })).length, 0);
  assert.equal(gw.nextDeadline(), undefined);
  // Tokens came back meanwhile: new calls are admitted again.
  assert.equal(audits(gw.handle(forgedAnnounce(5000))), 2);
});

test('GatewaySessions: an outside flood does not use up the inside bucket (outbound calls still start)', () => {
  const clock = new ManualClock(0);
  const gw = gateway(clock);
  for (let i = 0; i < 500; i++) gw.handle(forgedAnnounce(i));
  const fx = gw.handle(insideAnnounce());
  assert.equal(fx.filter((e) => e.kind === 'openDataPath').length, 1, 'the inside call proceeds to its data path');
  assert.equal(fx.filter((e) => e.kind === 'count' && e.counter === 'dropped_global_rate').length, 0);
});
