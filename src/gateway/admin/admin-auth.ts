/**
 * Authorisation of the admin listener's state-changing requests (issue 16): a configured bearer
 * token is required, compared in constant time; cross-site requests are refused (CSRF) because
 * (1) the token travels in the Authorization header, which a foreign page cannot make a browser
 * attach, (2) the body must be application/json, which forces a CORS preflight the listener never
 * approves, and (3) an Origin header, when sent, must name this listener.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isAllowedHost, type AllowedHosts } from './host-check.js';

export type ActionRefusal = 'read-only' | 'missing-token' | 'bad-token' | 'cross-origin' | 'bad-content-type';

export const ACTION_REFUSAL_MESSAGES: Readonly<Record<ActionRefusal, string>> = {
  'read-only': 'no admin token is configured: the admin listener is read-only',
  'missing-token': 'an "Authorization: Bearer <token>" header is required',
  'bad-token': 'the bearer token is wrong',
  'cross-origin': 'the request comes from another origin',
  'bad-content-type': 'the body must be application/json',
};

/** HTTP status of each refusal (RFC 6750 §3.1: a missing or wrong token is 401). */
export const ACTION_REFUSAL_STATUS: Readonly<Record<ActionRefusal, number>> = {
  'read-only': 403,
  'missing-token': 401,
  'bad-token': 401,
  'cross-origin': 403,
  'bad-content-type': 415,
};

export interface ActionRequest {
  readonly authorization: string | undefined;
  readonly origin: string | undefined;
  readonly contentType: string | undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Checks a state-changing request; `undefined` when it may proceed. */
export function refuseAction(req: ActionRequest, token: string | undefined, allowed: AllowedHosts): ActionRefusal | undefined {
  if (token === undefined) return 'read-only';
  if (req.origin !== undefined) {
    const m = /^https?:\/\/([^/]+)$/.exec(req.origin);
    if (m === null || !isAllowedHost(m[1], allowed)) return 'cross-origin';
  }
  if (!/^application\/json(\s*;.*)?$/i.test(req.contentType ?? '')) return 'bad-content-type';
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(req.authorization ?? '');
  if (m === null) return 'missing-token';
  // Equal-length digests: the comparison time does not depend on where the strings differ.
  return timingSafeEqual(digest(m[1] as string), digest(token)) ? undefined : 'bad-token';
}
