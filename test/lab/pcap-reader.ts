/**
 * A minimal reader for the classic pcap files tcpdump -w writes in the lab (magic a1b2c3d4 either
 * byte order, microsecond or nanosecond; pcap-savefile(5)): every record as a frame, with its IPv4
 * addresses, protocol, ports and transport payload when it is Ethernet + IPv4. Bounds-checked;
 * truncated or non-IPv4 frames carry no `ip`, they are never thrown on.
 */
import { readFileSync } from 'node:fs';

/** Global header 24 bytes (magic, version, zone, sigfigs, snaplen, linktype). */
const GLOBAL_HEADER = 24;
/** Record header 16 bytes (ts_sec, ts_usec, incl_len, orig_len). */
const RECORD_HEADER = 16;
const LINKTYPE_ETHERNET = 1;
const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
/** IPv4 header without options; UDP header; TCP header without options. */
const IPV4_MIN_HEADER = 20;
const UDP_HEADER = 8;
const TCP_MIN_HEADER = 20;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
/** Bound on records read from one file. */
const MAX_RECORDS = 200_000;

export interface PcapFrame {
  readonly index: number;
  /** Capture time, ms since the epoch (sub-ms precision). */
  readonly ms: number;
  readonly bytes: Buffer;
  /** The IPv4 packet when the frame is Ethernet + IPv4. */
  readonly ip?: PcapIp;
}

export interface PcapIp {
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  /** UDP/TCP ports (absent for other protocols or a header cut short). */
  readonly sport?: number;
  readonly dport?: number;
  /**
   * Bytes after the UDP/TCP header (after the IP header for other protocols: their whole L4, e.g.
   * the quoted header of an ICMP error), up to the IPv4 total length (no Ethernet padding).
   */
  readonly payload: Buffer;
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
    const ip = linktype === LINKTYPE_ETHERNET ? ipv4Of(bytes) : undefined;
    frames.push({ index: frames.length, ms, bytes, ...(ip !== undefined ? { ip } : {}) });
    off = start + incl;
  }
  return frames;
}

/** The IPv4 packets of `frames`, in capture order. */
export function ipPackets(frames: readonly PcapFrame[]): PcapIp[] {
  return frames.flatMap((f) => (f.ip !== undefined ? [f.ip] : []));
}

function ipv4Of(frame: Buffer): PcapIp | undefined {
  if (frame.length < ETH_HEADER + IPV4_MIN_HEADER || frame.readUInt16BE(12) !== ETHERTYPE_IPV4) return undefined;
  const ip = frame.subarray(ETH_HEADER);
  if ((ip[0] ?? 0) >> 4 !== 4) return undefined;
  const ihl = ((ip[0] ?? 0) & 0x0f) * 4;
  const total = Math.min(ip.readUInt16BE(2), ip.length);
  const l4 = ip.subarray(Math.min(ihl, total), total);
  const protocol = ip[9] ?? 0;
  const dotted = (o: number): string => `${ip[o]}.${ip[o + 1]}.${ip[o + 2]}.${ip[o + 3]}`;
  const ports = (protocol === IPPROTO_UDP || protocol === IPPROTO_TCP) && l4.length >= 4 ? { sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2) } : {};
  const headerLen = protocol === IPPROTO_UDP ? UDP_HEADER : protocol === IPPROTO_TCP && l4.length >= TCP_MIN_HEADER ? ((l4[12] ?? 0) >> 4) * 4 : 0;
  return { src: dotted(12), dst: dotted(16), protocol, ...ports, payload: l4.subarray(Math.min(headerLen, l4.length)) };
}
