/**
 * fast-check arbitraries for talk messages, shared by the codec tests (and usable by daemon,
 * client and gateway tests). Every generated message is valid, i.e. encodable, and round-trips.
 */
import fc from 'fast-check';
import { AF_INET, NTALK_NAME_SIZE, OTALK_NAME_SIZE, TTY_SIZE } from '../constants.js';
import type {
  ByteOrder,
  NtalkCtlMsg,
  NtalkCtlResponse,
  OtalkCtlMsg,
  OtalkCtlResponse,
  SockAddrIn,
} from '../talk-types.js';

/** fc.record without null-prototype objects (they would fail deepStrictEqual against decoded values). */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

export const arbByteOrder: fc.Arbitrary<ByteOrder> = fc.constantFrom<ByteOrder>('big', 'little');
export const arbU8 = fc.integer({ min: 0, max: 0xff });
export const arbU16 = fc.integer({ min: 0, max: 0xffff });
export const arbU32 = fc.integer({ min: 0, max: 0xffff_ffff });
export const arbI32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });

/** A dotted-quad IPv4 address. */
export const arbIPv4: fc.Arbitrary<string> = fc
  .tuple(arbU8, arbU8, arbU8, arbU8)
  .map((q) => q.join('.'));

/** A socket address with any family (ntalk carries it as data). */
export const arbSockAddr: fc.Arbitrary<SockAddrIn> = record({ family: arbU16, port: arbU16, address: arbIPv4 });

/** An AF_INET socket address. */
export const arbInetSockAddr: fc.Arbitrary<SockAddrIn> = record({
  family: fc.constant(AF_INET),
  port: arbU16,
  address: arbIPv4,
});

/** A latin1 name of at most `size - 1` chars and no NUL (what fits a NUL-padded field of `size`). */
export function arbFieldString(size: number): fc.Arbitrary<string> {
  return fc
    .array(fc.integer({ min: 1, max: 0xff }), { maxLength: size - 1 })
    .map((codes) => String.fromCharCode(...codes));
}

export const arbNtalkCtlMsg: fc.Arbitrary<NtalkCtlMsg> = record({
  version: arbU8,
  type: arbU8,
  id: arbU32,
  addr: arbSockAddr,
  ctlAddr: arbSockAddr,
  pid: arbI32,
  lName: arbFieldString(NTALK_NAME_SIZE),
  rName: arbFieldString(NTALK_NAME_SIZE),
  rTty: arbFieldString(TTY_SIZE),
});

export const arbNtalkCtlResponse: fc.Arbitrary<NtalkCtlResponse> = record({
  version: arbU8,
  type: arbU8,
  answer: arbU8,
  id: arbU32,
  addr: arbSockAddr,
});

/**
 * The family pair of an otalk request whose byte order is detectable: ctl_addr is AF_INET and
 * addr anything, or ctl_addr is neither 0x0002 nor 0x0200 and addr is AF_INET (the fallback).
 */
const arbOtalkAddrs = fc.oneof(
  record({ addr: arbSockAddr, ctlAddr: arbInetSockAddr }),
  record({
    addr: arbInetSockAddr,
    ctlAddr: arbSockAddr.filter((a) => a.family !== AF_INET && a.family !== AF_INET << 8),
  }),
);

export const arbOtalkCtlMsg: fc.Arbitrary<OtalkCtlMsg> = fc
  .record({
    byteOrder: arbByteOrder,
    type: arbU8,
    id: arbU32,
    addrs: arbOtalkAddrs,
    pid: arbI32,
    lName: arbFieldString(OTALK_NAME_SIZE),
    rName: arbFieldString(OTALK_NAME_SIZE),
    rTty: arbFieldString(TTY_SIZE),
  })
  .map(({ addrs, ...rest }) => ({ ...rest, addr: addrs.addr, ctlAddr: addrs.ctlAddr }));

/** An otalk response in `byteOrder` (either order when omitted), either layout. */
export function arbOtalkCtlResponse(byteOrder?: ByteOrder): fc.Arbitrary<OtalkCtlResponse> {
  return record({
    byteOrder: byteOrder === undefined ? arbByteOrder : fc.constant(byteOrder),
    layout: fc.constantFrom<OtalkCtlResponse['layout']>('padded', 'unpadded'),
    type: arbU8,
    answer: arbU8,
    id: arbU32,
    addr: arbSockAddr,
  });
}
