import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VersionCache } from './version-cache.js';
import { VERSION_CACHE_TTL_MS } from './session-constants.js';

test('VersionCache: bounded, the least recently learned host is evicted first', () => {
  const c = new VersionCache(3);
  for (const h of ['a', 'b', 'c', 'd']) c.set(h, 'otalk', 0);
  assert.equal(c.size, 3);
  assert.equal(c.get('a', 0), undefined);
  assert.equal(c.get('d', 0), 'otalk');
  c.set('b', 'ntalk', 1); // relearned: now the newest
  c.set('e', 'ntalk', 2);
  assert.equal(c.get('c', 2), undefined);
  assert.equal(c.get('b', 2), 'ntalk');
});

test('VersionCache: an entry older than the TTL is forgotten', () => {
  const c = new VersionCache(3);
  c.set('a', 'otalk', 0);
  assert.equal(c.get('a', VERSION_CACHE_TTL_MS), 'otalk');
  assert.equal(c.get('a', VERSION_CACHE_TTL_MS + 1), undefined);
});
