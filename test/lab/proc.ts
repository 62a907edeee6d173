/**
 * Small process helpers for the lab harness: run a command with a time bound, run it
 * synchronously (teardown from exit handlers), sleep, and poll with a bound in time.
 */
import { execFile, execFileSync } from 'node:child_process';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Bytes written to the command's stdin. */
  readonly input?: string | Buffer;
  /** Kill the command (SIGKILL) after this long; default 15 s. */
  readonly timeoutMs?: number;
  /** Throw when the exit code is not 0 (default true). */
  readonly check?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Default bound for any single command the harness runs. */
export const DEFAULT_RUN_TIMEOUT_MS = 15_000;

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    super(
      `command failed (exit ${result.code}): ${argv.join(' ')}\n${result.stderr.trim()}${
        result.stdout.trim() ? `\nstdout: ${result.stdout.trim().slice(0, 2000)}` : ''
      }`,
    );
    this.name = 'CommandError';
  }
}

/** Runs argv[0] with the rest as arguments (no shell). */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
        env: opts.env ?? process.env,
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      },
      (err, stdout, stderr) => {
        let code = 0;
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string | null };
          if (typeof e.code === 'number') code = e.code;
          else if (e.killed || e.signal) code = 128 + 9;
          else {
            reject(err);
            return;
          }
        }
        const result: RunResult = { code, stdout, stderr };
        if (code !== 0 && opts.check !== false) reject(new CommandError(argv, result));
        else resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Synchronous variant for teardown paths (exit handlers cannot await). Never throws. */
export function runSync(argv: readonly string[], timeoutMs = 5_000): RunResult {
  const [file, ...args] = argv;
  if (file === undefined) return { code: 1, stdout: '', stderr: 'empty argv' };
  try {
    const stdout = execFileSync(file, args, {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status?: number | null; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Blocking sleep, only for synchronous teardown. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined/false, or
 * throws after `timeoutMs` with `what` in the message. Bounded in time and count.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const maxRounds = Math.ceil(timeoutMs / intervalMs) + 2;
  for (let i = 0; i < maxRounds; i++) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
