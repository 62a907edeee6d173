/**
 * Prometheus metrics of the gateway (issue 4), registered on a caller-supplied prom-client
 * Registry so tests and several gateways in one process do not collide.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Metric name prefix (Prometheus naming: one namespace per application). */
export const METRICS_PREFIX = 'talkgate_';
/** Call set-up buckets (s): set-up spans a LOOK_UP/ANNOUNCE round trip up to RING_WAIT re-announces. */
export const SETUP_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface GatewayMetrics {
  /** Calls by direction (inbound|outbound) and outcome (connected|refused|failed|expired|…). */
  callsTotal: Counter<'direction' | 'outcome'>;
  /** Calls currently alive (set up or relaying). */
  callsActive: Gauge;
  /** Bytes relayed by direction (in = peer→target of a relay, out = target→peer; or inbound|outbound). */
  relayBytesTotal: Counter<'direction'>;
  /** Control messages by side (inside|outside) and type (LEAVE_INVITE, LOOK_UP, DELETE, ANNOUNCE, response…). */
  controlMessagesTotal: Counter<'side' | 'type'>;
  /** Control datagrams dropped as malformed. */
  controlMalformedTotal: Counter;
  /** Calls refused by policy, by reason (rule, rate-limit, max-calls, …). */
  policyRefusalsTotal: Counter<'reason'>;
  /** Time from the first request to the relay connected. */
  setupSeconds: Histogram;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const registers = [registry];
  return {
    callsTotal: new Counter({
      name: `${METRICS_PREFIX}calls_total`,
      help: 'Finished talk calls by direction and outcome (conversation, not-here, callee-refusing, denied-by-policy, refused, failed, unanswered, cancelled, ended-by-admin)',
      labelNames: ['direction', 'outcome'] as const,
      registers,
    }),
    callsActive: new Gauge({ name: `${METRICS_PREFIX}calls_active`, help: 'Talk calls currently alive', registers }),
    relayBytesTotal: new Counter({
      name: `${METRICS_PREFIX}relay_bytes_total`,
      help: 'Bytes relayed by direction',
      labelNames: ['direction'] as const,
      registers,
    }),
    controlMessagesTotal: new Counter({
      name: `${METRICS_PREFIX}control_messages_total`,
      help: 'Talk control messages handled by side and type',
      labelNames: ['side', 'type'] as const,
      registers,
    }),
    controlMalformedTotal: new Counter({
      name: `${METRICS_PREFIX}control_malformed_total`,
      help: 'Control datagrams dropped as malformed',
      registers,
    }),
    policyRefusalsTotal: new Counter({
      name: `${METRICS_PREFIX}policy_refusals_total`,
      help: 'Calls refused before ringing, by reason code (src/gateway/session/call-reason.ts)',
      labelNames: ['reason'] as const,
      registers,
    }),
    setupSeconds: new Histogram({
      name: `${METRICS_PREFIX}setup_seconds`,
      help: 'Call set-up time through the gateway (first request to relay connected)',
      buckets: SETUP_SECONDS_BUCKETS,
      registers,
    }),
  };
}
