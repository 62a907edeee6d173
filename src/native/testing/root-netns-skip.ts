/**
 * Shared gate for native-library tests that need root and a fresh network namespace: returns the
 * reason to skip (printed by node:test), or false to run. Under CI=true a missing prerequisite is
 * a failure, never a silent skip.
 */
import { accessSync, constants } from 'node:fs';

export interface RootNetnsNeeds {
  /** What the test exercises, for the messages ("nftables", "conntrack"). */
  readonly what: string;
  /** Executables that must be present. */
  readonly tools: readonly string[];
  /** Loads the library once; throws with a readable message when it cannot. */
  readonly probe: () => void;
}

export function rootNetnsSkip(needs: RootNetnsNeeds): string | false {
  let reason: string | undefined;
  if (process.platform !== 'linux') reason = 'needs Linux';
  else if (process.getuid?.() !== 0) reason = `needs root (${needs.what} in a fresh network namespace)`;
  else {
    for (const p of needs.tools)
      try {
        accessSync(p, constants.X_OK);
      } catch {
        reason ??= `${p} missing`;
      }
    if (reason === undefined)
      try {
        needs.probe();
      } catch (e: unknown) {
        reason = (e as Error).message;
      }
  }
  if (reason === undefined) return false;
  if (process.env['CI'] === 'true') throw new Error(`CI=true and the ${needs.what} test cannot run: ${reason}`);
  return reason;
}

/** Runs `child` when this test file was re-executed as the namespace child (`flag` in argv). */
export function runAsChild(flag: string, child: () => Promise<void>): boolean {
  if (!process.argv.includes(flag)) return false;
  void child().catch((e: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: String(e) })}\n`);
    process.exitCode = 1;
  });
  return true;
}
