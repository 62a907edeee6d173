import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { renderAnnouncement } from './announcement.js';

test('renderAnnouncement() is byte-identical to netkit print_mesg()', () => {
  const text = new TextDecoder().decode(
    renderAnnouncement({ daemonHost: 'rc-out', callerName: 'alice', callerHost: '10.1.0.2', hour: 8, minute: 5 }),
  );
  const lines = [
    ' ',
    'Message from Talk_Daemon@rc-out at 8:05 ...',
    'talk: connection requested by alice@10.1.0.2.',
    'talk: respond with:  talk alice@10.1.0.2',
    ' ',
  ];
  const width = 'talk: connection requested by alice@10.1.0.2.'.length + 2; // longest line + 2
  assert.equal(text, '\x07\r\n' + lines.map((l) => l.padEnd(width) + '\r\n').join(''));
});

test('renderAnnouncement() never emits a control byte other than BEL, CR, LF (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), (name, host) => {
      const bytes = renderAnnouncement({ daemonHost: host, callerName: name, callerHost: host, hour: 23, minute: 59 });
      return bytes.every((b) => (b >= 0x20 && b <= 0x7e) || b === 0x07 || b === 0x0d || b === 0x0a) && bytes[0] === 0x07;
    }),
  );
});

test('renderAnnouncement() neutralises an escape sequence in the caller name', () => {
  const bytes = renderAnnouncement({ daemonHost: 'h', callerName: '\x1b]0;x\x07\x9b2J', callerHost: '1.2.3.4', hour: 0, minute: 0 });
  assert.equal(bytes.indexOf(0x1b), -1);
  assert.equal(bytes.indexOf(0x9b), -1);
  assert.equal(bytes.lastIndexOf(0x07), 0, 'only the leading bell');
});
