/**
 * A minimal reader for the classic pcap files tcpdump writes in the lab (Ethernet link type, IPv4):
 * yields each IPv4 packet with its addresses, protocol, ports and transport payload. Bounds-checked;
 * truncated or non-IPv4 frames are skipped, never thrown on.
 */
import { readFileSync } from 'node:fs';

/** pcap global header (magic, version, zone, sigfigs, snaplen, linktype). */
const PCAP_GLOBAL_HEADER = 24;
/** pcap record header (ts_sec, ts_usec, incl_len, orig_len). */
const PCAP_RECORD_HEADER = 16;
const LINKTYPE_ETHERNET = 1;
const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export interface IpPacket {
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly srcPort: number;
  readonly dstPort: number;
  /** The whole IPv4 packet (header included). */
  readonly ip: Buffer;
  /** UDP/TCP payload (empty for other protocols). */
  readonly payload: Buffer;
  /** TCP flags byte (0 for UDP). */
  readonly tcpFlags: number;
}

function ipStr(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function readPcap(path: string): IpPacket[] {
  const b = readFileSync(path);
  if (b.length < PCAP_GLOBAL_HEADER) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${path}: not a pcap file`);
  const u32 = (off: number): number => (le ? b.readUInt32LE(off) : b.readUInt32BE(off));
  if (u32(20) !== LINKTYPE_ETHERNET) throw new Error(`${path}: link type ${u32(20)} is not Ethernet`);
  const out: IpPacket[] = [];
  let off = PCAP_GLOBAL_HEADER;
  while (off + PCAP_RECORD_HEADER <= b.length) {
    const incl = u32(off + 8);
    const start = off + PCAP_RECORD_HEADER;
    off = start + incl;
    if (off > b.length) break;
    const f = b.subarray(start, start + incl);
    if (f.length < ETH_HEADER + 20 || f.readUInt16BE(12) !== ETHERTYPE_IPV4) continue;
    const ip = f.subarray(ETH_HEADER);
    if ((ip[0] ?? 0) >> 4 !== 4) continue;
    const ihl = ((ip[0] ?? 0) & 0x0f) * 4;
    const total = Math.min(ip.readUInt16BE(2), ip.length);
    const proto = ip[9] ?? 0;
    let srcPort = 0;
    let dstPort = 0;
    let payload = Buffer.alloc(0);
    let tcpFlags = 0;
    if (proto === IPPROTO_UDP && total >= ihl + 8) {
      srcPort = ip.readUInt16BE(ihl);
      dstPort = ip.readUInt16BE(ihl + 2);
      payload = ip.subarray(ihl + 8, total);
    } else if (proto === IPPROTO_TCP && total >= ihl + 20) {
      srcPort = ip.readUInt16BE(ihl);
      dstPort = ip.readUInt16BE(ihl + 2);
      const doff = ((ip[ihl + 12] ?? 0) >> 4) * 4;
      tcpFlags = ip[ihl + 13] ?? 0;
      payload = ip.subarray(Math.min(ihl + doff, total), total);
    }
    out.push({ src: ipStr(ip, 12), dst: ipStr(ip, 16), proto, srcPort, dstPort, ip: ip.subarray(0, total), payload, tcpFlags });
  }
  return out;
}
