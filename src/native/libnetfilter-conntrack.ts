/**
 * libnetfilter_conntrack (libnetfilter_conntrack.so.3, the library behind the `conntrack`
 * program) through koffi: a dump of the TCP flows whose mark matches value/mask, filtered in the
 * kernel (NFCT_Q_DUMP_FILTER), in process: what `conntrack -L -p tcp --mark V/M` prints, without
 * a fork/exec per poll. Works on the calling process's network namespace. Synchronous on the
 * calling thread. Loaded lazily. Linux only.
 *
 * Numbers from <libnetfilter_conntrack/libnetfilter_conntrack.h> (1.0.x, stable ABI).
 */
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';
import { TalkError } from '../shared/talk-error.js';

/** Debian libnetfilter-conntrack3 (a dependency of the conntrack package). */
export const LIBNETFILTER_CONNTRACK_SONAME = 'libnetfilter_conntrack.so.3';
/** NFNL_SUBSYS_CTNETLINK (the CONNTRACK subsystem for nfct_open). */
const CONNTRACK = 1;
/** enum nf_conntrack_msg_type NFCT_T_ALL (NEW | UPDATE | DESTROY). */
const NFCT_T_ALL = 7;
/** Callback verdict NFCT_CB_CONTINUE. */
const NFCT_CB_CONTINUE = 1;
/** enum nf_conntrack_query NFCT_Q_DUMP_FILTER. */
const NFCT_Q_DUMP_FILTER = 8;
/** enum nfct_filter_dump_attr: NFCT_FILTER_DUMP_MARK, NFCT_FILTER_DUMP_L3NUM. */
const NFCT_FILTER_DUMP_MARK = 0;
const NFCT_FILTER_DUMP_L3NUM = 1;
/** enum nf_conntrack_attr. */
const ATTR_ORIG_L4PROTO = 17;
const ATTR_TCP_STATE = 19;
const ATTR_MARK = 25;
const ATTR_ORIG_COUNTER_BYTES = 28;
const ATTR_REPL_COUNTER_BYTES = 29;
/** <netinet/in.h> AF_INET, IPPROTO_TCP. */
const AF_INET = 2;
const IPPROTO_TCP = 6;
/** Bound on the flows one dump collects (beyond: the dump is reported as a failure). */
export const CONNTRACK_DUMP_MAX_FLOWS = 65_536;
/** enum tcp_conntrack, by value, with the names `conntrack -L` prints. */
export const TCP_CONNTRACK_STATES: readonly string[] = [
  'NONE',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'SYN_SENT2',
];

/** One TCP flow of a dump. */
export interface ConntrackDumpFlow {
  readonly state: string;
  readonly mark: number;
  /** Original and reply byte counters (present with nf_conntrack_acct=1). */
  readonly bytes: readonly [number, number] | undefined;
}

export type ConntrackDumpResult = { readonly ok: true; readonly flows: ConntrackDumpFlow[] } | { readonly ok: false; readonly message: string };

/** One conntrack netlink handle. */
export interface Libconntrack {
  /** The IPv4 TCP flows with (mark & mask) == value; a failed dump is a result, never a throw. */
  dumpTcpByMark(value: number, mask: number): ConntrackDumpResult;
  /** Closes the handle (idempotent). */
  close(): void;
}

export class LibconntrackUnavailableError extends TalkError {
  override readonly name = 'LibconntrackUnavailableError';
  constructor(message: string) {
    super('CONNTRACK_UNAVAILABLE', message);
  }
}

interface Fns {
  open(subsys: number, subscriptions: number): unknown;
  close(h: unknown): number;
  callbackRegister(h: unknown, type: number, cb: unknown, data: unknown): number;
  query(h: unknown, q: number, data: unknown): number;
  filterCreate(): unknown;
  filterDestroy(f: unknown): void;
  filterSetAttr(f: unknown, attr: number, value: Buffer): void;
  filterSetAttrU8(f: unknown, attr: number, value: number): void;
  attrIsSet(ct: unknown, attr: number): number;
  u8(ct: unknown, attr: number): number;
  u32(ct: unknown, attr: number): number;
  u64(ct: unknown, attr: number): number | bigint;
  cbType: TypeObject;
}

const loaded = new Map<string, Fns>();

function bind(soname: string): Fns {
  const hit = loaded.get(soname);
  if (hit !== undefined) return hit;
  let lib: LibraryHandle;
  try {
    lib = koffi.load(soname);
  } catch (err: unknown) {
    throw new LibconntrackUnavailableError(`cannot load ${soname} (install libnetfilter-conntrack3): ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  const proto = koffi.proto(`int talkgate_nfct_cb_${loaded.size}(int type, void *ct, void *data)`);
  const cbType = koffi.pointer(proto);
  const fns: Fns = {
    open: lib.func('void *nfct_open(uint8_t subsys, unsigned int subscriptions)'),
    close: lib.func('int nfct_close(void *h)'),
    callbackRegister: lib.func('nfct_callback_register', 'int', ['void *', 'int', cbType, 'void *']),
    query: lib.func('int nfct_query(void *h, int query, const void *data)'),
    filterCreate: lib.func('void *nfct_filter_dump_create(void)'),
    filterDestroy: lib.func('void nfct_filter_dump_destroy(void *f)'),
    filterSetAttr: lib.func('void nfct_filter_dump_set_attr(void *f, int attr, const void *value)'),
    filterSetAttrU8: lib.func('void nfct_filter_dump_set_attr_u8(void *f, int attr, uint8_t value)'),
    attrIsSet: lib.func('int nfct_attr_is_set(const void *ct, int attr)'),
    u8: lib.func('uint8_t nfct_get_attr_u8(const void *ct, int attr)'),
    u32: lib.func('uint32_t nfct_get_attr_u32(const void *ct, int attr)'),
    u64: lib.func('uint64_t nfct_get_attr_u64(const void *ct, int attr)'),
    cbType,
  };
  loaded.set(soname, fns);
  return fns;
}

/**
 * Opens one conntrack netlink handle.
 * @throws LibconntrackUnavailableError when the library or a handle cannot be had.
 */
export function openLibconntrack(soname: string = LIBNETFILTER_CONNTRACK_SONAME): Libconntrack {
  const f = bind(soname);
  const h = f.open(CONNTRACK, 0);
  if (h === null) throw new LibconntrackUnavailableError(`${soname}: nfct_open failed (errno ${koffi.errno()})`);
  // The callback fills whichever array the current dump collects into (dumps are synchronous).
  let sink: ConntrackDumpFlow[] = [];
  let overflow = false;
  const cb = koffi.register((_type: number, ct: unknown): number => {
    if (f.u8(ct, ATTR_ORIG_L4PROTO) !== IPPROTO_TCP) return NFCT_CB_CONTINUE;
    if (sink.length >= CONNTRACK_DUMP_MAX_FLOWS) {
      overflow = true;
      return NFCT_CB_CONTINUE;
    }
    const counted = f.attrIsSet(ct, ATTR_ORIG_COUNTER_BYTES) > 0 && f.attrIsSet(ct, ATTR_REPL_COUNTER_BYTES) > 0;
    sink.push({
      state: TCP_CONNTRACK_STATES[f.u8(ct, ATTR_TCP_STATE)] ?? 'UNKNOWN',
      mark: f.u32(ct, ATTR_MARK) >>> 0,
      bytes: counted ? [Number(f.u64(ct, ATTR_ORIG_COUNTER_BYTES)), Number(f.u64(ct, ATTR_REPL_COUNTER_BYTES))] : undefined,
    });
    return NFCT_CB_CONTINUE;
  }, f.cbType);
  if (f.callbackRegister(h, NFCT_T_ALL, cb, null) !== 0) {
    koffi.unregister(cb);
    f.close(h);
    throw new LibconntrackUnavailableError(`${soname}: nfct_callback_register failed`);
  }
  let open = true;
  return {
    dumpTcpByMark(value: number, mask: number): ConntrackDumpResult {
      if (!open) return { ok: false, message: 'conntrack handle closed' };
      const filter = f.filterCreate();
      if (filter === null) return { ok: false, message: 'nfct_filter_dump_create failed' };
      try {
        // struct nfct_filter_dump_mark { uint32_t val; uint32_t mask; } in host byte order.
        const m = Buffer.from(new Uint32Array([value >>> 0, mask >>> 0]).buffer);
        f.filterSetAttr(filter, NFCT_FILTER_DUMP_MARK, m);
        f.filterSetAttrU8(filter, NFCT_FILTER_DUMP_L3NUM, AF_INET);
        sink = [];
        overflow = false;
        const rc = f.query(h, NFCT_Q_DUMP_FILTER, filter);
        const flows = sink;
        sink = [];
        if (rc !== 0) return { ok: false, message: `conntrack dump failed (errno ${koffi.errno()})` };
        if (overflow) return { ok: false, message: `more than ${CONNTRACK_DUMP_MAX_FLOWS} flows` };
        return { ok: true, flows };
      } finally {
        f.filterDestroy(filter);
      }
    },
    close(): void {
      if (!open) return;
      open = false;
      f.close(h);
      koffi.unregister(cb);
    },
  };
}
