/**
 * Issue 16: the admin page off loopback. In a two-host lab the gateway's admin listener is on its
 * lab address with a token and TLS; from the other host, Debian's chromium (run inside that host's
 * namespaces through a wrapper, driven by playwright-core over its pipe) opens the page over HTTPS,
 * and curl, trusting only the lab's certificate, reads the API and is refused the end-call without
 * the token. `--check` refuses the same configuration without a token.
 *
 *   adm 10.252.0.2 ── in ── gw 10.252.0.1 (gateway, admin https://10.252.0.1:9518) | 10.253.0.1 ── out ── out 10.253.0.2
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { labSkip } from './prereq.js';
import { Lab } from './lab.js';
import { talkgateArgv } from './peers.js';
import { run, sleep, waitUntil } from './proc.js';

const CHROMIUM = '/usr/bin/chromium';
const OPENSSL = '/usr/bin/openssl';
const CURL = '/usr/bin/curl';
const skip = labSkip([CHROMIUM, OPENSSL, CURL]);
const GW_IN = '10.252.0.1';
const TOKEN = 'lab-admin-token-0123456789';

function gatewayToml(admin: string): string {
  return `mode = "classical"
[inside]
address = "${GW_IN}"
networks = ["10.252.0.0/24"]
[outside]
address = "10.253.0.1"
dns = false
[relay]
ports = "41200-41299"
[admin]
${admin}
`;
}

test('admin page with token and TLS on a lab address: chromium and curl from another host', { skip, timeout: 90_000 }, async () => {
  const lab = await Lab.create({
    prefix: 'tgadm',
    hosts: ['gw', 'adm', 'out'],
    segments: [
      { name: 'in', members: [{ host: 'gw', addr: `${GW_IN}/24` }, { host: 'adm', addr: '10.252.0.2/24' }] },
      { name: 'out', members: [{ host: 'gw', addr: '10.253.0.1/24' }, { host: 'out', addr: '10.253.0.2/24' }] },
    ],
    users: [],
  });
  try {
    const cert = join(lab.dir, 'admin.crt');
    const key = join(lab.dir, 'admin.key');
    await run([OPENSSL, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${GW_IN}`, '-addext', `subjectAltName=IP:${GW_IN}`, '-days', '1']);
    chmodSync(cert, 0o644);

    // Off loopback without a token: --check refuses the configuration.
    const bare = join(lab.dir, 'bare.toml');
    writeFileSync(bare, gatewayToml(`listen = "${GW_IN}:9518"`));
    const checked = await lab.exec('gw', talkgateArgv('gateway', '--config', bare, '--check'), { check: false });
    assert.notEqual(checked.code, 0);
    assert.match(checked.stdout + checked.stderr, /admin\.token.*required when listen is not a loopback address/);

    const config = join(lab.dir, 'gateway.toml');
    writeFileSync(config, gatewayToml(`listen = "${GW_IN}:9518"\ntoken = "${TOKEN}"\ntls_cert = "${cert}"\ntls_key = "${key}"`));
    const gw = lab.spawn('gw', talkgateArgv('gateway', '--config', config));
    await waitUntil('gateway running', () => {
      if (!gw.running) throw new Error(`gateway exited: ${gw.stdout}${gw.stderr}`);
      return (gw.stdout + gw.stderr).includes('gateway running');
    }, 15_000, 50);

    const base = `https://${GW_IN}:9518`;
    const info = await lab.exec('adm', [CURL, '-sS', '--cacert', cert, `${base}/api/info`]);
    assert.deepEqual(JSON.parse(info.stdout), { endCall: true, tls: true });
    const refused = await lab.exec('adm', [CURL, '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', cert, '-X', 'POST', '-H', 'content-type: application/json', '--data', '{"callId":"c-000001"}', `${base}/api/calls/end`]);
    assert.equal(refused.stdout, '401');
    const plain = await lab.exec('adm', [CURL, '-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://${GW_IN}:9518/healthz`], { check: false });
    assert.notEqual(plain.stdout, '200', 'no plain HTTP on the TLS listener');

    // chromium inside adm's namespaces: a wrapper keeps playwright's pipe fds (nsenter passes them on).
    const wrapper = join(lab.dir, 'chromium-in-adm');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${lab.enterArgv('adm').join(' ')} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
    const browser = await chromium.launch({ executablePath: wrapper, headless: true, args: ['--no-sandbox'] });
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('dialog', (d) => {
        problems.push(`dialog ${d.message()}`);
        void d.dismiss();
      });
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      // A freshly started chromium may see its new namespace's links settle once (ERR_NETWORK_CHANGED): retry, bounded.
      for (let attempt = 1; ; attempt++) {
        try {
          await page.goto(`${base}/`);
          break;
        } catch (e: unknown) {
          if (attempt >= 3 || !/ERR_NETWORK_CHANGED/.test((e as Error).message)) throw e;
          await sleep(500);
        }
      }
      await page.locator('#no-calls').waitFor({ state: 'visible', timeout: 3_000 });
      assert.equal(await page.locator('#auth').isVisible(), true, 'the page asks for the token');
      assert.match(await page.locator('#mode').innerText(), /classical/);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
    assert.ok(readFileSync(config, 'utf8').includes('tls_cert'));
  } finally {
    await lab.destroy();
  }
});
