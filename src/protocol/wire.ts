/**
 * Bounds-checked reader/writer helpers over `Uint8Array` for the talk codecs.
 *
 * Every read checks its bounds first and throws {@link DecodeError} (field, offset); every
 * write checks the value range and the target bounds and throws {@link EncodeError}.
 * Field names are the C field names of the wire structs (`id_num`, `ctl_addr.family`, ...).
 * No `Buffer`: plain `Uint8Array` + `DataView`, so the codecs stay runtime-neutral.
 */
import { DecodeError, EncodeError } from './decode-error.js';
import type { ByteOrder } from './talk-types.js';

/** Size in bytes of an IPv4 address on the wire. */
export const IPV4_SIZE = 4;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Throws DecodeError unless `bytes` holds `size` bytes starting at `offset`. */
export function checkReadable(bytes: Uint8Array, offset: number, size: number, field: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + size > bytes.length) {
    throw new DecodeError(field, offset, `needs ${size} byte(s) but the datagram has ${bytes.length}`);
  }
}

/** Throws DecodeError (field `length`) unless `bytes` is exactly `size` bytes long. */
export function expectLength(bytes: Uint8Array, size: number, what: string): void {
  if (bytes.length !== size) {
    throw new DecodeError('length', 0, `${what} must be exactly ${size} bytes, got ${bytes.length}`);
  }
}

function checkWritable(target: Uint8Array, offset: number, size: number, field: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + size > target.length) {
    throw new EncodeError(field, `needs ${size} byte(s) at offset ${offset} but the buffer has ${target.length}`);
  }
}

function checkInteger(value: number, min: number, max: number, field: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new EncodeError(field, `${String(value)} is not an integer in ${min}..${max}`);
  }
}

/** Throws EncodeError unless `order` is 'big' or 'little' (guards untyped callers). */
export function checkByteOrder(order: ByteOrder, field: string): void {
  if (order !== 'big' && order !== 'little') {
    throw new EncodeError(field, `${JSON.stringify(order)} is neither "big" nor "little"`);
  }
}

/** Reads an unsigned byte. */
export function readU8(bytes: Uint8Array, offset: number, field: string): number {
  checkReadable(bytes, offset, 1, field);
  return bytes[offset] as number;
}

/** Reads an unsigned 16-bit integer in `order`. */
export function readU16(bytes: Uint8Array, offset: number, order: ByteOrder, field: string): number {
  checkReadable(bytes, offset, 2, field);
  return view(bytes).getUint16(offset, order === 'little');
}

/** Reads an unsigned 32-bit integer in `order`. */
export function readU32(bytes: Uint8Array, offset: number, order: ByteOrder, field: string): number {
  checkReadable(bytes, offset, 4, field);
  return view(bytes).getUint32(offset, order === 'little');
}

/** Reads a signed 32-bit integer in `order`. */
export function readI32(bytes: Uint8Array, offset: number, order: ByteOrder, field: string): number {
  checkReadable(bytes, offset, 4, field);
  return view(bytes).getInt32(offset, order === 'little');
}

/** Writes an unsigned byte; EncodeError unless 0..255. */
export function writeU8(target: Uint8Array, offset: number, value: number, field: string): void {
  checkInteger(value, 0, 0xff, field);
  checkWritable(target, offset, 1, field);
  target[offset] = value;
}

/** Writes an unsigned 16-bit integer in `order`; EncodeError unless 0..65535. */
export function writeU16(target: Uint8Array, offset: number, value: number, order: ByteOrder, field: string): void {
  checkInteger(value, 0, 0xffff, field);
  checkWritable(target, offset, 2, field);
  view(target).setUint16(offset, value, order === 'little');
}

/** Writes an unsigned 32-bit integer in `order`; EncodeError unless 0..2^32-1. */
export function writeU32(target: Uint8Array, offset: number, value: number, order: ByteOrder, field: string): void {
  checkInteger(value, 0, 0xffff_ffff, field);
  checkWritable(target, offset, 4, field);
  view(target).setUint32(offset, value, order === 'little');
}

/** Writes a signed 32-bit integer in `order`; EncodeError unless -2^31..2^31-1. */
export function writeI32(target: Uint8Array, offset: number, value: number, order: ByteOrder, field: string): void {
  checkInteger(value, -0x8000_0000, 0x7fff_ffff, field);
  checkWritable(target, offset, 4, field);
  view(target).setInt32(offset, value, order === 'little');
}

/**
 * Reads a fixed-width NUL-padded string of `size` bytes: the characters up to the first NUL,
 * one latin1 char per byte. The last byte of the field is always treated as NUL (as BSD and
 * netkit talkd force it), so the result has at most `size - 1` characters.
 */
export function readFixedString(bytes: Uint8Array, offset: number, size: number, field: string): string {
  checkReadable(bytes, offset, size, field);
  let s = '';
  for (let i = 0; i < size - 1; i++) {
    const b = bytes[offset + i] as number;
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  return s;
}

/**
 * Writes `value` as a fixed-width NUL-padded field of `size` bytes, one latin1 char per byte.
 * EncodeError if a char is above 0xFF, is NUL, or the string is longer than `size - 1`.
 */
export function writeFixedString(target: Uint8Array, offset: number, size: number, value: string, field: string): void {
  if (value.length > size - 1) {
    throw new EncodeError(field, `${value.length} chars do not fit (at most ${size - 1})`);
  }
  checkWritable(target, offset, size, field);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) throw new EncodeError(field, `char ${i} (U+${c.toString(16).padStart(4, '0')}) is not latin1`);
    if (c === 0) throw new EncodeError(field, `char ${i} is NUL`);
  }
  for (let i = 0; i < size; i++) {
    target[offset + i] = i < value.length ? value.charCodeAt(i) : 0;
  }
}

/** Reads 4 bytes as a dotted-quad IPv4 address. */
export function readIPv4(bytes: Uint8Array, offset: number, field: string): string {
  checkReadable(bytes, offset, IPV4_SIZE, field);
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/**
 * Parses a canonical dotted quad ("10.1.0.2": four decimal octets 0–255, no leading zeros)
 * into 4 bytes, or returns `undefined`.
 */
export function parseIPv4(address: string): Uint8Array | undefined {
  const m = DOTTED_QUAD.exec(address);
  if (m === null) return undefined;
  const out = new Uint8Array(IPV4_SIZE);
  for (let i = 0; i < IPV4_SIZE; i++) {
    const n = Number(m[i + 1]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** True when `address` is a canonical dotted-quad IPv4 address. */
export function isIPv4(address: string): boolean {
  return parseIPv4(address) !== undefined;
}

/** Writes a dotted-quad IPv4 address as 4 bytes (network order); EncodeError if not a dotted quad. */
export function writeIPv4(target: Uint8Array, offset: number, address: string, field: string): void {
  const quad = parseIPv4(address);
  if (quad === undefined) throw new EncodeError(field, `${JSON.stringify(address)} is not a dotted-quad IPv4 address`);
  checkWritable(target, offset, IPV4_SIZE, field);
  target.set(quad, offset);
}
