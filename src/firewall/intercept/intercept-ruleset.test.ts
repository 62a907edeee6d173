import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_INTERCEPT_MARK,
  interceptSpec,
  renderInstallIntercept,
  renderPolicyRouting,
  renderRemoveIntercept,
} from './intercept-ruleset.js';

const base = { insideInterface: 'inside', outsideInterface: 'outside', port: 15518 } as const;

const outboundExpr = [
  { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'inside' } },
  { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: { set: [517, 518] } } },
  { match: { op: '!=', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } },
  { match: { op: '==', left: { fib: { result: 'oifname', flags: ['daddr'] } }, right: 'outside' } },
  { mangle: { key: { meta: { key: 'mark' } }, value: 0x7467 } },
  { tproxy: { port: 15518 } },
];

test('renderInstallIntercept() golden: family ip, outbound only', () => {
  assert.deepEqual(renderInstallIntercept(interceptSpec(base)), {
    nftables: [
      { add: { table: { family: 'ip', name: 'talkgate_intercept' } } },
      { delete: { table: { family: 'ip', name: 'talkgate_intercept' } } },
      { add: { table: { family: 'ip', name: 'talkgate_intercept' } } },
      {
        add: {
          chain: { family: 'ip', table: 'talkgate_intercept', name: 'prerouting', type: 'filter', hook: 'prerouting', prio: -150, policy: 'accept' },
        },
      },
      { add: { rule: { family: 'ip', table: 'talkgate_intercept', chain: 'prerouting', comment: 'talkgate outbound', expr: outboundExpr } } },
    ],
  });
});

test('renderInstallIntercept() golden: family inet with inbound adds nfproto ipv4, tproxy family ip and the mirrored rule', () => {
  const batch = renderInstallIntercept(interceptSpec({ ...base, family: 'inet', table: 'tgt_x', inbound: true, ports: [518], mark: 0x10 }));
  assert.equal(batch.nftables.length, 6);
  assert.deepEqual(batch.nftables[5], {
    add: {
      rule: {
        family: 'inet',
        table: 'tgt_x',
        chain: 'prerouting',
        comment: 'talkgate inbound',
        expr: [
          { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } },
          { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'outside' } },
          { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 518 } },
          { match: { op: '!=', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } },
          { match: { op: '==', left: { fib: { result: 'oifname', flags: ['daddr'] } }, right: 'inside' } },
          { mangle: { key: { meta: { key: 'mark' } }, value: 0x10 } },
          { tproxy: { family: 'ip', port: 15518 } },
        ],
      },
    },
  });
});

test('renderRemoveIntercept() is add+delete, so it succeeds whether or not the table exists', () => {
  assert.deepEqual(renderRemoveIntercept(interceptSpec(base)), {
    nftables: [{ add: { table: { family: 'ip', name: 'talkgate_intercept' } } }, { delete: { table: { family: 'ip', name: 'talkgate_intercept' } } }],
  });
});

test('renderPolicyRouting() golden', () => {
  assert.deepEqual(renderPolicyRouting(interceptSpec(base)), {
    deleteRule: ['-4', 'rule', 'del', 'fwmark', '0x7467', 'lookup', '7467'],
    addRule: ['-4', 'rule', 'add', 'fwmark', '0x7467', 'lookup', '7467', 'pref', '9467'],
    addRoute: ['-4', 'route', 'replace', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '7467'],
    deleteRoute: ['-4', 'route', 'del', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '7467'],
  });
  assert.equal(DEFAULT_INTERCEPT_MARK, 0x7467);
});

test('interceptSpec() rejects bad names, ports, marks, tables and preferences', () => {
  const bad: Record<string, unknown>[] = [
    { table: 'has space' },
    { table: '1abc' },
    { insideInterface: 'x'.repeat(16) },
    { insideInterface: 'a b' },
    { outsideInterface: 'inside' },
    { port: 0 },
    { port: 65_536 },
    { ports: [] },
    { ports: [518, 518] },
    { ports: [70_000] },
    { mark: 0 },
    { mark: 2 ** 32 },
    { routeTable: 254 },
    { routeTable: 0 },
    { rulePref: 32_766 },
    { family: 'ip6' },
  ];
  for (const b of bad) assert.throws(() => interceptSpec({ ...base, ...b }), RangeError, JSON.stringify(b));
  assert.doesNotThrow(() => interceptSpec({ ...base, insideInterface: 'veth0.10', outsideInterface: 'eth-1_x' }));
});

test('renderInstallIntercept() golden: inboundReplies adds the rule taking inside daemons\' answers to the tproxy port back', () => {
  const batch = renderInstallIntercept(interceptSpec({ ...base, inbound: true, inboundReplies: true }));
  assert.equal(batch.nftables.length, 7);
  assert.deepEqual(batch.nftables[6], {
    add: {
      rule: {
        family: 'ip',
        table: 'talkgate_intercept',
        chain: 'prerouting',
        comment: 'talkgate inbound replies',
        expr: [
          { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'inside' } },
          { match: { op: '==', left: { payload: { protocol: 'udp', field: 'sport' } }, right: { set: [517, 518] } } },
          { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 15518 } },
          { match: { op: '!=', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } },
          { match: { op: '==', left: { fib: { result: 'oifname', flags: ['daddr'] } }, right: 'outside' } },
          { mangle: { key: { meta: { key: 'mark' } }, value: 0x7467 } },
          { tproxy: { port: 15518 } },
        ],
      },
    },
  });
});
