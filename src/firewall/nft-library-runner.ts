/**
 * Adapter: nftables through libnftables in process (src/native/libnftables.ts), the same JSON
 * batches, listings and failure classification as {@link NftRunner}'s `nft -j` runs, without a
 * fork/exec per transaction. Works on this process's network namespace.
 *
 * {@link openNftBackend} is how callers choose: "lib" (default; falls back to exec when
 * libnftables cannot be loaded, saying why) or "exec".
 */
import { LIBNFTABLES_SONAME, openLibnftables, type Libnftables } from '../native/libnftables.js';
import type { NftBatch, NftFamily } from './nft-ruleset.js';
import { classifyNftError, elementsOf, NftRunner, type NftBackend, type NftElement, type NftResult, type NftRunnerOptions } from './nft-runner.js';

/** Bound on the error text kept in a failure (as NftRunner). */
const MAX_MESSAGE = 2000;

export class NftLibraryRunner implements NftBackend {
  readonly kind = 'lib' as const;
  readonly #nft: Libnftables;

  /** @throws LibnftablesUnavailableError (src/native/libnftables.ts) when the library cannot be loaded. */
  constructor(soname: string = LIBNFTABLES_SONAME) {
    this.#nft = openLibnftables(soname);
  }

  /** Runs one command text (JSON or nft syntax); a failed command is a result, never a throw. */
  run(text: string): NftResult {
    const o = this.#nft.run(text);
    if (o.rc === 0) return { ok: true, stdout: o.output };
    const err = o.error.trim();
    return { ok: false, failure: classifyNftError(undefined, err, false), message: (err || `libnftables returned ${o.rc}`).slice(0, MAX_MESSAGE) };
  }

  apply(batch: NftBatch): Promise<NftResult> {
    return Promise.resolve(this.run(JSON.stringify(batch)));
  }

  listTable(family: NftFamily, table: string): Promise<NftResult> {
    return Promise.resolve(this.run(JSON.stringify({ nftables: [{ list: { table: { family, name: table } } }] })));
  }

  listElements(family: NftFamily, table: string, name: string, kind: 'set' | 'map' = 'set'): Promise<NftElement[] | NftResult> {
    const cmd = kind === 'set' ? { list: { set: { family, table, name } } } : { list: { map: { family, table, name } } };
    return Promise.resolve(elementsOf(this.run(JSON.stringify({ nftables: [cmd] }))));
  }

  /** Frees the libnftables context. */
  close(): void {
    this.#nft.close();
  }
}

/** How nftables is driven: libnftables in process, or the `nft` program per batch. */
export type NftHow = 'lib' | 'exec';

export interface NftBackendChoice {
  readonly backend: NftBackend;
  /** Set when "lib" was asked for but exec is used: why. */
  readonly fallback?: string;
}

/**
 * The backend for `how`: "lib" when libnftables loads (else exec, with the reason in `fallback`),
 * "exec" always exec. `exec` options (e.g. a namespace-entering command) apply to exec only.
 */
export function openNftBackend(how: NftHow, exec: NftRunnerOptions = {}, soname: string = LIBNFTABLES_SONAME): NftBackendChoice {
  if (how === 'exec') return { backend: new NftRunner(exec) };
  try {
    return { backend: new NftLibraryRunner(soname) };
  } catch (err: unknown) {
    return { backend: new NftRunner(exec), fallback: (err as Error).message };
  }
}
