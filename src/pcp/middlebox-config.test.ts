import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMiddleboxConfig } from './middlebox-config.js';

const BASE = `[inside]\naddress = "10.0.0.1"\ninterface = "lan0"\nnetworks = ["10.0.0.0/24"]\n[outside]\naddress = "198.51.100.1"\ninterface = "wan0"\n`;

test('parseMiddleboxConfig(): [inside]/[outside] like the gateway, [pcp] bounds and agents, defaults', () => {
  const s = parseMiddleboxConfig(`${BASE}[pcp]\nmin_lifetime = 30\nmax_lifetime = 900\nthird_party = ["10.0.0.3"]\n`);
  assert.equal(s.listenAddress, '10.0.0.1', 'inside address only');
  assert.equal(s.listenPort, 5351);
  assert.deepEqual([s.core.minLifetime, s.core.maxLifetime, s.core.thirdParty], [30, 900, ['10.0.0.3']]);
  assert.equal(s.core.externalAddress, '198.51.100.1');
  assert.deepEqual([s.table.table, s.table.insideInterface, s.table.outsideInterface], ['talkgate_pcp', 'lan0', 'wan0']);
  const d = parseMiddleboxConfig(BASE);
  assert.deepEqual([d.core.minLifetime, d.core.maxLifetime, d.core.thirdParty], [120, 86_400, []]);
});

test('parseMiddleboxConfig() rejects bad bounds, agents and unknown keys with a readable message', () => {
  assert.throws(() => parseMiddleboxConfig(`${BASE}[pcp]\nmin_lifetime = 900\nmax_lifetime = 30\n`), /min_lifetime <= max_lifetime/);
  assert.throws(() => parseMiddleboxConfig(`${BASE}[pcp]\nthird_party = ["host.example"]\n`), /third_party/);
  assert.throws(() => parseMiddleboxConfig(`${BASE}[pcp]\nscan = true\n`), /invalid middlebox config/);
  assert.throws(() => parseMiddleboxConfig(`[inside]\naddress = "10.0.0.1"\n`), /invalid middlebox config/);
});

test('parseMiddleboxConfig() reads the read-only [admin] page, on loopback only', () => {
  assert.equal(parseMiddleboxConfig(`${BASE}[admin]\nlisten = "127.0.0.1:9519"\n`).adminListen, '127.0.0.1:9519');
  assert.equal(parseMiddleboxConfig(BASE).adminListen, undefined);
  assert.throws(() => parseMiddleboxConfig(`${BASE}[admin]\nlisten = "10.0.0.1:9519"\n`), /admin\.listen: must be a loopback/);
});
