/**
 * The real talk programs the lab runs, and where talkgate itself lives.
 * Installed by .ci/run (Debian packages talk, talkd, inetutils-talk, openbsd-inetd; inetutils-talkd
 * is unpacked from its .deb because it Conflicts: talkd; see ../shared/lab/README.md).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

/** netkit talk client 0.17 (Debian package talk). */
export const NETKIT_TALK = '/usr/bin/netkit-ntalk';
/** GNU inetutils talk client (Debian package inetutils-talk). */
export const INETUTILS_TALK = '/usr/bin/inetutils-talk';
/** netkit talkd (Debian package talkd); /usr/sbin/in.talkd is a symlink to it (otalk quirk). */
export const NETKIT_TALKD = '/usr/sbin/in.ntalkd';
/** GNU inetutils talkd, unpacked from inetutils-talkd_*.deb by .ci/run. */
export const INETUTILS_TALKD = '/opt/tg-talk/inetutils-talkd/usr/sbin/talkd';
/** openbsd-inetd: `inetd -i CONFIG` stays in the foreground and reads only CONFIG. */
export const INETD = '/usr/sbin/inetd';

export type TalkClientKind = 'netkit' | 'inetutils';
export type TalkdKind = 'netkit' | 'inetutils' | 'talkgate' | 'none';

export function clientBinary(kind: TalkClientKind): string {
  return kind === 'netkit' ? NETKIT_TALK : INETUTILS_TALK;
}

/** The repository root (the directory holding talkgate's package.json), found from this file. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const name = (JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown }).name;
        if (name === 'talkgate') return dir;
      } catch {
        /* keep walking */
      }
    }
    dir = dirname(dir);
  }
  throw new Error('lab: cannot find the talkgate repository root from ' + import.meta.url);
}

/** argv that runs the talkgate CLI with this Node binary: [node, <repo>/bin/talkgate.js, ...args]. */
export function talkgateArgv(...args: string[]): string[] {
  return [process.execPath, join(repoRoot(), 'bin', 'talkgate.js'), ...args];
}

/**
 * inetd.conf lines (openbsd-inetd syntax, udp4, wait) for a talk daemon kind.
 * netkit: otalk on 517 + ntalk on 518 as nobody.tty (pitfall 3 of the lab README);
 * inetutils: ntalk only, as root (Debian's line); talkgate: `talkgate talkd --inetd` per port.
 */
export function talkdInetdLines(kind: Exclude<TalkdKind, 'none'>, extraArgs: readonly string[] = []): string[] {
  switch (kind) {
    case 'netkit':
      return [
        `talk\tdgram\tudp4\twait\tnobody.tty\t${NETKIT_TALKD.replace('ntalkd', 'talkd')}\tin.talkd${fmt(extraArgs)}`,
        `ntalk\tdgram\tudp4\twait\tnobody.tty\t${NETKIT_TALKD}\tin.ntalkd${fmt(extraArgs)}`,
      ];
    case 'inetutils':
      return [`ntalk\tdgram\tudp4\twait\troot\t${INETUTILS_TALKD}\ttalkd${fmt(extraArgs)}`];
    case 'talkgate': {
      const [node, script] = talkgateArgv();
      // inetd passes one socket per line on fd 0; one talkgate per protocol.
      return [
        `talk\tdgram\tudp4\twait\troot\t${node}\ttalkgate ${script} talkd --inetd${fmt(extraArgs)}`,
        `ntalk\tdgram\tudp4\twait\troot\t${node}\ttalkgate ${script} talkd --inetd${fmt(extraArgs)}`,
      ];
    }
  }
}

function fmt(args: readonly string[]): string {
  return args.length ? ' ' + args.join(' ') : '';
}
