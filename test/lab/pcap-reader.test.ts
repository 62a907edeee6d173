/**
 * The lab's pcap reader on files built here byte by byte (no root, no tcpdump): both byte orders,
 * micro- and nanosecond stamps, UDP/TCP/ICMP payload bounds, Ethernet padding, non-IPv4 frames and a
 * record cut short by a stopped capture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcap, ipPackets, IPPROTO_TCP, IPPROTO_UDP } from './pcap-reader.js';

const ICMP = 1;

function ipv4(protocol: number, src: number[], dst: number[], l4: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h[8] = 64;
  h[9] = protocol;
  Buffer.from(src).copy(h, 12);
  Buffer.from(dst).copy(h, 16);
  return Buffer.concat([h, l4]);
}

function ether(type: number, body: Buffer, padTo = 0): Buffer {
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(type, 12);
  const f = Buffer.concat([eth, body]);
  return f.length < padTo ? Buffer.concat([f, Buffer.alloc(padTo - f.length, 0xee)]) : f;
}

function pcap(frames: readonly Buffer[], opts: { le: boolean; nano: boolean; cut?: number }): Buffer {
  const w32 = (b: Buffer, v: number, o: number): void => void (opts.le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const g = Buffer.alloc(24);
  w32(g, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w32(g, 65535, 16);
  w32(g, 1, 20);
  const recs = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    w32(r, 1_700_000_000 + i, 0);
    w32(r, opts.nano ? 500_000_000 : 500_000, 4);
    w32(r, f.length, 8);
    w32(r, f.length, 12);
    return Buffer.concat([r, f]);
  });
  const all = Buffer.concat([g, ...recs]);
  return all.subarray(0, all.length - (opts.cut ?? 0));
}

const A = [10, 1, 0, 2];
const B = [192, 0, 2, 7];
const udp = Buffer.concat([Buffer.from([0x04, 0x00, 0x02, 0x06, 0x00, 0x0b, 0, 0]), Buffer.from('abc')]);
const tcpHeader = Buffer.alloc(24);
tcpHeader.writeUInt16BE(40000, 0);
tcpHeader.writeUInt16BE(5555, 2);
tcpHeader[12] = 6 << 4; // data offset 24 bytes (one option word)
const tcp = Buffer.concat([tcpHeader, Buffer.from([0x1b, 0x5b])]);
const icmp = Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), Buffer.from(A)]);
const frames = [
  ether(0x0800, ipv4(IPPROTO_UDP, A, B, udp), 60),
  ether(0x0800, ipv4(IPPROTO_TCP, B, A, tcp)),
  ether(0x0800, ipv4(ICMP, B, A, icmp)),
  ether(0x0806, Buffer.alloc(28, 1)),
  ether(0x0800, ipv4(IPPROTO_UDP, A, B, udp)),
];

for (const le of [true, false]) {
  for (const nano of [false, true]) {
    test(`reads a ${le ? 'little' : 'big'}-endian ${nano ? 'nanosecond' : 'microsecond'} capture`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'pcap-reader-'));
      try {
        const path = join(dir, 'x.pcap');
        writeFileSync(path, pcap(frames, { le, nano, cut: 3 }));
        const got = readPcap(path);
        assert.equal(got.length, 4, 'the last record, cut short, is dropped');
        assert.deepEqual(got.map((f) => f.index), [0, 1, 2, 3]);
        assert.equal(got[0]?.ms, 1_700_000_000_500);
        assert.equal(got[3]?.ip, undefined, 'ARP has no IPv4 part');
        const ips = ipPackets(got);
        assert.equal(ips.length, 3);
        const [u, t, i] = ips;
        assert.deepEqual({ ...u, payload: u?.payload.toString() }, { src: '10.1.0.2', dst: '192.0.2.7', protocol: IPPROTO_UDP, sport: 1024, dport: 518, payload: 'abc' });
        assert.deepEqual({ ...t, payload: t?.payload.toString('hex') }, { src: '192.0.2.7', dst: '10.1.0.2', protocol: IPPROTO_TCP, sport: 40000, dport: 5555, payload: '1b5b' });
        assert.equal(i?.protocol, ICMP);
        assert.equal(i?.sport, undefined);
        assert.deepEqual([...(i?.payload ?? [])], [...icmp], 'other protocols: the whole L4');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

test('a file without a pcap header is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcap-reader-'));
  try {
    writeFileSync(join(dir, 'short'), Buffer.alloc(10));
    assert.throws(() => readPcap(join(dir, 'short')), /no pcap header/);
    writeFileSync(join(dir, 'bad'), Buffer.alloc(40, 7));
    assert.throws(() => readPcap(join(dir, 'bad')), /not a classic pcap file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
