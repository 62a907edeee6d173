#!/usr/bin/env node
// Entry point declared in package.json "bin". The TypeScript sources are compiled to dist/ by
// `npm ci` (the "prepare" script) or `npm run build`; a packed tarball (`npm pack`) ships dist/src.
// `talkgate --version` (or -V) prints the version of the package this file belongs to, read from
// its package.json, so the number has one source.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('talkgate: not built yet; run `npm ci` (or `npm run build`) in the checkout\n');
  process.exit(2);
}
const { run } = await import(main.href);
process.exitCode = await run(argv);
