/**
 * The README's "Watch a call cross the gateway" demo as data: the command lines of that section's
 * `sh` code blocks, each with the terminal it is typed in (`# terminal N: ...` comment lines switch
 * terminals; other comments and blank lines are skipped). test/gateway-demo.test.ts runs these
 * lines as they stand, so the README and the test cannot drift apart.
 */

/** The heading of the README section that holds the demo. */
export const DEMO_HEADING = '### Watch a call cross the gateway';

/** One line the reader types, in the terminal the README names. */
export interface DemoStep {
  readonly terminal: number;
  readonly command: string;
}

const TERMINAL_RE = /^#\s*terminal\s+(\d+)\b/i;
/** A heading of the same or a higher level ends the section. */
const SECTION_END_RE = /^#{1,3}\s/;

/** The demo's steps in README order; throws when the section, its code or a terminal is missing. */
export function readmeDemoSteps(markdown: string): DemoStep[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === DEMO_HEADING);
  if (start < 0) throw new Error(`README has no section "${DEMO_HEADING}"`);
  const steps: DemoStep[] = [];
  let inCode = false;
  let terminal: number | undefined;
  for (const raw of lines.slice(start + 1)) {
    const line = raw.trim();
    if (!inCode && SECTION_END_RE.test(raw)) break;
    if (line.startsWith('```')) {
      inCode = !inCode && /^```(sh|bash|shell)?$/.test(line);
      continue;
    }
    if (!inCode || line === '') continue;
    const t = TERMINAL_RE.exec(line);
    if (t !== null) {
      terminal = Number(t[1]);
      continue;
    }
    if (line.startsWith('#')) continue;
    if (terminal === undefined) throw new Error(`README demo: "${line}" comes before any "# terminal N" line`);
    steps.push({ terminal, command: line });
  }
  if (steps.length === 0) throw new Error(`README section "${DEMO_HEADING}" has no commands`);
  return steps;
}
