/**
 * Adapter: asks whether another host answers ARP for a virtual address (`arping -D`, duplicate
 * address detection: exit 1 when a reply came, 0 when none). arping parses the replies, as
 * `conntrack` and `nft` do their own output for the privileged side; only its exit status is read.
 */
import { execFile } from 'node:child_process';

/** One DAD probe: one request, waiting this long for a reply (s). */
const ARPING_WAIT_S = 1;
/** A probe that has not finished by then is killed and counts as "no answer". */
const ARPING_TIMEOUT_MS = 3_000;

/** true: another host answered; false: none did; undefined: arping could not run. */
export function otherHostAnswers(iface: string, address: string, program = 'arping'): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    execFile(program, ['-D', '-q', '-c', '1', '-w', String(ARPING_WAIT_S), '-I', iface, address], { timeout: ARPING_TIMEOUT_MS }, (err) => {
      if (err === null) return resolve(false);
      const code = (err as { code?: unknown }).code;
      resolve(code === 1 ? true : undefined);
    });
  });
}
