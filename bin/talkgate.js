#!/usr/bin/env node
// Entry point declared in package.json "bin". The TypeScript sources are compiled to dist/ by
// `npm ci` (the "prepare" script) or `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('talkgate: not built yet; run `npm ci` (or `npm run build`) in the checkout\n');
  process.exit(2);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
