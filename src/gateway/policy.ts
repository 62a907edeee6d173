/**
 * Call policy: an ordered list of allow/deny rules, first match wins, default deny.
 * Pure. Evaluated by the session core before anything is forwarded, so a refused call never rings.
 */
import type { PolicyRule } from '../config/gateway-config.js';
import { cidrContains } from '../shared/ipv4-cidr.js';

/** What a call looks like to the policy. */
export interface PolicyQuery {
  /** outbound = inside caller → outside callee; inbound = outside caller → inside callee. */
  readonly direction: 'inbound' | 'outbound';
  /** The inside party's login (caller for outbound, callee for inbound). */
  readonly insideUser: string;
  /** The outside party's IPv4 address (callee host for outbound, caller source for inbound). */
  readonly remoteAddress: string;
  /** The outside party's host name when known (as typed or from the directory/host table). */
  readonly remoteName?: string;
}

export type PolicyDecision =
  | { readonly allow: true; readonly rule: number }
  | { readonly allow: false; readonly rule: number | null; readonly reason: string };

function matches(rule: PolicyRule, q: PolicyQuery): boolean {
  if (rule.direction !== 'any' && rule.direction !== q.direction) return false;
  if (rule.user !== '*' && rule.user !== q.insideUser) return false;
  switch (rule.remote.kind) {
    case 'any':
      return true;
    case 'cidr':
      return cidrContains(rule.remote.cidr, q.remoteAddress);
    case 'host':
      return q.remoteName !== undefined && q.remoteName.toLowerCase() === rule.remote.name;
  }
}

/** First matching rule decides; no match → deny ("no policy rule matched"). `rule` is the 0-based index. */
export function evaluatePolicy(rules: readonly PolicyRule[], q: PolicyQuery): PolicyDecision {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as PolicyRule;
    if (!matches(rule, q)) continue;
    if (rule.action === 'allow') return { allow: true, rule: i };
    return { allow: false, rule: i, reason: `denied by policy rule #${i + 1}` };
  }
  return { allow: false, rule: null, reason: 'no policy rule matched (default deny)' };
}
