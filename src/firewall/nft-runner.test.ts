import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyNftError, NftRunner, NFT_ARGV_MAX_BYTES } from './nft-runner.js';

// A stand-in "nft" (a real program, sh) that reports how it was called: argv length or file size.
const probe = new NftRunner({
  command: ['sh', '-c', 'if [ "$2" = -f ]; then printf "file %s" "$(wc -c < "$3")"; else printf "argv %s" "${#2}"; fi', 'nft'],
});

test('NftRunner.apply() passes a small batch as one argv string', async () => {
  const batch = { nftables: [{ add: { table: { family: 'ip', name: 't' } } }] };
  const r = await probe.apply(batch);
  assert.deepEqual(r, { ok: true, stdout: `argv ${JSON.stringify(batch).length}` });
});

test('NftRunner.apply() passes a batch beyond MAX_ARG_STRLEN through a temp file (-j -f FILE), removed after', async () => {
  const n = Math.ceil(NFT_ARGV_MAX_BYTES / 50) + 10;
  const batch = { nftables: Array.from({ length: n }, (_, i) => ({ add: { element: { family: 'ip', table: 't', name: 'pin4', elem: [i] } } })) };
  const r = await probe.apply(batch);
  assert.deepEqual(r, { ok: true, stdout: `file ${JSON.stringify(batch).length}` });
});

test('classifyNftError() maps EEXIST and ENOENT from nft stderr', () => {
  assert.equal(classifyNftError(1, 'Error: Could not process rule: File exists', false), 'exists');
  assert.equal(classifyNftError(1, 'Error: Could not process rule: No such file or directory', false), 'no-such-element');
  assert.equal(classifyNftError('ENOENT', '', false), 'nft-missing');
  assert.equal(classifyNftError(1, '', true), 'timeout');
});
