#!/usr/bin/env node
// Demo helper (no root): registers THIS terminal as "logged in" for a talk daemon that reads a
// private utmp file (`talkgate talkd --utmp FILE`), for machines/containers without /run/utmp.
// It appends one glibc utmp USER_PROCESS record (user, this tty, the calling shell's pid) to FILE
// and sets group write on the tty (`mesg y`), which talkd requires before it announces.
//   node examples/demo-login.mjs /tmp/tg-demo/utmp-out bob
import { appendFileSync, chmodSync, readlinkSync, statSync } from 'node:fs';
import { encodeUtmpRecord } from '../dist/src/daemon/utmp-record.js';

/** ut_type of a logged-in user (utmp.h USER_PROCESS). */
const USER_PROCESS = 7;
const [file, user] = process.argv.slice(2);
if (!file || !user) {
  process.stderr.write('usage: node examples/demo-login.mjs UTMP-FILE USER\n');
  process.exit(2);
}
const tty = readlinkSync('/proc/self/fd/0');
if (!tty.startsWith('/dev/')) {
  process.stderr.write(`demo-login: stdin is not a terminal (${tty})\n`);
  process.exit(1);
}
chmodSync(tty, statSync(tty).mode | 0o020);
appendFileSync(
  file,
  encodeUtmpRecord({ type: USER_PROCESS, pid: process.ppid, line: tty.slice('/dev/'.length), user, host: 'demo', loginTime: Math.floor(Date.now() / 1000) }),
);
process.stdout.write(`${user} is logged in on ${tty.slice('/dev/'.length)} for talkd --utmp ${file}\n`);
