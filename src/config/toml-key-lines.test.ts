import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { locateTomlKeys } from './toml-key-lines.js';

const DOC = `# talkgate
mode = "pinhole"            # a comment

[inside]
address = "10.1.0.1"
networks = [
  "10.1.0.0/24",
  "10.2.0.1/24", # host bits
]
hosts = { alpha = "10.1.0.7", "beta.example" = "10.1.0.8" }

[outside]
address = "198.51.100.1"
daemon_ports.ntalk = 518
motd = """
[not a table]
x = 1
"""

[[policy]]
action = "allow"

[[policy]]
action = 'deny'
remote = "10.0.0.0/8"

[admin]
listen = "127.0.0.1:9518"
`;

test('locateTomlKeys() finds keys under tables, arrays of tables, inline tables and array elements', () => {
  const l = locateTomlKeys(DOC);
  assert.equal(l.lineOf(['mode']), 2);
  assert.equal(l.lineOf(['inside']), 4);
  assert.equal(l.lineOf(['inside', 'address']), 5);
  assert.equal(l.lineOf(['inside', 'networks']), 6);
  assert.equal(l.lineOf(['inside', 'networks', 1]), 8);
  assert.equal(l.lineOf(['inside', 'hosts', 'beta.example']), 10);
  assert.equal(l.lineOf(['outside', 'daemon_ports', 'ntalk']), 14);
  assert.equal(l.lineOf(['policy', 0, 'action']), 21);
  assert.equal(l.lineOf(['policy', 1, 'action']), 24);
  assert.equal(l.lineOf(['policy', 1, 'remote']), 25);
  assert.equal(l.lineOf(['admin', 'listen']), 28);
});

test('locateTomlKeys() ignores table-like text inside multi-line strings', () => {
  const l = locateTomlKeys(DOC);
  assert.equal(l.lineOf(['not a table']), undefined);
  assert.equal(l.lineOf(['outside', 'x']), 12, 'falls back to the [outside] header');
});

test('locateTomlKeys() falls back to the nearest located ancestor, else undefined', () => {
  const l = locateTomlKeys(DOC);
  assert.equal(l.lineOf(['policy', 1, 'user']), 23);
  assert.equal(l.lineOf(['relay', 'ports']), undefined);
  assert.equal(l.lineOf([]), undefined);
});

test('locateTomlKeys() never throws and returns lines within the text for arbitrary input', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.nat(3)), { maxLength: 4 }), (text, path) => {
      const line = locateTomlKeys(text).lineOf(path);
      const lines = text.split('\n').length;
      assert.ok(line === undefined || (line >= 1 && line <= lines));
    }),
  );
});
