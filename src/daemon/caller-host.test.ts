import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callerHostResolver, type HostResolver } from './caller-host.js';

/** A resolver backed by two tables (DNS itself is not reachable from tests: network safety). */
function tables(ptr: Record<string, string>, a: Record<string, string[]>, delayMs = 0): HostResolver & { calls: number } {
  const r = {
    calls: 0,
    async reverse(address: string): Promise<string> {
      r.calls++;
      if (delayMs > 0) await new Promise((res) => setTimeout(res, delayMs));
      const name = ptr[address];
      if (name === undefined) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
      return name;
    },
    async forward(name: string): Promise<string[]> {
      const list = a[name];
      if (list === undefined) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
      return list;
    },
  };
  return r;
}

test('callerHostResolver() uses the reverse name only when the forward lookup lists the source again (FCrDNS)', async () => {
  const r = tables(
    { '10.1.0.2': 'rc-in', '10.1.0.3': 'liar.example', '10.1.0.4': 'evil\x1b[2J', '10.1.0.5': '10.1.0.5' },
    { 'rc-in': ['10.9.9.9', '10.1.0.2'], 'liar.example': ['10.1.0.99'] },
  );
  const resolve = callerHostResolver(1000, r);
  assert.equal(await resolve('10.1.0.2'), 'rc-in');
  assert.equal(await resolve('10.1.0.3'), '10.1.0.3', 'the forward lookup does not confirm: the IP is shown');
  assert.equal(await resolve('10.1.0.4'), '10.1.0.4', 'a non-printable name is never used');
  assert.equal(await resolve('10.1.0.5'), '10.1.0.5');
  assert.equal(await resolve('10.1.0.6'), '10.1.0.6', 'no PTR record: the IP');
});

test('callerHostResolver() answers the IP when the resolver is slower than its bound, and caches results', async () => {
  const slow = tables({ '10.1.0.2': 'rc-in' }, { 'rc-in': ['10.1.0.2'] }, 500);
  const resolve = callerHostResolver(50, slow);
  const t0 = Date.now();
  assert.equal(await resolve('10.1.0.2'), '10.1.0.2');
  assert.ok(Date.now() - t0 < 400, 'bounded by the timeout, not by the resolver');

  const fast = tables({ '10.1.0.2': 'rc-in' }, { 'rc-in': ['10.1.0.2'] });
  const cached = callerHostResolver(1000, fast);
  assert.equal(await cached('10.1.0.2'), 'rc-in');
  assert.equal(await cached('10.1.0.2'), 'rc-in');
  assert.equal(fast.calls, 1, 'the second lookup is served from the cache');
});

test('callerHostResolver() bounds the resolutions in flight: excess requests get the IP at once', async () => {
  const slow = tables({ '10.1.0.2': 'a', '10.1.0.3': 'b', '10.1.0.4': 'c' }, { a: ['10.1.0.2'], b: ['10.1.0.3'], c: ['10.1.0.4'] }, 100);
  const resolve = callerHostResolver(1000, slow);
  const results = await Promise.all(['10.1.0.2', '10.1.0.3', '10.1.0.4'].map((ip) => resolve(ip)));
  assert.deepEqual(results, ['a', 'b', '10.1.0.4']);
  assert.equal(slow.calls, 2);
});
