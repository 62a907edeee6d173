/**
 * Adapter: nftables through libnftables (libnftables.so.1, the library behind the `nft` program)
 * in process via koffi, with the same JSON batches and result classification as NftRunner's
 * `nft -j` runs but without a fork/exec per transaction (the middlebox's per-request cost).
 *
 * libnftables(3): nft_ctx_new(NFT_CTX_DEFAULT), nft_ctx_output_set_flags(NFT_CTX_OUTPUT_JSON)
 * (JSON input is then parsed as JSON, output printed as JSON), nft_ctx_buffer_output/_error,
 * nft_run_cmd_from_buffer. Calls are synchronous (a batch of a few elements is well under a
 * millisecond of netlink work) so two batches can never interleave on the one context.
 */
import koffi from 'koffi';
import { classifyNftError, type NftResult } from '../firewall/nft-runner.js';
import type { NftBatch, NftFamily } from '../firewall/nft-ruleset.js';

/** libnftables soname (Debian libnftables1). */
export const LIBNFTABLES = 'libnftables.so.1';
/** <nftables/libnftables.h>: NFT_CTX_DEFAULT and NFT_CTX_OUTPUT_JSON. */
const NFT_CTX_DEFAULT = 0;
const NFT_CTX_OUTPUT_JSON = 1 << 4;
/** Bound on the JSON text handed to libnftables (one batch). */
export const NFT_LIBRARY_MAX_COMMAND = 4 * 1024 * 1024;

interface Lib {
  ctxNew(flags: number): unknown;
  setFlags(ctx: unknown, flags: number): void;
  bufferOutput(ctx: unknown): number;
  bufferError(ctx: unknown): number;
  getOutput(ctx: unknown): string | null;
  getError(ctx: unknown): string | null;
  run(ctx: unknown, cmd: string): number;
  free(ctx: unknown): void;
}

let lib: Lib | null | undefined;

function load(): Lib | null {
  if (lib !== undefined) return lib;
  try {
    const l = koffi.load(LIBNFTABLES);
    lib = {
      ctxNew: l.func('void *nft_ctx_new(uint32_t flags)'),
      setFlags: l.func('void nft_ctx_output_set_flags(void *ctx, unsigned int flags)'),
      bufferOutput: l.func('int nft_ctx_buffer_output(void *ctx)'),
      bufferError: l.func('int nft_ctx_buffer_error(void *ctx)'),
      getOutput: l.func('const char *nft_ctx_get_output_buffer(void *ctx)'),
      getError: l.func('const char *nft_ctx_get_error_buffer(void *ctx)'),
      run: l.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)'),
      free: l.func('void nft_ctx_free(void *ctx)'),
    } as Lib;
  } catch {
    lib = null;
  }
  return lib;
}

export class NftLibrary {
  readonly #lib: Lib;

  private constructor(l: Lib) {
    this.#lib = l;
  }

  /** The library runner, or null when libnftables cannot be loaded (use NftRunner then). */
  static open(): NftLibrary | null {
    const l = load();
    return l === null ? null : new NftLibrary(l);
  }

  /** Runs one command text (a JSON batch or a JSON list command) in a fresh context. */
  run(text: string): NftResult {
    if (text.length > NFT_LIBRARY_MAX_COMMAND) return { ok: false, failure: 'other', message: `command of ${text.length} octets` };
    const l = this.#lib;
    // A fresh context per command: its output/error buffers hold only this command's text.
    const ctx = l.ctxNew(NFT_CTX_DEFAULT);
    if (ctx === null) return { ok: false, failure: 'other', message: 'nft_ctx_new failed' };
    try {
      l.setFlags(ctx, NFT_CTX_OUTPUT_JSON);
      l.bufferOutput(ctx);
      l.bufferError(ctx);
      const rc = l.run(ctx, text);
      const out = l.getOutput(ctx) ?? '';
      if (rc === 0) return { ok: true, stdout: out };
      const err = (l.getError(ctx) ?? '').trim();
      return { ok: false, failure: classifyNftError(undefined, err, false), message: (err || `libnftables returned ${rc}`).slice(0, 2000) };
    } finally {
      l.free(ctx);
    }
  }

  /** Applies one batch atomically (same JSON as `nft -j`). */
  apply(batch: NftBatch): Promise<NftResult> {
    return Promise.resolve(this.run(JSON.stringify(batch)));
  }

  /** `list table` as JSON text, or a failure. */
  listTable(family: NftFamily, table: string): Promise<NftResult> {
    return Promise.resolve(this.run(JSON.stringify({ nftables: [{ list: { table: { family, name: table } } }] })));
  }
}
