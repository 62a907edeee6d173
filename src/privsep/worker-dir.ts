/** The empty, read-only working directory an unprivileged worker runs in (removed at exit). */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WorkerDir {
  readonly path: string;
  remove(): void;
}

export function makeWorkerDir(name: string): WorkerDir {
  const path = mkdtempSync(join(tmpdir(), `${name}-`));
  // r-x for all: the worker can enter it and create nothing there.
  chmodSync(path, 0o555);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
