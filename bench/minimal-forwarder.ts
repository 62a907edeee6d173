/**
 * Benchmark reference (issue 4/5 set-up time): the least a user-space talk proxy can do on the
 * classical path, in Node — what any such proxy costs on this machine, measured in the same run as
 * `talkgate gateway` and the direct path (bench/gateway-setup.ts). NOT a product: ntalk only, one
 * callee host, no naming, policy, audit, logging, metrics, limits, sanitising, timers or checks.
 *
 *   inside face  (fw inside address, PORT):  LOOK_UP → NOT_HERE; ANNOUNCE → a one-shot TCP listener
 *                 on the outside address (piped to the caller's listener), the ANNOUNCE forwarded
 *                 to the callee's daemon with addr/ctl_addr rewritten, its answer passed back;
 *                 DELETE → SUCCESS, and forwarded to the callee's daemon.
 *   outside face (fw outside address, PORT): LOOK_UP → SUCCESS with the listener; DELETE → SUCCESS.
 *
 * Run inside the gateway host: node dist/bench/minimal-forwarder.js INSIDE OUTSIDE CALLEE_DAEMON PORT
 * It prints "minimal forwarder running" once its sockets are bound and runs until killed.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import {
  AF_INET,
  Answer,
  decodeNtalkCtlMsg,
  decodeNtalkCtlResponse,
  encodeNtalkCtlMsg,
  encodeNtalkCtlResponse,
  NO_ADDR,
  NTALK_PORT,
  RequestType,
  TALK_VERSION,
  type NtalkCtlMsg,
  type SockAddrIn,
} from '../src/protocol/index.js';

async function bound(address: string, port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => resolve());
  });
  s.on('error', () => undefined);
  return s;
}

/** A control request, or undefined for a malformed datagram (dropped). */
function request(buf: Buffer): NtalkCtlMsg | undefined {
  try {
    return decodeNtalkCtlMsg(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const [inside, outside, callee, portArg] = process.argv.slice(2);
  if (inside === undefined || outside === undefined || callee === undefined || portArg === undefined) {
    throw new Error('usage: minimal-forwarder INSIDE OUTSIDE CALLEE_DAEMON PORT');
  }
  const port = Number(portArg);
  const inFace = await bound(inside, port);
  const outFace = await bound(outside, port);
  const client = await bound(outside, 0);
  const clientAddr: SockAddrIn = { family: AF_INET, address: outside, port: client.address().port };
  /** The current call's relay listener address (the bench places one call at a time). */
  let relay: SockAddrIn = NO_ADDR;
  /** Where the daemon's answer to the forwarded ANNOUNCE goes. */
  let pending: { port: number; address: string } | undefined;

  const answer = (face: dgram.Socket, to: dgram.RemoteInfo, m: NtalkCtlMsg, code: number, id: number, addr: SockAddrIn): void => {
    face.send(encodeNtalkCtlResponse({ version: TALK_VERSION, type: m.type, answer: code, id, addr }), to.port, to.address);
  };
  const forward = (m: NtalkCtlMsg): void => {
    client.send(encodeNtalkCtlMsg({ ...m, ctlAddr: clientAddr }), NTALK_PORT, callee);
  };

  inFace.on('message', (buf, from) => {
    const m = request(buf);
    if (m === undefined) return;
    if (m.type === RequestType.LOOK_UP) return answer(inFace, from, m, Answer.NOT_HERE, 0, NO_ADDR);
    if (m.type === RequestType.DELETE) {
      answer(inFace, from, m, Answer.SUCCESS, m.id, NO_ADDR);
      return forward(m);
    }
    if (m.type !== RequestType.ANNOUNCE) return;
    const target = m.addr;
    const server = net.createServer((sock) => {
      server.close();
      const onward = net.connect({ host: target.address, port: target.port });
      sock.on('error', () => onward.destroy());
      onward.on('error', () => sock.destroy());
      sock.pipe(onward).pipe(sock);
    });
    server.listen(0, outside, () => {
      const a = server.address() as net.AddressInfo;
      relay = { family: AF_INET, address: outside, port: a.port };
      pending = { port: from.port, address: from.address };
      forward({ ...m, addr: relay });
    });
  });
  client.on('message', (buf) => {
    if (pending === undefined) return;
    try {
      const r = decodeNtalkCtlResponse(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
      if (r.type !== RequestType.ANNOUNCE) return;
      inFace.send(encodeNtalkCtlResponse({ ...r, addr: NO_ADDR }), pending.port, pending.address);
      pending = undefined;
    } catch {
      // malformed: dropped
    }
  });
  outFace.on('message', (buf, from) => {
    const m = request(buf);
    if (m === undefined) return;
    if (m.type === RequestType.LOOK_UP) answer(outFace, from, m, relay === NO_ADDR ? Answer.NOT_HERE : Answer.SUCCESS, 1, relay);
    else if (m.type === RequestType.DELETE) answer(outFace, from, m, Answer.SUCCESS, m.id, NO_ADDR);
  });
  process.stdout.write('minimal forwarder running\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
