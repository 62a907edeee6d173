/**
 * The texts the client shows: classic status lines (netkit/BSD talk) and the answers of a
 * daemon (BSD `answers[]` in look_up.c / invite.c). Protocol outcomes are data, mapped here.
 */
import { Answer } from '../protocol/talk-types.js';

export const Status = {
  checking: "[Checking for invitation on caller's machine]",
  contactingDaemon: "[Trying to connect to your party's talk daemon]",
  waiting: '[Waiting for your party to respond]',
  ringing: '[Ringing your party again]',
  connectingToCaller: '[Waiting to connect with caller]',
  established: '[Connection established]',
  closing: '[Connection closing. Exiting]',
  staleInvitation: '[Stale invitation: calling your party instead]',
} as const;

const answerText: Readonly<Record<number, string>> = {
  [Answer.SUCCESS]: '[answer #0]',
  [Answer.NOT_HERE]: '[Your party is not logged on]',
  [Answer.FAILED]: '[Target machine is too confused to talk to us]',
  [Answer.MACHINE_UNKNOWN]: '[Target machine does not recognize us]',
  [Answer.PERMISSION_DENIED]: '[Your party is refusing messages]',
  [Answer.UNKNOWN_REQUEST]: '[Target machine can not handle remote talk]',
  [Answer.BADVERSION]: '[Target machine indicates protocol mismatch]',
  [Answer.BADADDR]: '[Target machine indicates protocol botch (addr)]',
  [Answer.BADCTLADDR]: '[Target machine indicates protocol botch (ctl_addr)]',
};

/** The message for a daemon's answer code; unknown codes are named by number. */
export function answerMessage(answer: number): string {
  return answerText[answer] ?? `[Target machine gave an unknown answer #${answer}]`;
}
