/**
 * The shipped examples (examples/inetd.conf, examples/systemd/talkgate-talkd.{socket,service})
 * must start talkgate talkd as they claim: their command lines are parsed by the real `talkd`
 * commander command (with its action replaced, so nothing runs), and their ports are the
 * protocol constants the daemon uses to tell ntalk from otalk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { NTALK_PORT, OTALK_PORT } from '../protocol/constants.js';
import { command } from './talkd-command.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return dir;
}
const root = repoRoot();
const read = (rel: string): string => readFileSync(join(root, rel), 'utf8');

/** The program name package.json declares in `bin`. */
function binName(): string {
  const pkg = JSON.parse(read('package.json')) as { bin?: Record<string, string> };
  const names = Object.keys(pkg.bin ?? {});
  assert.equal(names.length, 1, 'one bin entry');
  return names[0] ?? '';
}

/** Parses `args` (after `talkgate talkd`) with the real command; resolves to the parsed options. */
async function parseTalkdArgs(args: readonly string[]): Promise<Record<string, unknown>> {
  let parsed: Record<string, unknown> | undefined;
  const cmd = command()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .action((opts: Record<string, unknown>) => {
      parsed = opts;
    });
  await cmd.parseAsync([...args], { from: 'user' });
  assert.ok(parsed !== undefined, 'the action ran');
  return parsed;
}

/** Splits a command line on blanks (the examples use no quoting, which this asserts). */
function words(line: string): string[] {
  assert.doesNotMatch(line, /["'\\$]/, `no quoting or expansion in ${line}`);
  return line.trim().split(/\s+/);
}

interface InetdLine {
  service: string;
  socketType: string;
  protocol: string;
  wait: string;
  user: string;
  server: string;
  argv: string[];
}

function parseInetdConf(text: string): InetdLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    .map((l) => {
      const [service, socketType, protocol, wait, user, server, ...argv] = words(l);
      assert.ok(service && socketType && protocol && wait && user && server && argv.length > 0, `complete line: ${l}`);
      return { service, socketType, protocol, wait, user, server, argv };
    });
}

/** systemd unit file → section → key → values (keys may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1] !== undefined) {
      section = new Map();
      out.set(header[1], section);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(section !== undefined && eq > 0, `key=value inside a section: ${line}`);
    const key = line.slice(0, eq);
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

function one(unit: Map<string, Map<string, string[]>>, section: string, key: string): string {
  const v = unit.get(section)?.get(key);
  assert.equal(v?.length, 1, `exactly one ${section}.${key}`);
  return v?.[0] ?? '';
}

/** /etc/services names of the two talk ports. */
const SERVICE_PORT: Record<string, number> = { ntalk: NTALK_PORT, talk: OTALK_PORT };

test('the parse harness rejects what talkgate talkd rejects (an unknown option, a bad port)', async () => {
  await assert.rejects(parseTalkdArgs(['--inetdd']), CommanderError);
  await assert.rejects(parseTalkdArgs(['--port', '70000']), CommanderError);
  await assert.rejects(parseTalkdArgs(['extra-operand']), CommanderError);
});

test('examples/inetd.conf: ntalk and talk lines in wait mode run `talkgate talkd --inetd` with accepted options', async () => {
  const lines = parseInetdConf(read('examples/inetd.conf'));
  assert.deepEqual(lines.map((l) => l.service).sort(), ['ntalk', 'talk']);
  const bin = binName();
  for (const l of lines) {
    assert.equal(l.socketType, 'dgram');
    assert.equal(l.protocol, 'udp4', 'talk is IPv4 only');
    assert.equal(l.wait, 'wait', 'the daemon keeps reading the socket it is handed');
    assert.match(l.user, /^[a-z_][a-z0-9_-]*[.:]tty$/, 'group tty, to write to ttys');
    assert.equal(basename(l.server), bin);
    assert.equal(l.argv[0], bin, 'argv[0]');
    assert.equal(l.argv[1], 'talkd');
    const opts = await parseTalkdArgs(l.argv.slice(2));
    assert.equal(opts['inetd'], true, `${l.service}: --inetd`);
    // In inetd mode the daemon tells ntalk from otalk by the inherited socket's port.
    const port = SERVICE_PORT[l.service];
    assert.equal(l.service === 'talk' ? opts['otalkPort'] : opts['port'], port, `${l.service} is udp/${port}`);
    assert.equal(opts['ntalk'], true);
    assert.equal(opts['otalk'], true);
  }
});

test('examples/systemd: the socket listens on udp/518 and udp/517 and the service runs `talkgate talkd` on them', async () => {
  const socket = parseUnit(read('examples/systemd/talkgate-talkd.socket'));
  const service = parseUnit(read('examples/systemd/talkgate-talkd.service'));
  const listen = socket.get('Socket')?.get('ListenDatagram') ?? [];
  const ports = listen.map((v) => {
    const m = /^(?:\d{1,3}(?:\.\d{1,3}){3}:)?(\d+)$/.exec(v);
    assert.ok(m?.[1] !== undefined, `ListenDatagram=[IPv4:]PORT, got ${v}`);
    return Number(m[1]);
  });
  assert.deepEqual(ports.sort((a, b) => a - b), [OTALK_PORT, NTALK_PORT]);
  assert.equal(one(socket, 'Socket', 'Service'), 'talkgate-talkd.service');
  assert.equal(one(service, 'Unit', 'Requires'), 'talkgate-talkd.socket');

  const [exe, sub, ...args] = words(one(service, 'Service', 'ExecStart'));
  assert.equal(basename(exe ?? ''), binName());
  assert.equal(sub, 'talkd');
  const opts = await parseTalkdArgs(args);
  assert.equal(opts['inetd'], false, 'socket activation is detected from LISTEN_FDS, not --inetd');
  // runTalkd matches each LISTEN_FDS socket to ntalk/otalk by comparing its port with these.
  assert.equal(opts['port'], NTALK_PORT);
  assert.equal(opts['otalkPort'], OTALK_PORT);
  assert.equal(opts['ntalk'], true);
  assert.equal(opts['otalk'], true);
  assert.equal(one(service, 'Service', 'Group'), 'tty', 'group tty, to write to ttys');
});
