import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HaControlServer } from './ha-control-server.js';
import { haControlRequest } from './ha-control-client.js';
import type { HaControlRequest } from './ha-control-messages.js';

test('HaControlServer: a 0600 socket; a notify and a status are answered; anything else is refused and never handled', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-ha-'));
  try {
    const path = join(dir, 'run', 'ha.sock');
    const seen: HaControlRequest[] = [];
    const s = await HaControlServer.listen(path, (r) => {
      seen.push(r);
      return Promise.resolve({ ok: true, role: r.op === 'notify' && r.state === 'MASTER' ? 'master' : 'backup', state: r.op === 'notify' ? r.state : 'BACKUP', holesRemoved: 0, holes: 0 });
    });
    try {
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'run')).mode & 0o777, 0o700);
      const r = await haControlRequest(path, { op: 'notify', state: 'MASTER' });
      assert.deepEqual(r, { ok: true, role: 'master', state: 'MASTER', holesRemoved: 0, holes: 0 });
      assert.equal((await haControlRequest(path, { op: 'status' })).ok, true);
      const bad = await haControlRequest(path, { op: 'notify', state: 'PRIMARY' } as unknown as HaControlRequest);
      assert.deepEqual(bad, { ok: false, error: 'malformed request' });
      assert.deepEqual(seen.map((x) => x.op), ['notify', 'status']);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HaControlServer refuses a socket directory others can write to', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-ha-'));
  try {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    await assert.rejects(HaControlServer.listen(join(open, 'ha.sock'), () => Promise.resolve({ ok: false, error: 'x' })), /writable by no one else/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
