/**
 * The 16-byte socket address carried in talk messages: 4.3BSD `struct osockaddr` (ntalk,
 * family big-endian) or a native `struct sockaddr_in` (otalk, family in the sender's order).
 * Layout: family u16 (given order) | port u16 (big-endian) | IPv4 (4, network order) | 8 bytes
 * ignored on decode, written zero on encode. See shared/reference/talk-protocol.md §1–§2.
 */
import { AF_INET, SOCKADDR_SIZE } from './constants.js';
import type { ByteOrder, SockAddrIn } from './talk-types.js';
import { checkReadable, readIPv4, readU16, writeIPv4, writeU16 } from './wire.js';
import { EncodeError } from './decode-error.js';

/** Offsets inside a socket address. */
const FAMILY_OFFSET = 0;
const PORT_OFFSET = 2;
const ADDRESS_OFFSET = 4;

/**
 * Decodes the socket address at `offset`. `field` names it in errors (e.g. `ctl_addr`).
 * The family is returned as found (a daemon answers BADADDR/BADCTLADDR, not an exception).
 */
export function decodeSockAddr(bytes: Uint8Array, offset: number, familyOrder: ByteOrder, field: string): SockAddrIn {
  checkReadable(bytes, offset, SOCKADDR_SIZE, field);
  return {
    family: readU16(bytes, offset + FAMILY_OFFSET, familyOrder, `${field}.family`),
    port: readU16(bytes, offset + PORT_OFFSET, 'big', `${field}.port`),
    address: readIPv4(bytes, offset + ADDRESS_OFFSET, `${field}.address`),
  };
}

/** Encodes `addr` at `offset` of `target` (16 bytes; the 8 trailing bytes are zeroed). */
export function encodeSockAddr(target: Uint8Array, offset: number, addr: SockAddrIn, familyOrder: ByteOrder, field = 'addr'): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + SOCKADDR_SIZE > target.length) {
    throw new EncodeError(field, `needs ${SOCKADDR_SIZE} bytes at offset ${offset} but the buffer has ${target.length}`);
  }
  writeU16(target, offset + FAMILY_OFFSET, addr.family, familyOrder, `${field}.family`);
  writeU16(target, offset + PORT_OFFSET, addr.port, 'big', `${field}.port`);
  writeIPv4(target, offset + ADDRESS_OFFSET, addr.address, `${field}.address`);
  target.fill(0, offset + ADDRESS_OFFSET + 4, offset + SOCKADDR_SIZE);
}

/** An AF_INET socket address. */
export function sockAddr(address: string, port: number): SockAddrIn {
  return { family: AF_INET, port, address };
}

/** "1.2.3.4:518" (the family is not shown). */
export function formatSockAddr(a: SockAddrIn): string {
  return `${a.address}:${a.port}`;
}
