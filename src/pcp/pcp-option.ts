/**
 * PCP options (RFC 6887 §7.3, §13; RFC 7220 DESCRIPTION): code(1) reserved(1) length(2) data,
 * padded to a multiple of 4. Decoding returns data or a result code (UNSUPP_OPTION,
 * MALFORMED_OPTION, EXCESSIVE_REMOTE_PEERS), never throws on peer bytes.
 */
import { PCP_ADDRESS_SIZE, readPcpAddress, writePcpAddress } from './pcp-address.js';
import {
  PCP_FILTER_SIZE,
  PCP_MANDATORY_OPTION_LIMIT,
  PCP_MAX_FILTERS,
  PCP_OPTION_HEADER_SIZE,
  PCP_THIRD_PARTY_SIZE,
  PcpOpcode,
  PcpOptionCode,
  PcpResult,
  type PcpResultCode,
} from './pcp-constants.js';

export interface PcpFilter {
  /** Prefix length over the 128-bit address (IPv4 /32 = 128). 0 clears the filters. */
  readonly prefixLength: number;
  /** 0 = any port. */
  readonly remotePort: number;
  readonly remoteAddress: string;
}

export interface PcpOptions {
  readonly thirdParty?: string;
  readonly preferFailure: boolean;
  readonly filters: readonly PcpFilter[];
  readonly description?: string;
}

export const NO_OPTIONS: PcpOptions = { preferFailure: false, filters: [] };

/** Longest DESCRIPTION we encode/keep (RFC 7220 allows up to the message size). */
export const PCP_MAX_DESCRIPTION = 128;

export type OptionsDecode = { readonly ok: true; readonly options: PcpOptions } | { readonly ok: false; readonly result: PcpResultCode; readonly reason: string };

function fail(result: PcpResultCode, reason: string): OptionsDecode {
  return { ok: false, result, reason };
}

/** Decodes the options region `buf[start, end)` of a message with `opcode`. */
export function decodePcpOptions(buf: Uint8Array, start: number, end: number, opcode: number): OptionsDecode {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = start;
  let thirdParty: string | undefined;
  let preferFailure = false;
  let description: string | undefined;
  const filters: PcpFilter[] = [];
  while (off < end) {
    if (off + PCP_OPTION_HEADER_SIZE > end) return fail(PcpResult.MALFORMED_OPTION, `option header truncated at ${off}`);
    const code = view.getUint8(off);
    const length = view.getUint16(off + 2);
    const dataStart = off + PCP_OPTION_HEADER_SIZE;
    const padded = (length + 3) & ~3;
    if (dataStart + padded > end) return fail(PcpResult.MALFORMED_OPTION, `option ${code} length ${length} overruns message`);
    switch (code) {
      case PcpOptionCode.THIRD_PARTY:
        if (opcode !== PcpOpcode.MAP && opcode !== PcpOpcode.PEER) return fail(PcpResult.MALFORMED_OPTION, 'THIRD_PARTY not valid for this opcode');
        if (length !== PCP_THIRD_PARTY_SIZE) return fail(PcpResult.MALFORMED_OPTION, `THIRD_PARTY length ${length}`);
        if (thirdParty !== undefined) return fail(PcpResult.MALFORMED_OPTION, 'THIRD_PARTY repeated');
        thirdParty = readPcpAddress(buf, dataStart);
        break;
      case PcpOptionCode.PREFER_FAILURE:
        if (opcode !== PcpOpcode.MAP) return fail(PcpResult.MALFORMED_OPTION, 'PREFER_FAILURE only with MAP');
        if (length !== 0) return fail(PcpResult.MALFORMED_OPTION, `PREFER_FAILURE length ${length}`);
        if (preferFailure) return fail(PcpResult.MALFORMED_OPTION, 'PREFER_FAILURE repeated');
        preferFailure = true;
        break;
      case PcpOptionCode.FILTER: {
        if (opcode !== PcpOpcode.MAP) return fail(PcpResult.MALFORMED_OPTION, 'FILTER only with MAP');
        if (length !== PCP_FILTER_SIZE) return fail(PcpResult.MALFORMED_OPTION, `FILTER length ${length}`);
        const prefixLength = view.getUint8(dataStart + 1);
        const remotePort = view.getUint16(dataStart + 2);
        const remoteAddress = readPcpAddress(buf, dataStart + 4);
        if (prefixLength > 8 * PCP_ADDRESS_SIZE) return fail(PcpResult.MALFORMED_OPTION, `FILTER prefix ${prefixLength}`);
        // RFC 6887 §13.3: an IPv4 filter's prefix length counts from the mapped prefix (>= 96).
        if (remoteAddress.includes('.') && prefixLength !== 0 && prefixLength < 96) return fail(PcpResult.MALFORMED_OPTION, `FILTER prefix ${prefixLength} for IPv4`);
        if (filters.length >= PCP_MAX_FILTERS) return fail(PcpResult.EXCESSIVE_REMOTE_PEERS, `more than ${PCP_MAX_FILTERS} FILTER options`);
        filters.push({ prefixLength, remotePort, remoteAddress });
        break;
      }
      case PcpOptionCode.DESCRIPTION: {
        const bytes = buf.subarray(dataStart, dataStart + Math.min(length, PCP_MAX_DESCRIPTION));
        description = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
        break;
      }
      default:
        if (code < PCP_MANDATORY_OPTION_LIMIT) return fail(PcpResult.UNSUPP_OPTION, `unsupported mandatory option ${code}`);
        // Optional (128–255) and unknown: ignored (RFC 6887 §7.3).
        break;
    }
    off = dataStart + padded;
  }
  const options: { -readonly [K in keyof PcpOptions]: PcpOptions[K] } = { preferFailure, filters };
  if (thirdParty !== undefined) options.thirdParty = thirdParty;
  if (description !== undefined) options.description = description;
  return { ok: true, options };
}

/** Encoded size of the options. */
export function pcpOptionsSize(o: PcpOptions): number {
  let n = 0;
  if (o.thirdParty !== undefined) n += PCP_OPTION_HEADER_SIZE + PCP_THIRD_PARTY_SIZE;
  if (o.preferFailure) n += PCP_OPTION_HEADER_SIZE;
  n += o.filters.length * (PCP_OPTION_HEADER_SIZE + PCP_FILTER_SIZE);
  if (o.description !== undefined) n += PCP_OPTION_HEADER_SIZE + ((descBytes(o.description).length + 3) & ~3);
  return n;
}

function descBytes(d: string): Uint8Array {
  return new TextEncoder().encode(d).subarray(0, PCP_MAX_DESCRIPTION);
}

/** Writes the options at `offset` (buffer zeroed by the caller); returns the end offset. */
export function encodePcpOptions(buf: Uint8Array, offset: number, o: PcpOptions): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = offset;
  const header = (code: number, length: number): void => {
    view.setUint8(off, code);
    view.setUint8(off + 1, 0);
    view.setUint16(off + 2, length);
    off += PCP_OPTION_HEADER_SIZE;
  };
  if (o.thirdParty !== undefined) {
    header(PcpOptionCode.THIRD_PARTY, PCP_THIRD_PARTY_SIZE);
    writePcpAddress(buf, off, o.thirdParty);
    off += PCP_THIRD_PARTY_SIZE;
  }
  if (o.preferFailure) header(PcpOptionCode.PREFER_FAILURE, 0);
  for (const f of o.filters) {
    header(PcpOptionCode.FILTER, PCP_FILTER_SIZE);
    view.setUint8(off, 0);
    view.setUint8(off + 1, f.prefixLength);
    view.setUint16(off + 2, f.remotePort);
    writePcpAddress(buf, off + 4, f.remoteAddress);
    off += PCP_FILTER_SIZE;
  }
  if (o.description !== undefined) {
    const b = descBytes(o.description);
    header(PcpOptionCode.DESCRIPTION, b.length);
    buf.set(b, off);
    off += (b.length + 3) & ~3;
  }
  return off;
}
