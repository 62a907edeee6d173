/**
 * NftLibraryRunner (libnftables in process) against the real library, side by side with NftRunner
 * (`nft -j`), in a fresh network namespace of a child process (`unshare -n`): the same batches
 * must give the same outcomes, failures as data. Needs root; skips with a printed reason when not
 * root or libnftables/nft are missing, and fails under CI=true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootNetnsSkip, runAsChild } from '../native/testing/root-netns-skip.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LibnftablesUnavailableError, openLibnftables } from '../native/libnftables.js';
import { NftLibraryRunner, openNftBackend } from './nft-library-runner.js';
import { NftRunner, NFT_ARGV_MAX_BYTES, type NftBackend, type NftElement, type NftResult } from './nft-runner.js';
import type { NftBatch } from './nft-ruleset.js';

const SELF = fileURLToPath(import.meta.url);
const MISSING = 'libnftables-talkgate-missing.so.0';
const UNSHARE = '/usr/bin/unshare';
const NFT = '/usr/sbin/nft';
/** Bound on the child's run (both backends, a few batches each). */
const CHILD_TIMEOUT_MS = 30_000;
/** Elements of the big batch: its JSON is beyond NFT_ARGV_MAX_BYTES (exec goes through a temp file). */
const BIG = Math.ceil(NFT_ARGV_MAX_BYTES / 60) + 100;

// ---------------------------------------------------------------- the child (in its own netns)

type Step = { step: string; ok: boolean; failure?: string; message?: boolean; elements?: readonly string[]; extra?: unknown };

function step(name: string, r: NftResult | NftElement[], extra?: unknown): Step {
  if (Array.isArray(r)) {
    const elements = r.map((e) => `${e.key.join(' . ')}${e.value === undefined ? '' : ` : ${JSON.stringify(e.value)}`}${e.comment === undefined ? '' : ` # ${e.comment}`}`).sort();
    return { step: name, ok: true, elements, ...(extra === undefined ? {} : { extra }) };
  }
  return r.ok ? { step: name, ok: true } : { step: name, ok: false, failure: r.failure, message: r.message.length > 0 };
}

async function scenario(nft: NftBackend): Promise<Step[]> {
  const family = 'ip' as const;
  const table = 'tgu_t';
  const el = (cmd: 'add' | 'create' | 'delete', name: string, elem: unknown[]): NftBatch['nftables'][number] =>
    ({ [cmd]: { element: { family, table, name, elem } } });
  const b = (...cmds: unknown[]): NftBatch => ({ nftables: cmds }) as unknown as NftBatch;
  const pin = (a: string, port: number, comment?: string): unknown => ({
    elem: { val: { concat: ['192.0.2.2', a, port] }, timeout: 30, ...(comment === undefined ? {} : { comment }) },
  });
  const out: Step[] = [];
  out.push(step('list missing table', await nft.listTable(family, table)));
  out.push(
    step(
      'create table, set, map',
      await nft.apply(
        b(
          { add: { table: { family, name: table } } },
          { add: { set: { family, table, name: 'pin4', type: ['ipv4_addr', 'ipv4_addr', 'inet_service'], flags: ['timeout'] } } },
          { add: { map: { family, table, name: 'dnat4', type: ['ipv4_addr', 'inet_service'], map: 'inet_service', flags: ['timeout'] } } },
        ),
      ),
    ),
  );
  out.push(step('create A', await nft.apply(b(el('create', 'pin4', [pin('10.1.0.2', 5555, 'call-1')])))));
  out.push(step('create B + existing A (one batch)', await nft.apply(b(el('create', 'pin4', [pin('10.1.0.3', 5555)]), el('create', 'pin4', [pin('10.1.0.2', 5555)])))));
  out.push(step('delete missing', await nft.apply(b(el('delete', 'pin4', [{ concat: ['192.0.2.9', '10.1.0.9', 1] }])))));
  out.push(step('unknown command', await nft.apply(b({ add: { bogus: { family, name: 'x' } } }))));
  const listed = await nft.listElements(family, table, 'pin4');
  const first = Array.isArray(listed) ? listed[0] : undefined;
  out.push(step('list pin4 (only A: the failed batch applied nothing)', listed, { timeout: first?.timeout, expiresAtMost30: first?.expires !== undefined && first.expires <= 30 }));
  out.push(step('add map element', await nft.apply(b(el('add', 'dnat4', [[{ elem: { val: { concat: ['192.0.2.2', 41000] }, timeout: 30 } }, 5555]])))));
  out.push(step('list dnat4', await nft.listElements(family, table, 'dnat4', 'map')));
  out.push(step('list missing set', await nft.listElements(family, table, 'nosuch')));
  const big = Array.from({ length: BIG }, (_, i) => pin(`10.2.${i >> 8}.${i & 255}`, 1000 + (i % 60000)));
  out.push(step('big batch', await nft.apply(b(el('add', 'pin4', big)))));
  const all = await nft.listElements(family, table, 'pin4');
  out.push({ step: 'count after big batch', ok: Array.isArray(all), extra: Array.isArray(all) ? all.length : -1 });
  out.push(step('delete table', await nft.apply(b({ delete: { table: { family, name: table } } }))));
  return out;
}

async function child(): Promise<void> {
  const lib = new NftLibraryRunner();
  const result = { lib: await scenario(lib), exec: await scenario(new NftRunner({ command: [NFT] })) };
  lib.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------- the parent

function skipReason(): string | false {
  return rootNetnsSkip({ what: 'nftables', tools: [UNSHARE, NFT], probe: () => openLibnftables().close() });
}

if (!runAsChild('--nft-library-child', child)) {
  test('openLibnftables() names the missing library in a typed error; openNftBackend("lib") falls back to exec saying why', () => {
    assert.throws(() => openLibnftables(MISSING), (e: unknown) => e instanceof LibnftablesUnavailableError && e.message.includes(MISSING) && e.message.includes('exec'));
    const lib = openNftBackend('lib', {}, MISSING);
    assert.equal(lib.backend.kind, 'exec');
    assert.match(lib.fallback ?? '', new RegExp(MISSING.replace(/\./g, '\\.')));
    const exec = openNftBackend('exec');
    assert.equal(exec.backend.kind, 'exec');
    assert.equal(exec.fallback, undefined);
  });

  test('NftLibraryRunner and NftRunner give the same outcomes in a fresh netns; failures are data', { skip: skipReason() }, async () => {
    const env = { ...process.env };
    delete env['NODE_TEST_CONTEXT'];
    const r = spawnSync(UNSHARE, ['-n', process.execPath, ...process.execArgv, SELF, '--nft-library-child'], { env, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
    assert.equal(r.status, 0, `child failed: ${r.stdout} ${r.stderr}`);
    const got = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{')) ?? '{}') as { lib: Step[]; exec: Step[] };
    // Both ways of driving nftables agree step by step.
    assert.deepEqual(got.lib, got.exec);
    const by = new Map(got.lib.map((s) => [s.step, s]));
    const s = (n: string): Step => by.get(n) ?? assert.fail(`no step ${n}`);
    assert.deepEqual(s('list missing table'), { step: 'list missing table', ok: false, failure: 'no-such-element', message: true });
    assert.equal(s('create table, set, map').ok, true);
    assert.equal(s('create A').ok, true);
    assert.deepEqual(s('create B + existing A (one batch)'), { step: 'create B + existing A (one batch)', ok: false, failure: 'exists', message: true });
    assert.deepEqual(s('delete missing'), { step: 'delete missing', ok: false, failure: 'no-such-element', message: true });
    assert.equal(s('unknown command').ok, false);
    assert.equal(s('unknown command').message, true);
    assert.deepEqual(s('list pin4 (only A: the failed batch applied nothing)').elements, ['192.0.2.2 . 10.1.0.2 . 5555 # call-1']);
    assert.deepEqual(s('list pin4 (only A: the failed batch applied nothing)').extra, { timeout: 30, expiresAtMost30: true });
    assert.equal(s('add map element').ok, true);
    assert.deepEqual(s('list dnat4').elements, ['192.0.2.2 . 41000 : 5555']);
    assert.equal(s('list missing set').failure, 'no-such-element');
    assert.equal(s('big batch').ok, true);
    assert.deepEqual(s('count after big batch').extra, BIG + 1);
    assert.equal(s('delete table').ok, true);
    // The child's table lived in its namespace only: this namespace has none.
    const here = await new NftRunner({ command: [NFT] }).listTable('ip', 'tgu_t');
    assert.equal(here.ok, false);
  });
}
