import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeNtalkCtlResponse, encodeNtalkCtlMsg, sockAddr } from '../protocol/index.js';
import { Answer, RequestType } from '../protocol/talk-types.js';
import { bindUdpSocketFd, socketLocalAddress } from '../native/fd-datagram-endpoint.js';
import { libc } from '../native/libc.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return dir;
}
const root = repoRoot();
const built = existsSync(join(root, 'dist', 'src', 'cli', 'main.js'));
const skip = built ? false : 'dist/ not built (npm run build)';

async function lookUp(port: number, tries = 20): Promise<number | undefined> {
  const s: Socket = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  try {
    const msg = encodeNtalkCtlMsg({
      version: 1, type: RequestType.LOOK_UP, id: 0, addr: sockAddr('127.0.0.1', 0),
      ctlAddr: sockAddr('127.0.0.1', s.address().port), pid: 1, lName: 'bob', rName: 'alice', rTty: '',
    });
    for (let i = 0; i < tries; i++) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const t = setTimeout(() => resolve(undefined), 250);
        s.once('message', (m) => {
          clearTimeout(t);
          resolve(m);
        });
        s.send(msg, port, '127.0.0.1');
      });
      if (reply !== undefined) return decodeNtalkCtlResponse(reply).answer;
    }
    return undefined;
  } finally {
    s.close();
  }
}

function exited(child: ChildProcess, ms: number): Promise<number | null | 'timeout'> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => resolve('timeout'), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

test('talkgate talkd --inetd serves the UDP socket on fd 0 and exits when idle', { skip, timeout: 30_000 }, async () => {
  const fd = bindUdpSocketFd('127.0.0.1', 0);
  const { port } = socketLocalAddress(fd);
  // As inetd does: the socket is fd 0, 1 and 2.
  const child = spawn(process.execPath, [join(root, 'bin', 'talkgate.js'), 'talkd', '--inetd', '--max-idle', '2', '--utmp', '/nonexistent'], {
    stdio: [fd, fd, fd],
  });
  libc().close(fd);
  try {
    assert.equal(await lookUp(port), Answer.NOT_HERE);
    assert.equal(await exited(child, 8000), 0, 'exits 0 after --max-idle seconds without packets');
  } finally {
    child.kill();
  }
});

test('talkgate talkd adopts systemd LISTEN_FDS sockets, matching ntalk/otalk by port', { skip, timeout: 30_000 }, async () => {
  const ntalkFd = bindUdpSocketFd('127.0.0.1', 0);
  const otalkFd = bindUdpSocketFd('127.0.0.1', 0);
  const ntalk = socketLocalAddress(ntalkFd).port;
  const otalk = socketLocalAddress(otalkFd).port;
  const cmd = `LISTEN_PID=$$ LISTEN_FDS=2 exec "$0" "$@"`;
  const child = spawn('/bin/sh', ['-c', cmd, process.execPath, join(root, 'bin', 'talkgate.js'), 'talkd', '--port', String(ntalk), '--otalk-port', String(otalk), '--utmp', '/nonexistent'], {
    stdio: ['ignore', 'ignore', 'pipe', ntalkFd, otalkFd],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  libc().close(ntalkFd);
  libc().close(otalkFd);
  try {
    assert.equal(await lookUp(ntalk), Answer.NOT_HERE);
    assert.equal(await lookUp(otalk), Answer.NOT_HERE, 'ntalk messages are understood on the otalk port too');
    assert.match(stderr, /"flavour":"otalk","address":"127.0.0.1","port":\d+,"msg":"listening"/);
    child.kill('SIGTERM');
    assert.equal(await exited(child, 5000), 0);
  } finally {
    child.kill('SIGKILL');
  }
});

/** uid of `user` and gid of `group` from /etc/passwd and /etc/group. */
function idsOf(user: string, group: string): { uid: number; gid: number } | undefined {
  const field = (file: string, name: string, index: number): number | undefined => {
    const line = readFileSync(file, 'utf8').split('\n').find((l) => l.split(':')[0] === name);
    const v = line?.split(':')[index];
    return v === undefined ? undefined : Number(v);
  };
  const uid = field('/etc/passwd', user, 2);
  const gid = field('/etc/group', group, 2);
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/** A free UDP port below 1024 on 127.0.0.1 (only root can bind it), or undefined. */
async function freePrivilegedPort(): Promise<number | undefined> {
  for (let port = 1000; port > 900; port--) {
    const s = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => resolve(true));
    });
    s.close();
    if (ok) return port;
  }
  return undefined;
}

/** The Uid:, Gid: and Groups: lines of /proc/PID/status. */
function procIds(pid: number): { uids: number[]; gids: number[]; groups: number[] } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const nums = (key: string): number[] =>
    (new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').split(/\s+/).filter((v) => v !== '').map(Number);
  return { uids: nums('Uid'), gids: nums('Gid'), groups: nums('Groups') };
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const ids = idsOf('nobody', 'tty');
const dropSkip = skip !== false ? skip : !isRoot ? 'not root' : ids === undefined ? 'no user nobody / group tty' : false;

test('talkgate talkd started as root binds a privileged port, then runs as --user/--group only', { skip: dropSkip, timeout: 30_000 }, async () => {
  assert.ok(ids !== undefined);
  const port = await freePrivilegedPort();
  assert.ok(port !== undefined, 'a free port in 901..1000 on 127.0.0.1');
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'talkgate.js'), 'talkd', '--port', String(port), '--no-otalk', '--bind', '127.0.0.1',
      '--utmp', '/nonexistent', '--user', 'nobody', '--group', 'tty'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    assert.equal(await lookUp(port), Answer.NOT_HERE, 'serves the privileged port after the drop');
    assert.ok(child.pid !== undefined);
    const p = procIds(child.pid);
    assert.deepEqual(p.uids, [ids.uid, ids.uid, ids.uid, ids.uid], 'real, effective, saved and fs uid are nobody');
    assert.deepEqual(p.gids, [ids.gid, ids.gid, ids.gid, ids.gid], 'real, effective, saved and fs gid are tty');
    assert.ok(!p.groups.includes(0), `no root group among the supplementary groups (${p.groups.join(',')})`);
    assert.ok(p.groups.includes(ids.gid));
    const dropped = stderr.split('\n').filter((l) => l.includes('"msg":"dropped privileges"'));
    assert.equal(dropped.length, 1);
    const rec = JSON.parse(dropped[0] ?? '{}') as Record<string, unknown>;
    assert.deepEqual([rec['uid'], rec['gid'], rec['user'], rec['group']], [ids.uid, ids.gid, 'nobody', 'tty']);
    child.kill('SIGTERM');
    assert.equal(await exited(child, 5000), 0);
  } finally {
    child.kill('SIGKILL');
  }
});
