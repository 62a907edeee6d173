import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TalkStream } from './talk-stream.js';
import { DEFAULT_EDIT_CHARS, editCharsFromSttyG } from './edit-chars.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test('TalkStream reads the sender edit characters first, then applies them (not ours)', () => {
  // Peer's erase is '#', kill '@', werase ^W: the 7th-edition defaults.
  const s = new TalkStream(null);
  s.feed(Uint8Array.of(0x23));
  s.feed(Uint8Array.of(0x40, 0x17, 0x61));
  assert.deepEqual(s.editChars, { erase: 0x23, kill: 0x40, werase: 0x17 });
  s.feed(bytes('bc#d one two\x17three'));
  assert.deepEqual(s.pane.text(), ['abd one three']);
  s.feed(bytes('\nxyz@q'));
  assert.deepEqual(s.pane.text(), ['abd one three', 'q']);
});

test('TalkStream: \\b and DEL erase for every peer; CR, LF and CRLF each end one line', () => {
  const s = new TalkStream({ erase: 0x23, kill: 0x40, werase: 0x17 });
  s.feed(bytes('ab\x08c\x7fd\r1\n2\r\n3'));
  assert.deepEqual(s.pane.text(), ['ad', '1', '2', '3']);
});

test('TalkStream shows ESC ] 0;pwned BEL, ESC [2J and a C1 CSI visibly and reports the bell', () => {
  const s = new TalkStream(DEFAULT_EDIT_CHARS);
  const fx = s.feed(Uint8Array.from([...bytes('\x1b]0;pwned\x07 \x1b[2J '), 0xc2, 0x9b, 0x20, 0x9b, 0x41]));
  assert.equal(fx.bell, true);
  assert.deepEqual(s.pane.text(), ['^[]0;pwned ^[[2J \\x9b \\x9bA']);
});

test('TalkStream shows bidi overrides visibly and joins combining marks', () => {
  const s = new TalkStream(DEFAULT_EDIT_CHARS);
  s.feed(bytes('a\u202eb e\u0301'));
  assert.deepEqual(s.pane.text(), ['a<U+202E>b e\u0301']);
  assert.equal(s.pane.lines[0]?.length, 5);
});

test('TalkStream: no peer byte sequence yields a terminal control in any cell', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }), (chunks) => {
      const s = new TalkStream(null);
      for (const c of chunks) s.feed(c);
      s.flush();
      for (const line of s.pane.lines)
        for (const cell of line)
          for (const ch of cell.text) {
            const cp = ch.codePointAt(0) ?? 0;
            assert.ok(cp >= 0x20 && cp !== 0x7f && !(cp >= 0x80 && cp <= 0x9f), `cp ${cp.toString(16)}`);
            assert.ok(!(cp >= 0x202a && cp <= 0x202e) && !(cp >= 0x2066 && cp <= 0x2069));
          }
    }),
  );
});

test('editCharsFromSttyG() reads VERASE, VKILL, VWERASE and defaults disabled ones', () => {
  const g = '500:5:bf:8a3b:3:1c:8:15:4:0:1:0:11:13:1a:0:12:f:17:16:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0';
  assert.deepEqual(editCharsFromSttyG(g), { erase: 0x08, kill: 0x15, werase: 0x17 });
  const off = '500:5:bf:8a3b:3:1c:0:ff:4:0:1:0:11:13:1a:0:12:f:0:16:0';
  assert.deepEqual(editCharsFromSttyG(off), DEFAULT_EDIT_CHARS);
  assert.deepEqual(editCharsFromSttyG('garbage'), DEFAULT_EDIT_CHARS);
});
