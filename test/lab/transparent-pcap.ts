/**
 * A minimal reader for the classic pcap files tcpdump -w writes (magic a1b2c3d4 either byte order,
 * microsecond or nanosecond), enough to check captured frames for forbidden addresses: in IPv4
 * headers and anywhere in the bytes (payloads), binary or as dotted text.
 */
import { readFileSync } from 'node:fs';

/** Global header 24 bytes, record header 16 bytes (pcap-savefile(5)). */
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
const LINKTYPE_ETHERNET = 1;
const ETHERTYPE_IPV4 = 0x0800;
/** Bound on records read from one file. */
const MAX_RECORDS = 200_000;

export interface PcapFrame {
  readonly index: number;
  /** Capture time, ms since the epoch (sub-ms precision). */
  readonly ms: number;
  readonly bytes: Buffer;
  /** IPv4 source/destination when the frame is Ethernet + IPv4. */
  readonly ip?: PcapIp;
}

export function readPcap(path: string): PcapFrame[] {
  const buf = readFileSync(path);
  if (buf.length < GLOBAL_HEADER) throw new Error(`${path}: ${buf.length} bytes, no pcap header`);
  const magic = buf.readUInt32LE(0);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`${path}: not a classic pcap file (magic ${magic.toString(16)})`);
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20) & 0x0fffffff;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const frames: PcapFrame[] = [];
  let off = GLOBAL_HEADER;
  while (off + RECORD_HEADER <= buf.length && frames.length < MAX_RECORDS) {
    const incl = u32(off + 8);
    const start = off + RECORD_HEADER;
    if (start + incl > buf.length) break; // truncated last record (capture stopped mid-write)
    const bytes = buf.subarray(start, start + incl);
    const ms = u32(off) * 1000 + u32(off + 4) / (nano ? 1e6 : 1e3);
    frames.push({ index: frames.length, ms, bytes, ...(linktype === LINKTYPE_ETHERNET ? ipv4Of(bytes) : {}) });
    off = start + incl;
  }
  return frames;
}

const ETH_HEADER = 14;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

function ipv4Of(frame: Buffer): { ip?: PcapIp } {
  if (frame.length < ETH_HEADER + 20 || frame.readUInt16BE(12) !== ETHERTYPE_IPV4) return {};
  const ip = frame.subarray(ETH_HEADER);
  const dotted = (o: number): string => `${ip[o]}.${ip[o + 1]}.${ip[o + 2]}.${ip[o + 3]}`;
  const ihl = ((ip[0] ?? 0) & 0x0f) * 4;
  const protocol = ip[9] ?? 0;
  const l4 = ip.subarray(ihl);
  const ports = (protocol === IPPROTO_UDP || protocol === IPPROTO_TCP) && l4.length >= 4 ? { sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2) } : {};
  const headerLen = protocol === IPPROTO_UDP ? 8 : protocol === IPPROTO_TCP && l4.length >= 13 ? ((l4[12] ?? 0) >> 4) * 4 : 0;
  return { ip: { src: dotted(12), dst: dotted(16), protocol, ...ports, payload: l4.subarray(Math.min(headerLen, l4.length)) } };
}

export interface PcapIp {
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  readonly sport?: number;
  readonly dport?: number;
  /** Bytes after the UDP/TCP header (after the IP header for other protocols: their whole L4). */
  readonly payload: Buffer;
}

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
