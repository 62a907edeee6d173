import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
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
