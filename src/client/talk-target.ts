/**
 * The classic talk argument forms (netkit/4.2BSD get_names.c): `user`, `user@host`, and
 * `host!user`, `host:user`, `host.user`. Classic clients split at the first of "@:!." — so a
 * dotted host in `user@10.1.0.2` works, but `host.user` with a dotted host does not. We keep that,
 * with one extension: when an '@' is present it always wins (so `first.last@host` works).
 */
export interface TalkTarget {
  readonly user: string;
  /** undefined: this machine. */
  readonly host: string | undefined;
}

export function parseTalkTarget(arg: string): TalkTarget | { readonly error: string } {
  if (arg === '') return { error: 'empty user name' };
  const at = arg.lastIndexOf('@');
  let user: string;
  let host: string | undefined;
  if (at >= 0) {
    user = arg.slice(0, at);
    host = arg.slice(at + 1);
  } else {
    const m = /[:!.]/.exec(arg);
    if (m === null) return { user: arg, host: undefined };
    host = arg.slice(0, m.index);
    user = arg.slice(m.index + 1);
  }
  if (user === '') return { error: `no user name in "${arg}"` };
  if (host === '') return { error: `no host name in "${arg}"` };
  return { user, host };
}
