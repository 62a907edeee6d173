import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NftResult } from './nft-runner.js';
import { renderReplaceTable, type NftBatch, type NftTableSpec } from './nft-ruleset.js';
import { flowtableSupport, renderFlowtableProbe, withFlowtableIfAvailable } from './nft-flowtable-probe.js';

const own: NftTableSpec = {
  family: 'ip',
  table: 'tgpin',
  deployment: 'own',
  prefix: '',
  outsideInterface: 'wan0',
  insideInterface: 'lan0',
  insideNetworks: ['10.9.0.0/24'],
  outbound: 'holes',
};

test('renderFlowtableProbe() adds and deletes a throwaway table with a flowtable on both faces, in one batch', () => {
  assert.deepEqual(renderFlowtableProbe(own).nftables, [
    { add: { table: { family: 'ip', name: 'tgpin_ftprobe' } } },
    { add: { flowtable: { family: 'ip', table: 'tgpin_ftprobe', name: 'probe', hook: 'ingress', prio: 0, dev: ['wan0', 'lan0'] } } },
    { delete: { table: { family: 'ip', name: 'tgpin_ftprobe' } } },
  ]);
});

test("flowtableSupport() reads nft's No such file or directory as a kernel without flowtables", () => {
  assert.deepEqual(flowtableSupport({ ok: true, stdout: '' }), { available: true });
  const none = flowtableSupport({ ok: false, failure: 'no-such-element', message: 'Error: Could not process rule: No such file or directory' });
  assert.equal(none.available ? 'yes' : none.reason, 'kernel-lacks-flowtable');
  const other = flowtableSupport({ ok: false, failure: 'permission', message: 'Operation not permitted' });
  assert.equal(other.available ? 'yes' : other.reason, 'probe-failed');
});

const flowAddRules = (b: NftBatch): unknown[] =>
  b.nftables.filter((c) => JSON.stringify(c).includes('"flow":{"op":"add","flowtable":"@ft"}'));

test('renderReplaceTable() offloads only marked established flows, and only when the spec asks for the flowtable', () => {
  const plain = renderReplaceTable(own);
  assert.equal(JSON.stringify(plain).includes('flowtable'), false);
  const fast = renderReplaceTable({ ...own, flowtable: true });
  assert.deepEqual(
    fast.nftables.find((c) => 'add' in c && JSON.stringify(c).startsWith('{"add":{"flowtable"')),
    { add: { flowtable: { family: 'ip', table: 'tgpin', name: 'ft', hook: 'ingress', prio: 0, dev: ['wan0', 'lan0'] } } },
  );
  const rules = flowAddRules(fast);
  assert.equal(rules.length, 1);
  const expr = JSON.stringify(rules[0]);
  assert.ok(expr.includes('"right":"established"') && expr.includes('"op":"!=","left":{"ct":{"key":"mark"}},"right":0'), expr);
  // The offload rule comes before the generic established accept (which would end evaluation).
  const order = fast.nftables.map((c) => JSON.stringify(c));
  const at = order.findIndex((c) => c.includes('"flow":{"op":"add"'));
  const accept = order.findIndex((c) => c.includes('"right":["established","related"]'));
  assert.ok(at >= 0 && at < accept);
  // The administrator's table is never given one.
  assert.equal(JSON.stringify(renderReplaceTable({ ...own, deployment: 'admin', prefix: 'tg_', flowtable: true })).includes('flow'), false);
});

test('withFlowtableIfAvailable() degrades with one logged notice when the kernel has no flowtable', async () => {
  const applied: NftBatch[] = [];
  const lines: [object, string | undefined][] = [];
  const log = { info: (o: object, m?: string) => void lines.push([o, m]) };
  const noFlowtable = async (b: NftBatch): Promise<NftResult> => {
    applied.push(b);
    return { ok: false, failure: 'no-such-element', message: 'Error: Could not process rule: No such file or directory' };
  };
  const spec = await withFlowtableIfAvailable(own, { apply: noFlowtable, log });
  assert.equal(spec.flowtable, undefined);
  assert.equal(applied.length, 1);
  assert.equal(lines.length, 1);
  assert.equal((lines[0]![0] as { reason?: string }).reason, 'kernel-lacks-flowtable');
  assert.equal(JSON.stringify(renderReplaceTable(spec)).includes('flowtable'), false);
});

test('withFlowtableIfAvailable() uses the flowtable where the probe succeeds, and never probes for an admin table', async () => {
  const lines: string[] = [];
  const log = { info: (_o: object, m?: string) => void lines.push(m ?? '') };
  let probes = 0;
  const ok = async (): Promise<NftResult> => {
    probes++;
    return { ok: true, stdout: '' };
  };
  assert.equal((await withFlowtableIfAvailable(own, { apply: ok, log })).flowtable, true);
  assert.equal(lines.length, 1);
  const admin = await withFlowtableIfAvailable({ ...own, deployment: 'admin' }, { apply: ok, log });
  assert.equal(admin.flowtable, undefined);
  assert.equal(probes, 1);
});
