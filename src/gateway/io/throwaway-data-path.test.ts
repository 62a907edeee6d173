/**
 * The data-path seam: a throwaway data path, written in this one file and registered with one line
 * (the `dataPath` option), carries a whole call. Loopback only: the test plays alice (the inside
 * caller), the outside talk daemon and bob (the callee's connection).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import { createLogger } from '../../observability/logger.js';
import { Answer, decodeNtalkCtlResponse } from '../../protocol/index.js';
import { aliceAnnounce, answerAsOutsideDaemon, loopbackGatewayToml, loopbackPorts } from '../testing/loopback-call.js';
import { systemClock } from '../../shared/clock.js';
import type { DataPath, DataPathEvents } from '../modes/data-path.js';
import type { DataPathOpenResult, DataPathRequest } from '../session/session-types.js';
import { GatewayRuntime } from './gateway-runtime.js';

/** The throwaway: a bare TCP splice, no peer check, no sanitising. */
class SpliceDataPath implements DataPath {
  readonly kind = 'test-splice';
  readonly opened: DataPathRequest[] = [];
  readonly #events: DataPathEvents;
  readonly #servers = new Map<string, net.Server>();
  constructor(events: DataPathEvents) {
    this.#events = events;
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  async open(r: DataPathRequest): Promise<DataPathOpenResult> {
    this.opened.push(r);
    const server = net.createServer((callee) => {
      const caller = net.connect(r.target.port, r.target.address);
      callee.pipe(caller).pipe(callee);
      this.#events.onConnected(r.callId, { peer: callee.remoteAddress ?? '?', target: `${r.target.address}:${r.target.port}` });
    });
    server.listen(0, r.listenAddress);
    await once(server, 'listening');
    this.#servers.set(r.callId, server);
    return { ok: true, address: r.listenAddress, port: (server.address() as net.AddressInfo).port };
  }
  renew(): void {}
  close(callId: string): void {
    this.#servers.get(callId)?.close();
    this.#servers.delete(callId);
  }
  stop(): Promise<void> {
    for (const s of this.#servers.values()) s.close();
    return Promise.resolve();
  }
}

const BASE = 25_000;
const PORTS = loopbackPorts(BASE);
const CONFIG = loopbackGatewayToml(BASE, '[admin]\nlisten = "off"\n');

async function udp(port = 0, address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(port, address, r));
  return s;
}

test('a throwaway data path in one file, registered with one line, carries a call', { timeout: 15_000 }, async () => {
  const parsed = parseGatewayConfig(CONFIG, 'test.toml');
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('\n'));
  let path: SpliceDataPath | undefined;
  const logger = createLogger({ name: 'test', format: 'json', level: 'silent' });
  const rt = await GatewayRuntime.start({
    config: parsed.config,
    clock: systemClock,
    logger,
    registry: new Registry(),
    dataPath: (_config, ctx) => (path = new SpliceDataPath(ctx.events)), // the registration line
  });
  const daemon = await udp(PORTS.outsideDaemon); // bob's talk daemon, outside (rc-out = 127.0.0.1)
  const alice = await udp();
  const aliceTcp = net.createServer();
  aliceTcp.listen(0, '127.0.0.1');
  await once(aliceTcp, 'listening');
  try {
    assert.equal(rt.dataPathKind(), 'test-splice');
    // The outside daemon answers the forwarded ANNOUNCE and remembers where bob must connect.
    const announced = answerAsOutsideDaemon(daemon);
    const answered = new Promise<number>((resolve) => alice.on('message', (buf) => resolve(decodeNtalkCtlResponse(new Uint8Array(buf)).answer)));
    alice.send(aliceAnnounce((aliceTcp.address() as net.AddressInfo).port, alice.address().port), PORTS.face, '127.0.0.1');
    const where = await announced;
    assert.equal(await answered, Answer.SUCCESS, 'alice is told bob was rung');
    assert.equal(path?.opened.length, 1, 'the call opened its path through the throwaway');
    assert.equal(where.address, '127.0.0.2', 'bob is sent to the gateway, not to alice');
    // bob connects where the announcement said; alice accepts; text crosses both ways.
    const accepted = once(aliceTcp, 'connection') as Promise<[net.Socket]>;
    const bob = net.connect(where.port, where.address);
    const [aliceSide] = await accepted;
    bob.write('hello alice');
    const [fromBob] = (await once(aliceSide, 'data')) as [Buffer];
    assert.equal(String(fromBob), 'hello alice');
    aliceSide.write('hi bob');
    const [fromAlice] = (await once(bob, 'data')) as [Buffer];
    assert.equal(String(fromAlice), 'hi bob');
    bob.destroy();
    aliceSide.destroy();
  } finally {
    aliceTcp.close();
    alice.close();
    daemon.close();
    await rt.stop();
  }
});
