/**
 * The one scan over a relayed chunk (issue 17, "a text chunk without ESC, C1 or unwanted C0 bytes
 * should cost one scan"): the index of the first C0 control the stream sanitiser must render.
 * Pure (no I/O); one small WebAssembly instance per process.
 *
 * The scan is 16 bytes per step in WebAssembly SIMD: a chunk window (at most SCAN_WINDOW_BYTES) is
 * copied into the instance's memory once, and `scan` classifies each 16-byte block with two
 * `i8x16.swizzle` table lookups (bytes 0x00–0x0F, and 0x10–0x1F after subtracting 16; any other
 * byte indexes out of range and reads 0) and one `v128.any_true`. The table (32 bytes, per finder)
 * marks the C0 controls to render: all but TAB, LF, CR, BEL, BS and the sender's edit characters.
 * JavaScript then names the exact byte inside the block. Where WebAssembly SIMD is unavailable
 * (`WebAssembly.validate` says no) the same answer comes from {@link findUnsafeC0Swar}.
 */

/** C0 controls a talk peer legitimately sends (talk-protocol.md §4.3): BEL, BS, TAB, LF, CR. */
export const ALWAYS_KEPT_C0: readonly number[] = [0x07, 0x08, 0x09, 0x0a, 0x0d];

/** Bytes below this are C0 controls (ECMA-48 §5.2). */
const C0_END = 0x20;
/** Bytes of a v128 (WebAssembly SIMD): one scan step. */
const BLOCK_BYTES = 16;
/** Bytes of chunk copied into the instance at a time (one page of wasm memory, the usual socket read). */
export const SCAN_WINDOW_BYTES = 65_536;
/** Instance memory: [0, 32) the finder's table, [DATA_OFFSET, DATA_OFFSET + SCAN_WINDOW_BYTES) the window. */
const TABLE_BYTES = 32;
const DATA_OFFSET = 64;
/** WebAssembly pages of 64 KiB (WebAssembly core spec §2.3.8) holding table and window. */
const MEMORY_PAGES = 2;

/**
 * The module, hand-assembled (WebAssembly core spec §5, SIMD opcodes from the fixed-width SIMD
 * proposal, part of WebAssembly 2.0). Its text form:
 *
 *   (module
 *     (memory (export "mem") 2)
 *     (func (export "scan") (param $p i32) (param $end i32) (result i32)
 *       (local $lo v128) (local $hi v128) (local $sixteen v128) (local $v v128)
 *       (local.set $lo (v128.load (i32.const 0)))             ;; table[0..15]:  0xFF = render
 *       (local.set $hi (v128.load offset=16 (i32.const 0)))   ;; table[16..31]
 *       (local.set $sixteen (i8x16.splat (i32.const 16)))
 *       (block $out (loop $next
 *         (br_if $out (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
 *         (local.set $v (v128.load (local.get $p)))
 *         (br_if $out (v128.any_true (v128.or
 *           (i8x16.swizzle (local.get $lo) (local.get $v))
 *           (i8x16.swizzle (local.get $hi) (i8x16.sub (local.get $v) (local.get $sixteen))))))
 *         (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *         (br $next)))
 *       (local.get $p)))
 *
 * `scan(p, end)` returns the offset of the first 16-byte block holding a marked byte, or the first
 * offset with fewer than 16 bytes left before `end`.
 */
// prettier-ignore
const SCAN_MODULE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // type section: (i32, i32) -> i32
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x05, 0x03, 0x01, 0x00, MEMORY_PAGES, // memory section: min MEMORY_PAGES, no max
  0x07, 0x0e, 0x02, // export section, 2 exports
  0x04, 0x73, 0x63, 0x61, 0x6e, 0x00, 0x00, // "scan" func 0
  0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, // "mem" memory 0
  0x0a, 0x55, 0x01, 0x53, // code section (85 bytes), 1 body of 83 bytes
  0x01, 0x04, 0x7b, // locals: 4 × v128 (indices 2..5)
  0x41, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x21, 0x02, // $lo = v128.load (i32.const 0)
  0x41, 0x00, 0xfd, 0x00, 0x00, 0x10, 0x21, 0x03, // $hi = v128.load offset=16 (i32.const 0)
  0x41, 0x10, 0xfd, 0x0f, 0x21, 0x04, // $sixteen = i8x16.splat 16
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x20, 0x01, 0x4b, 0x0d, 0x01, // br_if $out (p + 16 > end)
  0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x21, 0x05, // $v = v128.load p
  0x20, 0x02, 0x20, 0x05, 0xfd, 0x0e, // i8x16.swizzle $lo $v
  0x20, 0x03, 0x20, 0x05, 0x20, 0x04, 0xfd, 0x71, 0xfd, 0x0e, // i8x16.swizzle $hi ($v - 16)
  0xfd, 0x50, 0xfd, 0x53, 0x0d, 0x01, // br_if $out (any_true (or …))
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, 0x0c, 0x00, // p += 16; br $next
  0x0b, 0x0b, // end loop, end block
  0x20, 0x00, 0x0b, // return p
]);

interface ScanInstance {
  scan: (p: number, end: number) => number;
  mem: Uint8Array;
}

/** The part of the WebAssembly JS API used here (the project's lib settings do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

function instantiate(): ScanInstance | undefined {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined || !api.validate(SCAN_MODULE)) return undefined;
  const { scan, mem } = new api.Instance(new api.Module(SCAN_MODULE)).exports as {
    scan: ScanInstance['scan'];
    mem: { buffer: ArrayBuffer };
  };
  return { scan, mem: new Uint8Array(mem.buffer) };
}

/** Whether the SIMD scan is in use (false: the SWAR fallback), for tests and benchmarks. */
export function simdScanAvailable(): boolean {
  return WASM !== undefined;
}

/** The process's instance (the memory never grows, so the view stays valid); undefined: SWAR. */
const WASM: ScanInstance | undefined = instantiate();

/** Which finder's table and which chunk window the instance holds now. */
let loadedTable: UnsafeC0Finder | undefined;
let loadedChunk: Uint8Array | undefined;
let loadedStart = 0;
let loadedEnd = 0;

/** Finds the C0 controls one stream direction must render (one finder per sanitiser). */
export class UnsafeC0Finder {
  /** 1 for a C0 control to render, per byte 0x00–0x1F. */
  readonly #unsafe = new Uint8Array(C0_END);

  /** `keep`: 1 for each C0 control to pass besides the always-kept ones (ESC is never kept). */
  constructor(keep: Uint8Array) {
    for (let b = 0; b < C0_END; b++) this.#unsafe[b] = keep[b] === 1 ? 0 : 1;
    for (const b of ALWAYS_KEPT_C0) this.#unsafe[b] = 0;
  }

  /**
   * Forgets the chunk window held in the instance: call before scanning a chunk whose bytes may
   * have changed since the last scan (a new push), since windows are recognised by identity.
   */
  static forget(): void {
    loadedChunk = undefined;
  }

  /**
   * Index of the first byte in chunk[from, to) that is a C0 control to render; `to` if none.
   * @example new UnsafeC0Finder(new Uint8Array(32)).find(Buffer.from('ab\tc\x1bd'), 0, 6) === 4
   */
  find(chunk: Uint8Array, from: number, to: number): number {
    if (WASM === undefined) return findUnsafeC0Swar(chunk, from, to, this.#unsafe);
    let i = from;
    while (i < to) {
      if (loadedChunk !== chunk || i < loadedStart || i >= loadedEnd) this.#load(WASM, chunk, i, to);
      else if (loadedTable !== this) this.#loadTable(WASM);
      const end = Math.min(to, loadedEnd);
      const hit = loadedStart + WASM.scan(DATA_OFFSET + (i - loadedStart), DATA_OFFSET + (end - loadedStart)) - DATA_OFFSET;
      const stop = Math.min(end, hit + BLOCK_BYTES);
      for (let j = hit; j < stop; j++) if (this.#unsafe[chunk[j]!] === 1) return j;
      i = stop;
    }
    return to;
  }

  #load(wasm: ScanInstance, chunk: Uint8Array, from: number, to: number): void {
    const end = Math.min(to, from + SCAN_WINDOW_BYTES);
    wasm.mem.set(chunk.subarray(from, end), DATA_OFFSET);
    loadedChunk = chunk;
    loadedStart = from;
    loadedEnd = end;
    this.#loadTable(wasm);
  }

  #loadTable(wasm: ScanInstance): void {
    for (let b = 0; b < TABLE_BYTES; b++) wasm.mem[b] = this.#unsafe[b] === 1 ? 0xff : 0;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the module remembers which table the shared WebAssembly memory holds
    loadedTable = this;
  }
}

/**
 * The same answer without WebAssembly, four bytes per step: `(x - 0x20202020) & ~x & 0x80808080`
 * is non-zero exactly when some byte of x is below 0x20 ("has a byte less than n", Anderson's bit
 * hacks); only such a word is looked at byte by byte. `unsafe`: 1 per C0 control to render.
 */
export function findUnsafeC0Swar(chunk: Uint8Array, from: number, to: number, unsafe: Uint8Array): number {
  let i = from;
  const misaligned = (chunk.byteOffset + i) & 3;
  const headEnd = Math.min(to, misaligned === 0 ? i : i + 4 - misaligned);
  for (; i < headEnd; i++) if (unsafe[chunk[i]!] === 1) return i;
  const words = (to - i) >>> 2;
  if (words > 0) {
    const w = new Uint32Array(chunk.buffer, chunk.byteOffset + i, words);
    for (let k = 0; k < words; k++) {
      const x = w[k]!;
      if (((x - 0x20202020) & ~x & 0x80808080) === 0) continue;
      const at = i + k * 4;
      for (let j = at; j < at + 4; j++) if (unsafe[chunk[j]!] === 1) return j;
    }
    i += words * 4;
  }
  for (; i < to; i++) if (unsafe[chunk[i]!] === 1) return i;
  return to;
}
