/**
 * Checks captured frames (pcap-reader.ts) for forbidden addresses: in IPv4 headers and anywhere in
 * the bytes (payloads), binary or as dotted text.
 */
import { IPPROTO_UDP, type PcapFrame } from './pcap-reader.js';

/**
 * Inside addresses on the outside wire. Allowed only where the outside party itself addressed an
 * inside host (inside routable, transparent inbound): as the IP destination of its talk control
 * datagrams to `addressed` (udp dport in `talkPorts`) and as the IP source of the answers "from the
 * daemon it addressed" (udp sport in `talkPorts`). Never in a payload, never in TCP, never any other
 * inside address (e.g. the gateway's inside address). Returns one line per offending frame.
 */
export function insideAddressLeaks(
  frames: readonly PcapFrame[],
  inside: readonly string[],
  allowed: { readonly addressed: readonly string[]; readonly talkPorts: readonly number[] },
): string[] {
  const out: string[] = [];
  for (const f of frames) {
    const ip = f.ip;
    const say = (why: string): void => {
      out.push(`#${f.index} ${ip ? `${ip.src}:${ip.sport ?? ''} -> ${ip.dst}:${ip.dport ?? ''} proto ${ip.protocol}` : 'non-IPv4'}: ${why}`);
    };
    if (ip === undefined) {
      const hit = framesMentioning([f], inside)[0];
      if (hit !== undefined) say(`${hit.address} (${hit.how}) in a non-IPv4 frame`);
      continue;
    }
    const inPayload = framesMentioning([{ index: f.index, ms: f.ms, bytes: ip.payload }], inside)[0];
    if (inPayload !== undefined) {
      say(`${inPayload.address} (${inPayload.how}) in the payload`);
      continue;
    }
    const udpTalk = ip.protocol === IPPROTO_UDP;
    const okDst = udpTalk && allowed.addressed.includes(ip.dst) && allowed.talkPorts.includes(ip.dport ?? -1);
    const okSrc = udpTalk && allowed.addressed.includes(ip.src) && allowed.talkPorts.includes(ip.sport ?? -1);
    if (inside.includes(ip.src) && !okSrc) say(`inside source ${ip.src}`);
    else if (inside.includes(ip.dst) && !okDst) say(`inside destination ${ip.dst}`);
  }
  return out;
}

/** Frames that contain any of `addresses` (IPv4 dotted quads) in binary or as text. */
export function framesMentioning(frames: readonly PcapFrame[], addresses: readonly string[]): { frame: PcapFrame; address: string; how: string }[] {
  const needles = addresses.flatMap((a) => [
    { address: a, how: 'binary', bytes: Buffer.from(a.split('.').map(Number)) },
    { address: a, how: 'text', bytes: Buffer.from(a, 'latin1') },
  ]);
  const hits: { frame: PcapFrame; address: string; how: string }[] = [];
  for (const f of frames) {
    for (const n of needles) {
      if (f.bytes.includes(n.bytes)) {
        hits.push({ frame: f, address: n.address, how: n.how });
        break;
      }
    }
  }
  return hits;
}
