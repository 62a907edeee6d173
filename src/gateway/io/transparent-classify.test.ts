import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCidr, type Ipv4Cidr } from '../../shared/ipv4-cidr.js';
import { classifyIntercepted, type InterceptContext } from './transparent-classify.js';

const ctx: InterceptContext = {
  insideNetworks: [parseCidr('10.1.0.0/24') as Ipv4Cidr],
  gatewayAddresses: ['10.1.0.1', '198.51.100.1'],
  interceptedPorts: [517, 518],
  tproxyPort: 15518,
  insideDaemonPorts: { ntalk: 518, otalk: 517 },
};
const ep = (address: string, port: number) => ({ address, port });

test('classifyIntercepted(): a request is on the side opposite to where it was headed', () => {
  assert.deepEqual(classifyIntercepted(ctx, ep('10.1.0.2', 3001), ep('198.51.100.2', 518)), { kind: 'request', side: 'inside' });
  assert.deepEqual(classifyIntercepted(ctx, ep('198.51.100.2', 3001), ep('10.1.0.2', 517)), { kind: 'request', side: 'outside' });
  // A forged source does not change the side: the session core's spoofing check sees the mismatch.
  assert.deepEqual(classifyIntercepted(ctx, ep('198.51.100.9', 3001), ep('198.51.100.2', 518)), { kind: 'request', side: 'inside' });
});

test("classifyIntercepted(): inside daemons' answers to the tproxy port are responses, by source port", () => {
  assert.deepEqual(classifyIntercepted(ctx, ep('10.1.0.2', 518), ep('198.51.100.2', 15518)), { kind: 'response', side: 'inside', protocol: 'ntalk' });
  assert.deepEqual(classifyIntercepted(ctx, ep('10.1.0.2', 517), ep('198.51.100.2', 15518)), { kind: 'response', side: 'inside', protocol: 'otalk' });
  assert.equal(classifyIntercepted(ctx, ep('10.1.0.2', 4444), ep('198.51.100.2', 15518)).kind, 'drop');
  // From the outside to the tproxy port: not an answer the gateway asked for, and not a talk port.
  assert.equal(classifyIntercepted(ctx, ep('198.51.100.2', 518), ep('10.1.0.2', 15518)).kind, 'drop');
});

test('classifyIntercepted(): datagrams to the gateway itself or to other ports are dropped', () => {
  assert.equal(classifyIntercepted(ctx, ep('10.1.0.2', 518), ep('10.1.0.1', 15518)).kind, 'drop');
  assert.equal(classifyIntercepted(ctx, ep('198.51.100.2', 3000), ep('198.51.100.1', 518)).kind, 'drop');
  assert.equal(classifyIntercepted(ctx, ep('10.1.0.2', 3000), ep('198.51.100.2', 9999)).kind, 'drop');
});

test('classifyIntercepted(): total, and never a response unless from an inside daemon port to the tproxy port (property)', () => {
  const ip = fc.tuple(fc.constantFrom(10, 198), fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c, d]) => (a === 10 ? `10.1.0.${d}` : `198.51.${b}.${c}`));
  fc.assert(
    fc.property(ip, fc.integer({ min: 1, max: 65535 }), ip, fc.integer({ min: 1, max: 65535 }), (sa, sp, da, dp) => {
      const c = classifyIntercepted(ctx, ep(sa, sp), ep(da, dp));
      if (c.kind === 'response') assert.ok(dp === 15518 && (sp === 517 || sp === 518) && sa.startsWith('10.1.0.') && !da.startsWith('10.1.0.'));
      if (c.kind === 'request') assert.ok((dp === 517 || dp === 518) && !ctx.gatewayAddresses.includes(da));
    }),
  );
});
