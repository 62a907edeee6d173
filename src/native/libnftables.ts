/**
 * libnftables(3) (libnftables.so.1, the library behind the `nft` program) through koffi: one
 * context, commands run in process with no fork/exec. Loaded lazily; nothing native is touched
 * unless a caller opens it. Linux only.
 *
 * - The context works on the calling process's network namespace (as `nft` run by this process
 *   would): the gateway started inside a namespace programs that namespace's firewall.
 * - Output is JSON (nft_ctx_output_set_flags NFT_CTX_OUTPUT_JSON); with that flag libnftables
 *   parses a JSON command text as JSON (`nft -j`), anything else as nft syntax.
 * - Output and error text are buffered (nft_ctx_buffer_output/_error) and read after each command:
 *   a failed command is data (rc != 0 plus the error text), never an exception. Reading a buffer
 *   rewinds it, so each command's text starts afresh (the Python binding does the same).
 * - Calls are synchronous on the calling thread: two commands never interleave on the context.
 */
import koffi, { type LibraryHandle } from 'koffi';
import { TalkError } from '../shared/talk-error.js';

/** Debian libnftables1 (a dependency of the nftables package). */
export const LIBNFTABLES_SONAME = 'libnftables.so.1';
/** <nftables/libnftables.h>: enum nft_ctx_flags NFT_CTX_DEFAULT. */
const NFT_CTX_DEFAULT = 0;
/** <nftables/libnftables.h>: enum nft_output_flags NFT_CTX_OUTPUT_JSON = (1 << 4). */
const NFT_CTX_OUTPUT_JSON = 1 << 4;
/** Bound on one command text (a batch for 1,000 holes is ~0.5 MB). */
export const LIBNFTABLES_MAX_COMMAND = 16 * 1024 * 1024;

/** What one command produced: rc 0 is success; `error` holds libnftables' messages. */
export interface NftCommandOutcome {
  readonly rc: number;
  readonly output: string;
  readonly error: string;
}

/** One libnftables context. */
export interface Libnftables {
  /** Runs one command text (a JSON batch or nft syntax) in this process's network namespace. */
  run(text: string): NftCommandOutcome;
  /** Frees the context (idempotent); run() afterwards is refused as an outcome with rc -1. */
  close(): void;
}

/** libnftables cannot be loaded (library missing, wrong architecture, no context). */
export class LibnftablesUnavailableError extends TalkError {
  override readonly name = 'LibnftablesUnavailableError';
  constructor(message: string) {
    super('NFTABLES_UNAVAILABLE', message);
  }
}

interface Fns {
  ctxNew(flags: number): unknown;
  setOutputFlags(ctx: unknown, flags: number): void;
  bufferOutput(ctx: unknown): number;
  bufferError(ctx: unknown): number;
  getOutput(ctx: unknown): string | null;
  getError(ctx: unknown): string | null;
  run(ctx: unknown, cmd: string): number;
  free(ctx: unknown): void;
}

const loaded = new Map<string, Fns>();

function bind(soname: string): Fns {
  const hit = loaded.get(soname);
  if (hit !== undefined) return hit;
  let lib: LibraryHandle;
  try {
    lib = koffi.load(soname);
  } catch (err: unknown) {
    throw new LibnftablesUnavailableError(
      `cannot load ${soname} (install the libnftables1 package, or use nft = "exec"): ${(err as Error).message.split('\n')[0] ?? ''}`,
    );
  }
  const fns: Fns = {
    ctxNew: lib.func('void *nft_ctx_new(uint32_t flags)'),
    setOutputFlags: lib.func('void nft_ctx_output_set_flags(void *ctx, unsigned int flags)'),
    bufferOutput: lib.func('int nft_ctx_buffer_output(void *ctx)'),
    bufferError: lib.func('int nft_ctx_buffer_error(void *ctx)'),
    getOutput: lib.func('const char *nft_ctx_get_output_buffer(void *ctx)'),
    getError: lib.func('const char *nft_ctx_get_error_buffer(void *ctx)'),
    run: lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)'),
    free: lib.func('void nft_ctx_free(void *ctx)'),
  };
  loaded.set(soname, fns);
  return fns;
}

/**
 * Opens one context (JSON output, buffered output and errors).
 * @throws LibnftablesUnavailableError when the library or a context cannot be had.
 */
export function openLibnftables(soname: string = LIBNFTABLES_SONAME): Libnftables {
  const f = bind(soname);
  const ctx = f.ctxNew(NFT_CTX_DEFAULT);
  if (ctx === null) throw new LibnftablesUnavailableError(`${soname}: nft_ctx_new failed`);
  f.setOutputFlags(ctx, NFT_CTX_OUTPUT_JSON);
  if (f.bufferOutput(ctx) !== 0 || f.bufferError(ctx) !== 0) {
    f.free(ctx);
    throw new LibnftablesUnavailableError(`${soname}: cannot buffer output`);
  }
  let open = true;
  return {
    run(text: string): NftCommandOutcome {
      if (!open) return { rc: -1, output: '', error: 'libnftables context closed' };
      if (text.length > LIBNFTABLES_MAX_COMMAND) return { rc: -1, output: '', error: `command of ${text.length} characters (bound ${LIBNFTABLES_MAX_COMMAND})` };
      if (text.includes('\0')) return { rc: -1, output: '', error: 'command contains a NUL character' };
      const rc = f.run(ctx, text);
      // Always read (and so rewind) both buffers: the next command's text starts afresh.
      const output = f.getOutput(ctx) ?? '';
      const error = f.getError(ctx) ?? '';
      return { rc, output, error };
    },
    close(): void {
      if (!open) return;
      open = false;
      f.free(ctx);
    },
  };
}
