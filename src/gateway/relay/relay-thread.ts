/**
 * The relay thread (issue 18: relaying never delays control processing): a `worker_threads` Worker
 * that owns every per-call listener and connection and runs the sanitiser, so an escape-heavy
 * stream spends its CPU here, off the thread that answers LOOK_UPs and `/healthz`. Its heap and
 * garbage collector are its own too. It talks to the control thread only through
 * relay-thread-messages.ts; byte counts go back batched (RELAY_BYTES_REPORT_MS), a call's final
 * counts before its end.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../../shared/clock.js';
import { RELAY_BYTES_REPORT_MS, RELAY_THREAD_NICE } from './relay-constants.js';
import { RelayManager } from './relay-manager.js';
import type { FromRelayThread, RelayLogLevel, RelayThreadInit, ToRelayThread } from './relay-thread-messages.js';
import type { RelayLogger, RelayOpenRequest } from './relay-types.js';
import { peerTlsLeg, type PeerTlsLeg, type PeerTlsLegSpec } from '../peering/peer-tls-leg.js';

const port = parentPort;
if (port === null) throw new Error('relay-thread.js runs only as a worker thread');
const init = workerData as RelayThreadInit;
const post = (m: FromRelayThread): void => port.postMessage(m);

// Linux: setpriority(PRIO_PROCESS, 0) sets the calling thread's nice value, this thread's only.
try {
  setPriority(RELAY_THREAD_NICE);
} catch {
  // not permitted (a lower value than now needs privileges): relay at the process's priority
}

function threadLogger(bindings: Record<string, unknown>): RelayLogger {
  const line = (level: RelayLogLevel) => (obj: object, msg?: string) => post({ t: 'log', level, obj: { ...bindings, ...obj }, msg });
  return { info: line('info'), warn: line('warn'), error: line('error'), child: (b) => threadLogger({ ...bindings, ...b }) };
}

/** Bytes read since the last report: callId → [in, out]. */
const pending = new Map<string, [number, number]>();
function flushBytes(only?: string): void {
  if (only !== undefined) {
    const c = pending.get(only);
    if (c === undefined) return;
    pending.delete(only);
    post({ t: 'bytes', counts: [[only, c[0], c[1]]] });
    return;
  }
  if (pending.size === 0) return;
  const counts = [...pending].map(([id, [i, o]]) => [id, i, o] as const);
  pending.clear();
  post({ t: 'bytes', counts });
}
setInterval(() => flushBytes(), RELAY_BYTES_REPORT_MS).unref();

const relays = new RelayManager({
  portRange: init.portRange,
  maxRelays: init.maxRelays,
  clock: systemClock,
  logger: threadLogger({}),
  events: {
    onAccepted: (callId, from) => post({ t: 'accepted', callId, from }),
    onConnected: (callId, info) => post({ t: 'connected', callId, peer: info.peer, target: info.target }),
    onEnded: (callId, info) => {
      flushBytes(callId);
      post({ t: 'ended', callId, info });
    },
    onRefusedConnection: (callId, from) => post({ t: 'refused', callId, from }),
    onBytes: (callId, direction, bytes) => {
      let c = pending.get(callId);
      if (c === undefined) pending.set(callId, (c = [0, 0]));
      c[direction === 'in' ? 0 : 1] += bytes;
    },
  },
});

/** Legs built so far, by peer name: one secure context per peer, not per call (bounded by the configured peers). */
const legs = new Map<string, { spec: PeerTlsLegSpec; leg: PeerTlsLeg }>();
function legOf(spec: PeerTlsLegSpec): PeerTlsLeg {
  const known = legs.get(spec.peer.name);
  // A reload may change the material or the peer entry: rebuild then.
  if (known !== undefined && JSON.stringify(known.spec) === JSON.stringify(spec)) return known.leg;
  const leg = peerTlsLeg(spec);
  legs.set(spec.peer.name, { spec, leg });
  return leg;
}

function openRequest(m: Extract<ToRelayThread, { t: 'open' }>): RelayOpenRequest {
  if (m.tls === undefined) return m.req;
  const { listen, connect } = m.tls;
  return { ...m.req, tls: { ...(listen !== undefined ? { listen: legOf(listen) } : {}), ...(connect !== undefined ? { connect: legOf(connect) } : {}) } };
}

port.on('message', (m: ToRelayThread) => {
  switch (m.t) {
    case 'open':
      void Promise.resolve()
        .then(() => relays.open(openRequest(m)))
        .then(
        (result) => post({ t: 'opened', seq: m.seq, result }),
        (err: unknown) => post({ t: 'opened', seq: m.seq, result: { ok: false, reason: 'error', detail: String(err) } }),
      );
      return;
    case 'close':
      relays.close(m.callId);
      return;
    case 'stop':
      relays.closeAll();
      flushBytes();
      post({ t: 'stopped', seq: m.seq });
      return;
  }
});
