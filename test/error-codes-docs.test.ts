/**
 * docs/error-codes.md keeps up with the code: every registered error code, call reason and
 * privileged refusal (gateway and middlebox) has its row, with the meaning the code gives it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lab/peers.js';
import { ERROR_CODES } from '../src/shared/error-codes.js';
import { CALL_REASONS } from '../src/gateway/session/call-reason.js';
import { PRIVILEGED_REFUSALS } from '../src/gateway/privsep/privsep-messages.js';
import { MIDDLEBOX_REFUSALS } from '../src/pcp/privsep/middlebox-op-check.js';

const page = readFileSync(join(repoRoot(), 'docs', 'error-codes.md'), 'utf8');
const row = (code: string, meaning: string): string => `| \`${code}\` | ${meaning.replace(/\|/g, '\\|')} |`;

for (const [name, registry] of [
  ['error code', ERROR_CODES],
  ['call reason', CALL_REASONS],
  ['gateway privileged refusal', PRIVILEGED_REFUSALS],
  ['middlebox privileged refusal', MIDDLEBOX_REFUSALS],
] as const) {
  test(`docs/error-codes.md lists every ${name} with its meaning`, () => {
    const missing = Object.entries(registry).filter(([code, meaning]) => !page.includes(row(code, meaning)));
    assert.deepEqual(missing.map(([c]) => c), [], `rows missing or out of date: regenerate the page: npm run build && node scripts/error-codes-doc.js > docs/error-codes.md`);
  });
}
