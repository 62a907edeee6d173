/**
 * PeerLinks over real TLS on loopback, with certificates made by openssl: a request and its answer
 * cross with both call ids; a peer whose certificate comes from another CA fails authentication;
 * the relay's server leg refuses such a client certificate (the check Node does not make for a
 * TLSSocket it did not accept itself).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { peerTlsLeg } from './peer-tls-leg.js';
import { PeerLinks, type PeerFailure } from './peer-links.js';

const quiet = { info() {}, warn() {}, debug() {} };

function makeCerts(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tg-peer-links-'));
  const sh = (cmd: string): void => void execFileSync('/bin/sh', ['-c', cmd], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (n: string): string => `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out ${n}.key`;
  for (const ca of ['ca', 'evil']) sh(`${key(ca)} && openssl req -x509 -new -key ${ca}.key -out ${ca}.crt -subj /CN=${ca} -days 1`);
  for (const [n, cn, ca] of [['gw1', 'gw1', 'ca'], ['gw2', 'gw2', 'ca'], ['fake2', 'gw2', 'evil']] as const) {
    sh(`${key(n)} && openssl req -new -key ${n}.key -subj /CN=${cn} -out ${n}.csr && openssl x509 -req -in ${n}.csr -CA ${ca}.crt -CAkey ${ca}.key -CAcreateserial -out ${n}.crt -days 1`);
  }
  return dir;
}

async function start(dir: string, o: { cert: string; addr: string; peer: string; peerAddr: string; port: number; events?: Partial<Parameters<typeof PeerLinks.start>[0]> }): Promise<PeerLinks> {
  return PeerLinks.start({
    peering: { port: o.port, certFile: '', keyFile: '', caFile: '', peers: [{ name: o.peer, address: o.peerAddr }] },
    localAddress: o.addr,
    tls: { cert: readFileSync(join(dir, `${o.cert}.crt`), 'utf8'), key: readFileSync(join(dir, `${o.cert}.key`), 'utf8'), ca: readFileSync(join(dir, 'ca.crt'), 'utf8') },
    logger: quiet,
    onRequest() {},
    onResponse() {},
    onFailed() {},
    ...o.events,
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

test('PeerLinks: a request crosses the mutually authenticated link with its call id, and the answer comes back with the peer\'s', { timeout: 15_000 }, async () => {
  const dir = makeCerts();
  const port = await freePort();
  let gw2: PeerLinks | undefined;
  const got = new Promise<{ callId?: string; msg: Uint8Array }>((resolve) => {
    void start(dir, {
      cert: 'gw2', addr: '127.0.0.2', peer: 'gw1', peerAddr: '127.0.0.1', port,
      events: { onRequest: (_p, linkId, _port, f) => { assert.equal(f.callId, 'c-000001'); gw2?.reply(linkId, 'ntalk', 'c-000002', new Uint8Array([9, 9])); } },
    }).then((l) => (gw2 = l));
    void (async () => {
      while (gw2 === undefined) await new Promise((r) => setTimeout(r, 10));
      const gw1 = await start(dir, { cert: 'gw1', addr: '127.0.0.1', peer: 'gw2', peerAddr: '127.0.0.2', port, events: { onResponse: (_p, f) => { resolve(f); void gw1.close(); } } });
      gw1.request({ name: 'gw2', address: '127.0.0.2' }, 'c-000001', 'ntalk', new Uint8Array([1, 2, 3]));
    })();
  });
  const answer = await got;
  assert.equal(answer.callId, 'c-000002');
  assert.deepEqual([...answer.msg], [9, 9]);
  await gw2?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('PeerLinks: a "gw2" whose certificate comes from another CA fails authentication; the request is failed, never answered', { timeout: 15_000 }, async () => {
  const dir = makeCerts();
  const port = await freePort();
  let requests = 0;
  const fake = await start(dir, { cert: 'fake2', addr: '127.0.0.2', peer: 'gw1', peerAddr: '127.0.0.1', port, events: { onRequest: () => void requests++ } });
  const failure = await new Promise<PeerFailure>((resolve) => {
    void start(dir, { cert: 'gw1', addr: '127.0.0.1', peer: 'gw2', peerAddr: '127.0.0.2', port, events: { onFailed: (_p, callId, f) => { assert.equal(callId, 'c-000001'); resolve(f); } } }).then((gw1) => {
      gw1.request({ name: 'gw2', address: '127.0.0.2' }, 'c-000001', 'ntalk', new Uint8Array([1]));
      setTimeout(() => void gw1.close(), 2_000).unref();
    });
  });
  assert.equal(failure, 'peer-unauthenticated');
  assert.equal(requests, 0);
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

test("PeerLinks.tlsLeg(), built as the relay thread builds it: the server leg refuses a client certificate of another CA and accepts the peer's", { timeout: 15_000 }, async () => {
  const dir = makeCerts();
  const gw1 = await start(dir, { cert: 'gw1', addr: '127.0.0.1', peer: 'gw2', peerAddr: '127.0.0.2', port: 0 });
  const spec = gw1.tlsLeg('gw2');
  assert.ok(spec !== undefined);
  // What crosses to the relay thread is structured-cloned: build the leg from a clone, as it does.
  const leg = peerTlsLeg(structuredClone(spec));
  const verdictFor = async (cert: string): Promise<string | undefined> => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const result = new Promise<string | undefined>((resolve) => {
      server.once('connection', (raw) => {
        const s = new tls.TLSSocket(raw, { isServer: true, secureContext: leg.secureContext, requestCert: true, rejectUnauthorized: true });
        s.on('error', () => resolve('tls-error'));
        s.once('secure', () => {
          resolve(leg.verify(s));
          s.destroy();
        });
      });
    });
    const c = tls.connect({
      host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, localAddress: '127.0.0.2',
      cert: readFileSync(join(dir, `${cert}.crt`)), key: readFileSync(join(dir, `${cert}.key`)), rejectUnauthorized: false,
    } as tls.ConnectionOptions);
    c.on('error', () => undefined);
    const v = await result;
    c.destroy();
    server.close();
    return v;
  };
  assert.equal(await verdictFor('gw2'), undefined);
  assert.equal(await verdictFor('fake2'), 'peer-unauthenticated');
  await gw1.close();
  rmSync(dir, { recursive: true, force: true });
});
