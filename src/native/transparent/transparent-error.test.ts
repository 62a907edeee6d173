import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TalkError } from '../../shared/talk-error.js';
import { TransparentSocketError } from './transparent-error.js';

test('TransparentSocketError.fromErrno() maps errno to stable codes and keeps syscall and errno', () => {
  const cases: [number, string][] = [
    [1, 'TRANSPARENT_PERMISSION'], // EPERM
    [13, 'TRANSPARENT_PERMISSION'], // EACCES
    [92, 'TRANSPARENT_UNSUPPORTED'], // ENOPROTOOPT
    [98, 'TRANSPARENT_ADDRESS_IN_USE'], // EADDRINUSE
    [99, 'TRANSPARENT_SYSCALL'], // EADDRNOTAVAIL
    [1234, 'TRANSPARENT_SYSCALL'],
  ];
  for (const [errno, code] of cases) {
    const e = TransparentSocketError.fromErrno('setsockopt(IP_TRANSPARENT)', errno, 'openTransparentUdp 0.0.0.0:518');
    assert.equal(e.code, code, String(errno));
    assert.equal(e.errno, errno);
    assert.equal(e.syscall, 'setsockopt(IP_TRANSPARENT)');
    assert.ok(e instanceof TalkError);
    assert.match(e.message, /openTransparentUdp 0\.0\.0\.0:518: setsockopt\(IP_TRANSPARENT\) failed/);
  }
  assert.match(TransparentSocketError.fromErrno('bind', 1, 'x').message, /CAP_NET_ADMIN/);
  assert.match(TransparentSocketError.fromErrno('bind', 1234, 'x').message, /errno 1234/);
});
