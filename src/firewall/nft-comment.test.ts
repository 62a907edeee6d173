import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NFT_COMMENT_MAX, nftComment } from './nft-comment.js';
import { renderOpenHole, type HoleSpec } from './nft-hole.js';
import type { NftTableSpec } from './nft-ruleset.js';

const spec: NftTableSpec = { family: 'ip', table: 'tg', deployment: 'own', prefix: '', outsideInterface: 'wan0', insideInterface: 'lan0', insideNetworks: ['10.0.0.0/24'], outbound: 'open' };

/** What nft's scanner takes inside a quoted string when a saved ruleset is read back: no `"`, no line break, no escape. */
const RELOADABLE = /^[\x20-\x7e]*$/;

test('nftComment() turns the hostile DESCRIPTION `x" ; y` into a comment without a double quote', () => {
  assert.equal(nftComment('x" ; y'), 'x_ _ y');
});

test('nftComment() of any text: only safe printable ASCII, no quote or backslash, at most NFT_COMMENT_MAX', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.nat(300), (text, max) => {
      for (const c of [nftComment(text), nftComment(text, max)]) {
        assert.match(c, RELOADABLE);
        assert.ok(!c.includes('"') && !c.includes('\\') && !c.includes('#') && !c.includes(';'), c);
        assert.ok(c.length <= NFT_COMMENT_MAX);
      }
      assert.ok(nftComment(text, max).length <= max);
    }),
    { numRuns: 2000 },
  );
});

test('nftComment() keeps ids, addresses and plain words as they are', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9 .:_\-/@]{0,127}$/), (text) => {
      assert.equal(nftComment(text), text);
    }),
  );
  assert.equal(nftComment('m-7 10.0.0.2:5555 talkgate c-12'), 'm-7 10.0.0.2:5555 talkgate c-12');
});

test('renderOpenHole() puts only a safe comment on every element, whatever the id', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (id) => {
      const hole: HoleSpec = {
        id, direction: 'inbound', protocol: 'tcp', peer: '192.0.2.2', internalAddress: '10.0.0.2',
        internalPort: 5555, externalPort: 40000, timeoutSeconds: 30, oneShot: false, mark: 0,
      };
      const batch = renderOpenHole(spec, hole);
      for (const cmd of batch.nftables) {
        const comment = JSON.stringify(cmd).match(/"comment":("(?:[^"\\]|\\.)*")/)?.[1];
        assert.notEqual(comment, undefined);
        const text = JSON.parse(comment!) as string;
        assert.match(text, RELOADABLE);
        assert.ok(!text.includes('"') && text.length <= NFT_COMMENT_MAX);
      }
    }),
    { numRuns: 500 },
  );
});
