/**
 * The talk client's call sequence as a pure state machine (talk-protocol.md §3): events in
 * (replies, timers, TCP outcomes), effects out (datagrams, timers, listen/connect, status).
 *
 * Caller: LOOK_UP at the callee's daemon (are we the callee?), listen, ANNOUNCE (id 0xFFFFFFFF)
 * there, LEAVE_INVITE at our own daemon, re-announce every RING_WAIT with id remote_id+1, on
 * accept DELETE both. Callee: LOOK_UP success → connect; ECONNREFUSED → DELETE the stale
 * invitation and become the caller. Every request is resent every CTL_WAIT and abandoned after
 * CTL_MAX_TRIES sends: the call ends with a message, it never hangs. The first request to the
 * callee's daemon is also tried on its otalk port; whichever protocol answers is used from then on.
 */
import { CTL_WAIT_MS, IMPOSSIBLE_ID, NTALK_NAME_SIZE, OTALK_NAME_SIZE, RING_WAIT_MS, TALK_VERSION, TTY_SIZE } from '../protocol/constants.js';
import { Answer, RequestType, requestTypeName, type CtlMsg, type CtlResponse, type SockAddrIn } from '../protocol/talk-types.js';
import { sockAddr } from '../protocol/osockaddr.js';
import { CTL_GIVE_UP_MS, CTL_MAX_TRIES, OTALK_PROBE_FROM_TRY } from './client-constants.js';
import { Status, answerMessage } from './call-messages.js';

/** Where a control datagram goes: our own daemon (ntalk), the callee's daemon on ntalk or otalk. */
export type Channel = 'local' | 'remote' | 'remote-otalk';
export type Protocol = 'ntalk' | 'otalk';
export type TimerName = 'ctl' | 'ring';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface CallConfig {
  readonly localName: string;
  readonly remoteName: string;
  /** "" = any tty. */
  readonly remoteTty: string;
  readonly pid: number;
  /** Our own daemon (ntalk), reached over loopback as netkit does. */
  readonly localDaemon: Endpoint;
  /** The callee's daemon, ntalk port. */
  readonly remoteDaemon: Endpoint;
  /** The callee's daemon's otalk port, or null to never try otalk. */
  readonly remoteOtalkPort: number | null;
  /** Our UDP address as seen by each daemon (getsockname of the socket used for the channel). */
  readonly ctlAddr: Readonly<Record<Channel, Endpoint>>;
}

export type CallEvent =
  | { readonly kind: 'start' }
  | { readonly kind: 'reply'; readonly channel: Channel; readonly from: Endpoint; readonly response: CtlResponse & { readonly version?: number } }
  /** ICMP port unreachable on a channel's connected socket (ECONNREFUSED on send/recv). */
  | { readonly kind: 'unreachable'; readonly channel: Channel }
  | { readonly kind: 'timer'; readonly timer: TimerName }
  /** Our TCP listener is up at this local address (IP of the remote-facing interface). */
  | { readonly kind: 'listening'; readonly addr: Endpoint }
  | { readonly kind: 'accepted' }
  | { readonly kind: 'connected' }
  | { readonly kind: 'connect-failed'; readonly refused: boolean; readonly reason: string }
  | { readonly kind: 'quit' };

export type CallEffect =
  | { readonly kind: 'send'; readonly channel: Channel; readonly protocol: Protocol; readonly msg: CtlMsg; readonly version: number }
  | { readonly kind: 'start-timer'; readonly timer: TimerName; readonly ms: number }
  | { readonly kind: 'cancel-timer'; readonly timer: TimerName }
  | { readonly kind: 'listen' }
  | { readonly kind: 'connect'; readonly addr: SockAddrIn }
  | { readonly kind: 'status'; readonly text: string }
  | { readonly kind: 'established'; readonly role: 'caller' | 'callee' }
  | { readonly kind: 'end'; readonly ok: boolean; readonly message: string };

export type CallState =
  | 'idle'
  | 'checking'
  | 'listening'
  | 'announcing'
  | 'inviting'
  | 'waiting'
  | 'reannouncing'
  | 'reinviting'
  | 'connecting'
  | 'established'
  | 'done';

interface Pending {
  readonly type: RequestType;
  readonly target: 'local' | 'remote';
  readonly id: number;
  readonly addr: SockAddrIn;
  tries: number;
}

/** Truncates a name as the classic clients do (strncpy, last byte forced NUL). */
function fitName(name: string, size: number): string {
  return name.slice(0, size - 1);
}

export class CallMachine {
  readonly #cfg: CallConfig;
  #state: CallState = 'idle';
  #pending: Pending | null = null;
  /** null until the callee's daemon has answered on one of them. */
  #remoteProtocol: Protocol | null = null;
  #ntalkUnreachable = false;
  #listenAddr: SockAddrIn | null = null;
  #remoteId: number | null = null;
  #localId: number | null = null;
  /** Id of the invitation found by LOOK_UP (callee role). */
  #lookupId: number | null = null;

  constructor(cfg: CallConfig) {
    this.#cfg = cfg;
  }

  get state(): CallState {
    return this.#state;
  }

  /** The protocol the callee's daemon speaks, once known. */
  get remoteProtocol(): Protocol | null {
    return this.#remoteProtocol;
  }

  handle(ev: CallEvent): CallEffect[] {
    if (this.#state === 'done') return [];
    const fx: CallEffect[] = [];
    switch (ev.kind) {
      case 'start':
        if (this.#state !== 'idle') return [];
        this.#state = 'checking';
        fx.push({ kind: 'status', text: Status.checking });
        this.#request(fx, 'remote', RequestType.LOOK_UP, 0, this.#bareAddr());
        return fx;
      case 'reply':
        this.#reply(fx, ev.channel, ev.from, ev.response);
        return fx;
      case 'unreachable':
        this.#unreachable(fx, ev.channel);
        return fx;
      case 'timer':
        if (ev.timer === 'ctl') this.#retry(fx);
        else this.#ring(fx);
        return fx;
      case 'listening':
        if (this.#state !== 'listening') return [];
        this.#listenAddr = sockAddr(ev.addr.address, ev.addr.port);
        this.#state = 'announcing';
        fx.push({ kind: 'status', text: Status.contactingDaemon });
        this.#request(fx, 'remote', RequestType.ANNOUNCE, IMPOSSIBLE_ID, this.#listenAddr);
        return fx;
      case 'accepted':
        if (!['waiting', 'reannouncing', 'reinviting', 'inviting', 'announcing'].includes(this.#state)) return [];
        this.#clearPending(fx);
        fx.push({ kind: 'cancel-timer', timer: 'ring' });
        this.#deleteInvitations(fx);
        this.#state = 'established';
        fx.push({ kind: 'status', text: Status.established }, { kind: 'established', role: 'caller' });
        return fx;
      case 'connected':
        if (this.#state !== 'connecting') return [];
        this.#state = 'established';
        fx.push({ kind: 'status', text: Status.established }, { kind: 'established', role: 'callee' });
        return fx;
      case 'connect-failed':
        if (this.#state !== 'connecting') return [];
        if (ev.refused) {
          // A stale invitation (the caller is gone): remove it and call instead (netkit look_up.c).
          if (this.#lookupId !== null) this.#send(fx, 'remote', RequestType.DELETE, this.#lookupId, this.#bareAddr());
          this.#lookupId = null;
          fx.push({ kind: 'status', text: Status.staleInvitation });
          this.#becomeCaller(fx);
        } else {
          this.#end(fx, false, `[Unable to connect with your party: ${ev.reason}]`);
        }
        return fx;
      case 'quit':
        if (this.#state === 'established') {
          this.#state = 'done';
          return [{ kind: 'end', ok: true, message: Status.closing }];
        }
        this.#deleteInvitations(fx);
        this.#end(fx, false, '[Call abandoned]');
        return fx;
    }
  }

  // ---- requests -------------------------------------------------------------------------

  #bareAddr(): SockAddrIn {
    const c = this.#cfg.ctlAddr.remote;
    return sockAddr(c.address, 0);
  }

  #msg(channel: Channel, protocol: Protocol, type: RequestType, id: number, addr: SockAddrIn): CtlMsg {
    const nameSize = protocol === 'otalk' ? OTALK_NAME_SIZE : NTALK_NAME_SIZE;
    const c = this.#cfg.ctlAddr[channel];
    return {
      type,
      id,
      addr,
      ctlAddr: sockAddr(c.address, c.port),
      pid: this.#cfg.pid,
      lName: fitName(this.#cfg.localName, nameSize),
      rName: fitName(this.#cfg.remoteName, nameSize),
      rTty: fitName(this.#cfg.remoteTty, TTY_SIZE),
    };
  }

  /** Sends one datagram of a request to `target` on every channel currently in use for it. */
  #send(fx: CallEffect[], target: 'local' | 'remote', type: RequestType, id: number, addr: SockAddrIn, tries = 1): void {
    if (target === 'local') {
      fx.push({ kind: 'send', channel: 'local', protocol: 'ntalk', version: TALK_VERSION, msg: this.#msg('local', 'ntalk', type, id, addr) });
      return;
    }
    const proto = this.#remoteProtocol;
    const useNtalk = proto === 'ntalk' || (proto === null && !this.#ntalkUnreachable);
    const otalkPort = this.#cfg.remoteOtalkPort;
    const useOtalk =
      otalkPort !== null && (proto === 'otalk' || (proto === null && (this.#ntalkUnreachable || tries >= OTALK_PROBE_FROM_TRY)));
    if (useNtalk) {
      fx.push({ kind: 'send', channel: 'remote', protocol: 'ntalk', version: TALK_VERSION, msg: this.#msg('remote', 'ntalk', type, id, addr) });
    }
    if (useOtalk) {
      fx.push({ kind: 'send', channel: 'remote-otalk', protocol: 'otalk', version: 0, msg: this.#msg('remote-otalk', 'otalk', type, id, addr) });
    }
  }

  #request(fx: CallEffect[], target: 'local' | 'remote', type: RequestType, id: number, addr: SockAddrIn): void {
    this.#pending = { type, target, id, addr, tries: 1 };
    this.#send(fx, target, type, id, addr, 1);
    fx.push({ kind: 'start-timer', timer: 'ctl', ms: CTL_WAIT_MS });
  }

  #clearPending(fx: CallEffect[]): void {
    if (this.#pending !== null) fx.push({ kind: 'cancel-timer', timer: 'ctl' });
    this.#pending = null;
  }

  #retry(fx: CallEffect[]): void {
    const p = this.#pending;
    if (p === null) return;
    if (p.tries >= CTL_MAX_TRIES) {
      this.#pending = null;
      const d = p.target === 'local' ? this.#cfg.localDaemon : this.#cfg.remoteDaemon;
      const who = p.target === 'local' ? 'your own talk daemon' : "your party's talk daemon";
      const text = `[No answer from ${who} at ${d.address} (${requestTypeName(p.type)}) after ${CTL_GIVE_UP_MS / 1000} s: giving up]`;
      if (this.#state === 'reannouncing' || this.#state === 'reinviting') {
        // The invitation may still be answered; keep waiting and ring again later.
        this.#state = 'waiting';
        fx.push({ kind: 'status', text }, { kind: 'start-timer', timer: 'ring', ms: RING_WAIT_MS });
        return;
      }
      this.#deleteInvitations(fx);
      this.#end(fx, false, text);
      return;
    }
    p.tries++;
    this.#send(fx, p.target, p.type, p.id, p.addr, p.tries);
    fx.push({ kind: 'start-timer', timer: 'ctl', ms: CTL_WAIT_MS });
  }

  #unreachable(fx: CallEffect[], channel: Channel): void {
    const p = this.#pending;
    if (channel === 'remote' && this.#remoteProtocol === null && this.#cfg.remoteOtalkPort !== null && !this.#ntalkUnreachable) {
      // Nothing on the ntalk port: try otalk at once (the retry timer still bounds the wait).
      this.#ntalkUnreachable = true;
      if (p !== null && p.target === 'remote') this.#send(fx, 'remote', p.type, p.id, p.addr, p.tries);
      return;
    }
    if (p === null) return;
    const target = channel === 'local' ? 'local' : 'remote';
    if (p.target !== target) return;
    if (channel === 'remote' && this.#remoteProtocol === null && this.#cfg.remoteOtalkPort !== null) return; // otalk still possible
    const d = target === 'local' ? this.#cfg.localDaemon : this.#cfg.remoteDaemon;
    const who = target === 'local' ? 'your own' : "your party's";
    this.#pending = null;
    fx.push({ kind: 'cancel-timer', timer: 'ctl' });
    this.#deleteInvitations(fx);
    this.#end(fx, false, `[No talk daemon at ${d.address}:${d.port} (${who} machine refused the connection)]`);
  }

  // ---- replies -------------------------------------------------------------------------

  #expectedSource(channel: Channel): Endpoint {
    if (channel === 'local') return this.#cfg.localDaemon;
    if (channel === 'remote') return this.#cfg.remoteDaemon;
    return { address: this.#cfg.remoteDaemon.address, port: this.#cfg.remoteOtalkPort ?? -1 };
  }

  /** Classic matching (vers + type) plus: from the daemon we addressed, on the channel in use. */
  #accepts(channel: Channel, from: Endpoint, r: CtlResponse & { readonly version?: number }): boolean {
    const p = this.#pending;
    if (p === null || r.type !== p.type) return false;
    const exp = this.#expectedSource(channel);
    if (from.address !== exp.address || from.port !== exp.port) return false;
    if (channel === 'local') return p.target === 'local' && r.version === TALK_VERSION;
    if (p.target !== 'remote') return false;
    if (channel === 'remote') return this.#remoteProtocol !== 'otalk' && r.version === TALK_VERSION;
    return this.#remoteProtocol !== 'ntalk';
  }

  #reply(fx: CallEffect[], channel: Channel, from: Endpoint, r: CtlResponse & { readonly version?: number }): void {
    if (!this.#accepts(channel, from, r)) return;
    if (channel !== 'local') this.#remoteProtocol = channel === 'remote' ? 'ntalk' : 'otalk';
    this.#clearPending(fx);
    switch (this.#state) {
      case 'checking':
        if (r.answer === Answer.SUCCESS && r.addr.port !== 0 && r.addr.address !== '0.0.0.0') {
          this.#lookupId = r.id;
          this.#state = 'connecting';
          fx.push({ kind: 'status', text: Status.connectingToCaller }, { kind: 'connect', addr: r.addr });
        } else {
          this.#becomeCaller(fx);
        }
        return;
      case 'announcing':
      case 'reannouncing':
        if (r.answer !== Answer.SUCCESS) {
          this.#deleteInvitations(fx);
          this.#end(fx, false, answerMessage(r.answer));
          return;
        }
        this.#remoteId = r.id;
        this.#state = this.#state === 'announcing' ? 'inviting' : 'reinviting';
        // LEAVE_INVITE carries the announce's id (netkit shares one msg); the daemon touches its entry.
        this.#request(fx, 'local', RequestType.LEAVE_INVITE, this.#state === 'inviting' ? IMPOSSIBLE_ID : r.id, this.#listenAddr ?? this.#bareAddr());
        return;
      case 'inviting':
      case 'reinviting':
        // The answer byte of a fresh LEAVE_INVITE is uninitialised in netkit/OpenBSD: ignored.
        this.#localId = r.id;
        if (this.#state === 'inviting') fx.push({ kind: 'status', text: Status.waiting });
        this.#state = 'waiting';
        fx.push({ kind: 'start-timer', timer: 'ring', ms: RING_WAIT_MS });
        return;
      default:
        return;
    }
  }

  #becomeCaller(fx: CallEffect[]): void {
    this.#state = 'listening';
    fx.push({ kind: 'listen' });
  }

  #ring(fx: CallEffect[]): void {
    if (this.#state !== 'waiting') return;
    this.#state = 'reannouncing';
    fx.push({ kind: 'status', text: Status.ringing });
    const next = ((this.#remoteId ?? 0) + 1) >>> 0;
    this.#request(fx, 'remote', RequestType.ANNOUNCE, next, this.#listenAddr ?? this.#bareAddr());
  }

  /** Fire-and-forget DELETEs of whatever invitations we left (the daemons expire them anyway). */
  #deleteInvitations(fx: CallEffect[]): void {
    const addr = this.#listenAddr ?? this.#bareAddr();
    if (this.#localId !== null) this.#send(fx, 'local', RequestType.DELETE, this.#localId, addr);
    if (this.#remoteId !== null) this.#send(fx, 'remote', RequestType.DELETE, this.#remoteId, addr);
    this.#localId = null;
    this.#remoteId = null;
  }

  #end(fx: CallEffect[], ok: boolean, message: string): void {
    this.#clearPending(fx);
    fx.push({ kind: 'cancel-timer', timer: 'ring' }, { kind: 'end', ok, message });
    this.#state = 'done';
  }
}
