// A node:test reporter for scripts/run-tests.js: it prints nothing itself (node's own reporter
// stays in charge of stdout and its closing lines); for every skipped test it writes one JSON line
// {file, name, reason} to the file descriptor named by TALKGATE_SKIP_FD (the runner's collecting
// pipe), so the runner can close with a summary of what did not run and why.
// node:test reports a skip as a test:pass (Node 20) or test:skip event whose data.skip holds the
// reason string (or true); nested names are joined from the test:start events of the same file.
import { writeSync } from 'node:fs';

/** Longest reason or name kept per skip line (a reason is a short prerequisite message). */
const MAX_TEXT = 500;

const clip = (s) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);

// eslint-disable-next-line require-yield -- a silent reporter: node:test wants a generator; it writes to its own fd only
export default async function* skipReporter(source) {
  const fd = Number(process.env.TALKGATE_SKIP_FD ?? 'NaN');
  /** Per file: the names of the tests open at each nesting depth. */
  const stacks = new Map();
  for await (const ev of source) {
    const d = ev.data ?? {};
    const file = typeof d.file === 'string' ? d.file : '';
    if (ev.type === 'test:start') {
      const stack = stacks.get(file) ?? [];
      stack.length = d.nesting ?? 0;
      stack.push(String(d.name));
      stacks.set(file, stack);
      continue;
    }
    if ((ev.type !== 'test:pass' && ev.type !== 'test:skip') || d.skip === undefined || d.skip === false) continue;
    const parents = (stacks.get(file) ?? []).slice(0, d.nesting ?? 0);
    const line = {
      file,
      name: clip([...parents, String(d.name)].join(' › ')),
      reason: typeof d.skip === 'string' && d.skip !== '' ? clip(d.skip) : null,
    };
    if (Number.isInteger(fd) && fd > 2) {
      try {
        writeSync(fd, `${JSON.stringify(line)}\n`);
      } catch {
        // no collector (reporter used on its own): nothing to report to
      }
    }
  }
}
