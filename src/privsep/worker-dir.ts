/**
 * The empty, read-only working directory an unprivileged worker runs in. Named after the process
 * that made it, so that one left by a killed process is removed by the next start (like the
 * nftables tables: nothing a crashed process left survives its successor).
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WorkerDir {
  readonly path: string;
  remove(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `${name}-PID-*` directories whose process is gone. */
function sweep(dir: string, name: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  const re = new RegExp(`^${name.replace(/[^A-Za-z0-9_-]/g, '')}-(\\d+)-[A-Za-z0-9]{6}$`);
  for (const e of entries) {
    const pid = Number(re.exec(e)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) rmSync(join(dir, e), { recursive: true, force: true });
  }
}

export function makeWorkerDir(name: string): WorkerDir {
  const base = tmpdir();
  sweep(base, name);
  const path = mkdtempSync(join(base, `${name}-${process.pid}-`));
  // r-x for all: the worker can enter it and create nothing there.
  chmodSync(path, 0o555);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
