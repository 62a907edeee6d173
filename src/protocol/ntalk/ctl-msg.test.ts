import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, EncodeError } from '../decode-error.js';
import { sockAddr } from '../osockaddr.js';
import type { NtalkCtlMsg } from '../talk-types.js';
import { decodeNtalkCtlMsg, encodeNtalkCtlMsg } from './ctl-msg.js';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16));

// shared/captures/01-netkit-netkit #3: alice's ANNOUNCE to bob's talkd.
const ANNOUNCE = hex(`
  01 03 00 00 ff ff ff ff 00 02 ac 4f 0a 01 00 02
  00 00 00 00 00 00 00 00 00 02 c5 d2 0a 01 00 02
  00 00 00 00 00 00 00 00 00 00 11 c9 61 6c 69 63
  65 00 00 00 00 00 00 00 62 6f 62 00 00 00 00 00
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
  00 00 00 00`);

const announce: NtalkCtlMsg = {
  version: 1,
  type: 3,
  id: 0xffffffff,
  addr: sockAddr('10.1.0.2', 44111),
  ctlAddr: sockAddr('10.1.0.2', 50642),
  pid: 4553,
  lName: 'alice',
  rName: 'bob',
  rTty: '',
};

test('decodeNtalkCtlMsg() decodes netkit talk\'s ANNOUNCE (capture 01 #3)', () => {
  assert.deepEqual(decodeNtalkCtlMsg(ANNOUNCE), announce);
});

test('encodeNtalkCtlMsg() reproduces the captured ANNOUNCE byte for byte', () => {
  assert.deepEqual(encodeNtalkCtlMsg(announce), ANNOUNCE);
});

test('decodeNtalkCtlMsg() rejects an 83-byte and an 85-byte datagram', () => {
  for (const bytes of [ANNOUNCE.subarray(0, 83), Uint8Array.from([...ANNOUNCE, 0])]) {
    assert.throws(() => decodeNtalkCtlMsg(bytes), (e: unknown) => e instanceof DecodeError && e.field === 'length');
  }
});

test('decodeNtalkCtlMsg() returns an unknown version, type and answer as data', () => {
  const odd = Uint8Array.from(ANNOUNCE);
  odd[0] = 2; // vers
  odd[1] = 9; // type
  odd[2] = 0x77; // answer (ignored in requests)
  odd[3] = 0x55; // pad
  const m = decodeNtalkCtlMsg(odd);
  assert.equal(m.version, 2);
  assert.equal(m.type, 9);
  // answer and pad are not part of the model and are written 0.
  assert.deepEqual(encodeNtalkCtlMsg(m).subarray(0, 4), Uint8Array.from([2, 9, 0, 0]));
});

test('decodeNtalkCtlMsg() reads a negative pid and names that fill the field', () => {
  const b = Uint8Array.from(ANNOUNCE);
  b.set([0xff, 0xff, 0xff, 0xfe], 40);
  b.set(Uint8Array.from('abcdefghijkl', (c) => c.charCodeAt(0)), 44); // l_name with no NUL at all
  b.set(Uint8Array.from('pts/12345678901X', (c) => c.charCodeAt(0)), 68);
  const m = decodeNtalkCtlMsg(b);
  assert.equal(m.pid, -2);
  assert.equal(m.lName, 'abcdefghijk', 'the 12th byte is treated as NUL');
  assert.equal(m.rTty, 'pts/12345678901');
});

test('encodeNtalkCtlMsg() throws EncodeError naming the field at fault', () => {
  const fieldOf = (m: NtalkCtlMsg) => {
    try {
      encodeNtalkCtlMsg(m);
    } catch (e) {
      if (e instanceof EncodeError) return e.field;
      throw e;
    }
    return undefined;
  };
  assert.equal(fieldOf({ ...announce, version: 256 }), 'vers');
  assert.equal(fieldOf({ ...announce, lName: 'twelve-chars' }), 'l_name');
  assert.equal(fieldOf({ ...announce, rName: 'b\u0151b' }), 'r_name');
  assert.equal(fieldOf({ ...announce, rTty: '/dev/pts/1234567' }), 'r_tty');
  assert.equal(fieldOf({ ...announce, ctlAddr: sockAddr('10.1.0.2', -1) }), 'ctl_addr.port');
  assert.equal(fieldOf({ ...announce, addr: sockAddr('10.1.0', 1) }), 'addr.address');
  assert.equal(fieldOf({ ...announce, pid: 0x8000_0000 }), 'pid');
  assert.equal(fieldOf({ ...announce, id: -1 }), 'id_num');
});
