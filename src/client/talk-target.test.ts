import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTalkTarget } from './talk-target.js';

test('parseTalkTarget() accepts the classic forms', () => {
  assert.deepEqual(parseTalkTarget('bob'), { user: 'bob', host: undefined });
  assert.deepEqual(parseTalkTarget('bob@198.51.100.2'), { user: 'bob', host: '198.51.100.2' });
  assert.deepEqual(parseTalkTarget('rc-out!bob'), { user: 'bob', host: 'rc-out' });
  assert.deepEqual(parseTalkTarget('rc-out:bob'), { user: 'bob', host: 'rc-out' });
  assert.deepEqual(parseTalkTarget('rc-out.bob'), { user: 'bob', host: 'rc-out' });
  assert.deepEqual(parseTalkTarget('first.last@host'), { user: 'first.last', host: 'host' });
});

test('parseTalkTarget() rejects empty parts', () => {
  assert.ok('error' in parseTalkTarget(''));
  assert.ok('error' in parseTalkTarget('bob@'));
  assert.ok('error' in parseTalkTarget('@host'));
  assert.ok('error' in parseTalkTarget('host!'));
});
