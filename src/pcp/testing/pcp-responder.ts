/** Test helper: a loopback PCP responder around the pure middlebox core. */
import { createSocket, type Socket } from 'node:dgram';
import type { MiddleboxCore } from '../middlebox-core.js';

/**
 * A loopback PCP responder around the pure middlebox core (firewall transactions committed as
 * they come: this tests the client, not nftables). `drop` datagrams are ignored first.
 */
export async function responder(core: MiddleboxCore, drop = 0): Promise<{ sock: Socket; port: number; times: number[] }> {
  const sock = createSocket('udp4');
  const times: number[] = [];
  let toDrop = drop;
  sock.on('message', (msg, rinfo) => {
    times.push(performance.now());
    if (toDrop-- > 0) return;
    const a = core.handlePcp(new Uint8Array(msg), rinfo.address);
    const v = a.kind === 'done' ? a.value : a.commit(0);
    if (v !== null) sock.send(v, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, port: sock.address().port, times };
}
