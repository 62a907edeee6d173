import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePeerFrame, encodePeerFrame, MAX_PEER_FRAME_BYTES, PeerFrameSplitter } from './peer-frame.js';

test('encodePeerFrame() and decodePeerFrame() round-trip any request of up to 84 bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 84 }), fc.integer({ min: 1, max: 999_999 }), (msg, n) => {
      const frame = { t: 'req' as const, protocol: 'ntalk' as const, callId: `c-${String(n).padStart(6, '0')}`, msg };
      const line = encodePeerFrame(frame);
      assert.ok(line.endsWith('\n') && line.length <= MAX_PEER_FRAME_BYTES);
      assert.deepEqual(decodePeerFrame(line.slice(0, -1)), frame);
    }),
  );
});

test('decodePeerFrame() rejects anything but an exact frame', () => {
  for (const bad of ['', 'null', '{"t":"req"}', '{"t":"req","protocol":"ntalk","callId":"c-1","msg":"00"}', '{"t":"res","protocol":"ntalk","msg":"0"}', '{"t":"res","protocol":"ntalk","msg":"00","x":1}', `{"t":"res","protocol":"ntalk","msg":"${'00'.repeat(200)}"}`]) {
    assert.throws(() => decodePeerFrame(bad), /peer frame|malformed/, bad);
  }
});

test('PeerFrameSplitter cuts lines across chunks and refuses a line longer than the bound', () => {
  const s = new PeerFrameSplitter();
  assert.deepEqual(s.push('ab'), []);
  assert.deepEqual(s.push('c\nde\n\nf'), ['abc', 'de']);
  assert.throws(() => new PeerFrameSplitter().push('x'.repeat(MAX_PEER_FRAME_BYTES + 1)), /too long/);
});
