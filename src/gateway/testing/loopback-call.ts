/**
 * Test helpers for a call through a classical gateway on loopback: inside 127.0.0.1, outside face
 * 127.0.0.2, bob = bob@rc-out where rc-out is 127.0.0.1 (the outside daemon's host); the test plays
 * alice's control client and the outside talk daemon.
 */
import type { Socket } from 'node:dgram';
import {
  Answer,
  decodeNtalkCtlMsg,
  encodeNtalkCtlMsg,
  encodeNtalkCtlResponse,
  RequestType,
  sockAddr,
  TALK_VERSION,
} from '../../protocol/index.js';

/** Ports of one such gateway: faces at base+518/517, the inside daemon at base+1518, the outside one at base+2518. */
export interface LoopbackPorts {
  readonly face: number;
  readonly outsideDaemon: number;
}

export function loopbackPorts(base: number): LoopbackPorts {
  return { face: base + 518, outsideDaemon: base + 2518 };
}

/** The configuration, with `extra` TOML appended (e.g. [relay], [admin]). */
export function loopbackGatewayToml(base: number, extra = ''): string {
  return `mode = "classical"
[inside]
address = "127.0.0.1"
networks = ["127.0.0.1/32"]
daemon_ports = { ntalk = ${base + 1518}, otalk = ${base + 1517} }
[outside]
address = "127.0.0.2"
hosts = { "rc-out" = "127.0.0.1" }
dns = false
daemon_ports = { ntalk = ${base + 2518}, otalk = ${base + 2517} }
[ports]
ntalk = ${base + 518}
otalk = ${base + 517}
[directory]
bob = "bob@rc-out"
[[policy]]
action = "allow"
${extra}`;
}

/**
 * Makes `daemon` answer every request SUCCESS; resolves with the rendezvous a forwarded ANNOUNCE
 * sends the callee to (the gateway's data path).
 */
export function answerAsOutsideDaemon(daemon: Socket): Promise<{ address: string; port: number }> {
  return new Promise((resolve) => {
    daemon.on('message', (buf, rinfo) => {
      const m = decodeNtalkCtlMsg(new Uint8Array(buf));
      daemon.send(encodeNtalkCtlResponse({ version: TALK_VERSION, type: m.type, answer: Answer.SUCCESS, id: 9, addr: sockAddr('0.0.0.0', 0) }), rinfo.port, rinfo.address);
      if (m.type === RequestType.ANNOUNCE) resolve({ address: m.addr.address, port: m.addr.port });
    });
  });
}

/** alice's ANNOUNCE for bob: her TCP rendezvous and her control socket on 127.0.0.1. */
export function aliceAnnounce(tcpPort: number, ctlPort: number): Uint8Array {
  return encodeNtalkCtlMsg({
    version: TALK_VERSION,
    type: RequestType.ANNOUNCE,
    id: 0,
    addr: sockAddr('127.0.0.1', tcpPort),
    ctlAddr: sockAddr('127.0.0.1', ctlPort),
    pid: 1,
    lName: 'alice',
    rName: 'bob',
    rTty: '',
  });
}
