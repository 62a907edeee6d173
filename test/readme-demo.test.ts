import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lab/peers.js';
import { DEMO_HEADING, readmeDemoSteps } from './readme-demo.js';

const doc = (body: string): string => `# x\n\n${DEMO_HEADING}\n\ntext\n\n${body}\n\n### Next\n\n\`\`\`sh\n# terminal 9\nnot this\n\`\`\`\n`;

test('readmeDemoSteps() takes each command with its terminal, skipping comments, blanks and other sections', () => {
  const md = doc(['```sh', '# terminal 0: servers', 'a &', 'b', '', '# terminal 2: caller', '# a note', 'c', '```', '', '```sh', '# terminal 0', 'd', '```'].join('\n'));
  assert.deepEqual(readmeDemoSteps(md), [
    { terminal: 0, command: 'a &' },
    { terminal: 0, command: 'b' },
    { terminal: 2, command: 'c' },
    { terminal: 0, command: 'd' },
  ]);
});

test('readmeDemoSteps() refuses a missing section, a section without commands, a command before any terminal', () => {
  assert.throws(() => readmeDemoSteps('# nothing here\n'), /no section/);
  assert.throws(() => readmeDemoSteps(doc('no code')), /no commands/);
  assert.throws(() => readmeDemoSteps(doc('```sh\nls\n```')), /before any "# terminal N"/);
});

test("the README's demo: bob logs in before alice calls, and every command runs from the checkout without npx", () => {
  const steps = readmeDemoSteps(readFileSync(join(repoRoot(), 'README.md'), 'utf8'));
  const at = (re: RegExp): number => steps.findIndex((s) => re.test(s.command));
  assert.ok(at(/demo-login\.mjs \S+ bob$/) >= 0 && at(/demo-login\.mjs \S+ bob$/) < at(/talk .* bob@/), 'bob is logged in before alice calls him');
  for (const s of steps) assert.doesNotMatch(s.command, /\bnpx\b/, 'npx started several times at once races on first use');
  assert.deepEqual([...new Set(steps.map((s) => s.terminal))].sort(), [0, 1, 2, 3]);
});
