import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Mapping } from './middlebox-core.js';
import { middleboxStatus } from './middlebox-status.js';

test('middleboxStatus() shows client, third party, filter and lifetime left, never the nonce', () => {
  const m = {
    id: 'm-1',
    nonce: '0123456789abcdef01234567',
    subject: '10.1.0.5',
    requester: '10.1.0.1',
    protocol: 6,
    internalPort: 5555,
    externalPort: 40002,
    peer: '203.0.113.2',
    expiresAt: 61_400,
    natpmp: false,
  } as unknown as Mapping;
  const st = middleboxStatus([m], 1_000);
  assert.deepEqual(st.mappings, [
    { id: 'm-1', client: '10.1.0.1', thirdParty: '10.1.0.5', protocol: 'tcp', internalPort: 5555, externalPort: 40002, filter: '203.0.113.2', lifetimeLeftSeconds: 60, kind: 'pcp' },
  ]);
  assert.doesNotMatch(JSON.stringify(st), /0123456789abcdef/);
  assert.equal(middleboxStatus([{ ...m, subject: m.requester, natpmp: true }], 99_000).mappings[0]?.thirdParty, undefined);
});
