// scripts/error-codes-doc.js - prints docs/error-codes.md from the registries (after `npm run build`):
//   node scripts/error-codes-doc.js > docs/error-codes.md
import { ERROR_CODES } from '../dist/src/shared/error-codes.js';
import { CALL_REASONS } from '../dist/src/gateway/session/call-reason.js';
import { PRIVILEGED_REFUSALS } from '../dist/src/gateway/privsep/privsep-messages.js';
import { MIDDLEBOX_REFUSALS } from '../dist/src/pcp/privsep/middlebox-op-check.js';
const esc = (s) => s.replace(/\|/g, '\\|');
const table = (o) => ['| code | meaning |', '|---|---|', ...Object.entries(o).map(([k, v]) => `| \`${k}\` | ${esc(v)} |`)].join('\n');
console.log(`# Stable codes

talkgate names every failure and every refusal with a stable code. Logs, audit records, metrics
labels and the commands' error lines carry the code; the message beside it is for people and may
change. A code, once released, keeps its meaning; a new failure gets a new code. This page is
checked against the code (\`test/error-codes-docs.test.ts\`): a code missing here fails the tests.

## Errors (\`TalkError.code\`)

Every error talkgate raises on purpose is a \`TalkError\` (\`src/shared/talk-error.ts\`) whose code is
a key of \`src/shared/error-codes.ts\`. A command that cannot go on prints
\`talkgate <command>: <message> (<CODE>)\`; anything else is reported as \`INTERNAL\` (a bug: please
report it with the log line).

${table(ERROR_CODES)}

## Call reasons (audit \`code\`, \`talkgate_calls_total{outcome}\`)

Why a call was refused or ended (\`src/gateway/session/call-reason.ts\`). The audit record of the
call's end carries it as \`code\`; the metrics count calls by a coarser outcome derived from it.

${table(CALL_REASONS)}

## Privileged refusals (gateway)

What the gateway's privileged process answers a worker request it will not carry out
(\`src/gateway/privsep/privsep-messages.ts\`); each refusal is logged with its code as
\`privileged request refused\`.

${table(PRIVILEGED_REFUSALS)}

## Privileged refusals (middlebox)

What \`talkgate middlebox\`'s privileged process answers a firewall operation of its PCP worker that
the configuration does not allow (\`src/pcp/privsep/middlebox-op-check.ts\`).

${table(MIDDLEBOX_REFUSALS)}`);
