/**
 * Adapter: runs `nft -j '<json>'` (JSON as argv: `nft -j -f -` cannot read node's piped stdin,
 * shared/reference/middlebox.md §3) and maps failures to typed results.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NftBatch, NftFamily } from './nft-ruleset.js';

/** Bound on one nft invocation (a batch of a few elements takes ~5 ms). */
export const NFT_TIMEOUT_MS = 5_000;
/** Largest JSON batch passed as one argv string (MAX_ARG_STRLEN is 128 KiB; keep a margin). */
export const NFT_ARGV_MAX_BYTES = 100_000;
/** Bound on what we read from nft's output (a full list of 4 sets × 65,536 elements fits). */
export const NFT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export type NftFailure = 'exists' | 'no-such-element' | 'permission' | 'nft-missing' | 'timeout' | 'other';

export type NftResult = { readonly ok: true; readonly stdout: string } | { readonly ok: false; readonly failure: NftFailure; readonly message: string };

export interface NftRunnerOptions {
  /** Program and leading args, e.g. ['nft'] or ['ip', 'netns', 'exec', 'tgp-fw', 'nft']. */
  readonly command?: readonly string[];
  readonly timeoutMs?: number;
}

/** Classifies nft's stderr / the spawn error. */
export function classifyNftError(code: string | number | undefined, stderr: string, killed: boolean): NftFailure {
  if (killed) return 'timeout';
  if (code === 'ENOENT') return 'nft-missing';
  if (/File exists/i.test(stderr)) return 'exists';
  if (/No such file or directory/i.test(stderr)) return 'no-such-element';
  if (/Operation not permitted|Permission denied/i.test(stderr)) return 'permission';
  return 'other';
}

export interface NftElement {
  readonly key: readonly (string | number)[];
  readonly value?: unknown;
  readonly timeout?: number;
  readonly expires?: number;
  readonly comment?: string;
}

/**
 * What callers need from nftables, by either way of driving it: {@link NftRunner} (`nft -j` per
 * batch, exec) or NftLibraryRunner (libnftables in process, lib; nft-library-runner.ts). Failures
 * are data (NftResult), never exceptions.
 */
export interface NftBackend {
  readonly kind: 'lib' | 'exec';
  /** Applies one batch atomically (a failing command applies nothing of the batch). */
  apply(batch: NftBatch): Promise<NftResult>;
  /** `list table` as JSON text, or a failure. */
  listTable(family: NftFamily, table: string): Promise<NftResult>;
  /** A set's or map's elements (with `expires` and `comment`), or a failure. */
  listElements(family: NftFamily, table: string, name: string, kind?: 'set' | 'map'): Promise<NftElement[] | NftResult>;
}

export class NftRunner implements NftBackend {
  readonly kind = 'exec' as const;
  readonly #command: readonly string[];
  readonly #timeoutMs: number;

  constructor(options: NftRunnerOptions = {}) {
    this.#command = options.command ?? ['nft'];
    this.#timeoutMs = options.timeoutMs ?? NFT_TIMEOUT_MS;
  }

  /** Runs nft with the given args. */
  run(args: readonly string[]): Promise<NftResult> {
    const [file, ...lead] = this.#command;
    return new Promise((resolve) => {
      execFile(
        file ?? 'nft',
        [...lead, ...args],
        { timeout: this.#timeoutMs, maxBuffer: NFT_MAX_OUTPUT_BYTES, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err === null) return resolve({ ok: true, stdout });
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          const failure = classifyNftError(e.code, String(stderr), e.killed === true && e.code !== 'ENOENT');
          resolve({ ok: false, failure, message: (String(stderr).trim() || e.message).slice(0, 2000) });
        },
      );
    });
  }

  /**
   * Applies one batch atomically. A batch too big for one argv string (Linux MAX_ARG_STRLEN) goes
   * through a private temp file (`-j -f FILE`; stdin cannot be used, see above).
   */
  async apply(batch: NftBatch): Promise<NftResult> {
    const json = JSON.stringify(batch);
    if (json.length <= NFT_ARGV_MAX_BYTES) return this.run(['-j', json]);
    const dir = await mkdtemp(join(tmpdir(), 'talkgate-nft-'));
    try {
      const file = join(dir, 'batch.json');
      await writeFile(file, json, { mode: 0o600 });
      return await this.run(['-j', '-f', file]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Lists a set or map's elements (with `expires` and `comment`). */
  async listElements(family: NftFamily, table: string, name: string, kind: 'set' | 'map' = 'set'): Promise<NftElement[] | NftResult> {
    return elementsOf(await this.run(['-j', 'list', kind, family, table, name]));
  }

  /** `nft -j list table` (raw JSON text) or a failure. */
  listTable(family: NftFamily, table: string): Promise<NftResult> {
    return this.run(['-j', 'list', 'table', family, table]);
  }
}

/** The elements of a successful `list set|map` result; unparsable output is a failure, not an exception. */
export function elementsOf(r: NftResult): NftElement[] | NftResult {
  if (!r.ok) return r;
  try {
    return parseNftElements(r.stdout);
  } catch (err: unknown) {
    // Empty or cut output (the table replaced under us): a failure, not an exception.
    return { ok: false, failure: 'other', message: `unparsable nft output: ${(err as Error).message}` };
  }
}

/** Parses the elements out of `nft -j list set|map` output. */
export function parseNftElements(json: string): NftElement[] {
  const doc = JSON.parse(json) as { nftables?: unknown[] };
  const out: NftElement[] = [];
  for (const o of doc.nftables ?? []) {
    const body = (o as Record<string, { elem?: unknown[] } | undefined>)['set'] ?? (o as Record<string, { elem?: unknown[] } | undefined>)['map'];
    if (body?.elem === undefined) continue;
    for (const raw of body.elem) {
      const [k, v] = Array.isArray(raw) ? [(raw as unknown[])[0], (raw as unknown[])[1]] : [raw, undefined];
      const inner: Record<string, unknown> = (k as { elem?: Record<string, unknown> }).elem ?? { val: k };
      const val = inner['val'] as { concat?: (string | number)[] } | string | number;
      const key = typeof val === 'object' && val !== null && Array.isArray(val.concat) ? val.concat : [val as string | number];
      const el: { key: (string | number)[]; value?: unknown; timeout?: number; expires?: number; comment?: string } = { key };
      if (v !== undefined) el.value = v;
      if (typeof inner['timeout'] === 'number') el.timeout = inner['timeout'];
      if (typeof inner['expires'] === 'number') el.expires = inner['expires'];
      if (typeof inner['comment'] === 'string') el.comment = inner['comment'];
      out.push(el);
    }
  }
  return out;
}

/** Adapter: `conntrack -D --mark N` deletes the flows of a call (exit 1 when none matched). */
export function deleteConntrackByMark(mark: number, command: readonly string[] = ['conntrack']): Promise<{ ok: boolean; deleted: number; message: string }> {
  const [file, ...lead] = command;
  return new Promise((resolve) => {
    execFile(file ?? 'conntrack', [...lead, '-D', '--mark', String(mark >>> 0)], { timeout: NFT_TIMEOUT_MS, encoding: 'utf8' }, (err, _stdout, stderr) => {
      const m = /(\d+) flow entries have been deleted/.exec(String(stderr));
      const deleted = m?.[1] === undefined ? 0 : Number(m[1]);
      resolve({ ok: err === null || deleted === 0, deleted, message: String(stderr).trim().slice(0, 500) });
    });
  });
}
