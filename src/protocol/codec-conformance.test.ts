/**
 * One conformance suite run against every codec (ntalk, otalk big-endian, otalk
 * little-endian): round trips of arbitrary valid messages, exact sizes, rejection of every
 * wrong length, and "random bytes only ever throw DecodeError".
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError, EncodeError } from './decode-error.js';
import { ntalkCodec, otalkCodec, type TalkCodec } from './talk-codec.js';
import type { CtlMsg, CtlResponse } from './talk-types.js';
import {
  arbNtalkCtlMsg,
  arbNtalkCtlResponse,
  arbOtalkCtlMsg,
  arbOtalkCtlResponse,
} from './testing/arbitraries.js';

/** Longest random datagram tried; covers every valid size (22, 24, 76, 84) with margin. */
const MAX_FUZZ_LENGTH = 200;
const RUNS = 300;

interface ConformanceCase<Req extends CtlMsg, Res extends CtlResponse> {
  readonly label: string;
  readonly codec: TalkCodec<Req, Res>;
  readonly request: fc.Arbitrary<Req>;
  readonly response: fc.Arbitrary<Res>;
}

function isDecodeErrorOnly(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    assert.equal(typeof e.field, 'string');
    assert.ok(Number.isInteger(e.offset) && e.offset >= 0);
  }
}

/** Copies `bytes` into a larger buffer at an odd offset, surrounded by 0xAA, and returns the view. */
function embedded(bytes: Uint8Array): Uint8Array {
  const big = new Uint8Array(bytes.length + 13).fill(0xaa);
  big.set(bytes, 7);
  return big.subarray(7, 7 + bytes.length);
}

function conformance<Req extends CtlMsg, Res extends CtlResponse>(c: ConformanceCase<Req, Res>): void {
  const { codec } = c;
  describe(`${c.label} codec conformance`, () => {
    test('decodeRequest(encodeRequest(m)) deep-equals m for arbitrary valid requests', () => {
      fc.assert(
        fc.property(c.request, (m) => {
          const bytes = codec.encodeRequest(m);
          assert.equal(bytes.length, codec.requestSize);
          assert.deepEqual(codec.decodeRequest(bytes), m);
        }),
        { numRuns: RUNS },
      );
    });

    test('decodeResponse(encodeResponse(r)) deep-equals r for arbitrary valid responses', () => {
      fc.assert(
        fc.property(c.response, (r) => {
          const bytes = codec.encodeResponse(r);
          assert.ok(codec.responseSizes.includes(bytes.length));
          assert.deepEqual(codec.decodeResponse(bytes), r);
        }),
        { numRuns: RUNS },
      );
    });

    test('decoding a view inside a larger buffer reads only the view', () => {
      fc.assert(
        fc.property(c.request, c.response, (m, r) => {
          assert.deepEqual(codec.decodeRequest(embedded(codec.encodeRequest(m))), m);
          assert.deepEqual(codec.decodeResponse(embedded(codec.encodeResponse(r))), r);
        }),
        { numRuns: 100 },
      );
    });

    /** Runs `check` on every request-sized byte array the codec decodes (DecodeError: skipped). */
    const forEveryDecodableRequest = (check: (m: Req) => void): void => {
      const arbBytes = fc.uint8Array({ minLength: codec.requestSize, maxLength: codec.requestSize });
      fc.assert(
        fc.property(arbBytes, (bytes) => {
          let m: Req;
          try {
            m = codec.decodeRequest(bytes);
          } catch (e) {
            if (e instanceof DecodeError) return;
            throw e;
          }
          check(m);
        }),
        { numRuns: RUNS },
      );
    };

    test('decode then encode of any decodable request is a fixed point of the codec', () => {
      forEveryDecodableRequest((m) => {
        const canonical = codec.encodeRequest(m);
        assert.deepEqual(codec.decodeRequest(canonical), m);
        assert.deepEqual(codec.encodeRequest(codec.decodeRequest(canonical)), canonical);
      });
    });

    test('random byte arrays of any length only ever throw DecodeError', () => {
      const sizes = [codec.requestSize, ...codec.responseSizes];
      const arbBytes = fc.oneof(
        fc.uint8Array({ maxLength: MAX_FUZZ_LENGTH }),
        fc.constantFrom(...sizes).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
      );
      fc.assert(
        fc.property(arbBytes, (bytes) => {
          isDecodeErrorOnly(() => codec.decodeRequest(bytes));
          isDecodeErrorOnly(() => codec.decodeResponse(bytes));
        }),
        { numRuns: 1000 },
      );
    });

    const lengthCases = [
      { what: 'request', valid: [codec.requestSize], decode: (b: Uint8Array): unknown => codec.decodeRequest(b) },
      { what: 'response', valid: codec.responseSizes, decode: (b: Uint8Array): unknown => codec.decodeResponse(b) },
    ];
    for (const { what, valid, decode } of lengthCases) {
      test(`every wrong ${what} length is rejected with DecodeError on field length`, () => {
        for (let n = 0; n <= MAX_FUZZ_LENGTH; n++) {
          if (valid.includes(n)) continue;
          assert.throws(
            () => decode(new Uint8Array(n)),
            (e: unknown) => e instanceof DecodeError && e.field === 'length',
            `length ${n}`,
          );
        }
      });
    }

    test('decoded names never exceed NAME_SIZE - 1 chars nor contain NUL, whatever the bytes', () => {
      forEveryDecodableRequest((m) => {
        for (const name of [m.lName, m.rName]) {
          assert.ok(name.length <= codec.nameSize - 1);
          assert.ok(!name.includes('\0'));
        }
        assert.ok(m.rTty.length <= 15 && !m.rTty.includes('\0'));
      });
    });

    test('encodeRequest() throws EncodeError for a name one char too long or not latin1', () => {
      fc.assert(
        fc.property(c.request, (m) => {
          const long = 'x'.repeat(codec.nameSize);
          assert.throws(() => codec.encodeRequest({ ...m, lName: long }), EncodeError);
          assert.throws(() => codec.encodeRequest({ ...m, rName: long }), EncodeError);
          assert.throws(() => codec.encodeRequest({ ...m, rTty: 'x'.repeat(16) }), EncodeError);
          assert.throws(() => codec.encodeRequest({ ...m, lName: 'bo\u0142' }), EncodeError);
          // size - 1 chars exactly still fit.
          const fits = codec.encodeRequest({ ...m, lName: 'y'.repeat(codec.nameSize - 1) });
          assert.equal(codec.decodeRequest(fits).lName, 'y'.repeat(codec.nameSize - 1));
        }),
        { numRuns: 50 },
      );
    });

    test('encodeRequest() and encodeResponse() throw EncodeError for out-of-range numbers', () => {
      fc.assert(
        fc.property(c.request, c.response, (m, r) => {
          for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
            assert.throws(() => codec.encodeRequest({ ...m, id: bad }), EncodeError);
            assert.throws(() => codec.encodeResponse({ ...r, id: bad }), EncodeError);
          }
          assert.throws(() => codec.encodeRequest({ ...m, type: 256 }), EncodeError);
          assert.throws(() => codec.encodeRequest({ ...m, pid: 2 ** 31 }), EncodeError);
          assert.throws(() => codec.encodeRequest({ ...m, addr: { ...m.addr, port: 65536 } }), EncodeError);
          assert.throws(() => codec.encodeRequest({ ...m, ctlAddr: { ...m.ctlAddr, address: '1.2.3' } }), EncodeError);
          assert.throws(() => codec.encodeResponse({ ...r, answer: -1 }), EncodeError);
          assert.throws(() => codec.encodeResponse({ ...r, addr: { ...r.addr, family: 0x10000 } }), EncodeError);
        }),
        { numRuns: 30 },
      );
    });
  });
}

conformance({ label: 'ntalk', codec: ntalkCodec, request: arbNtalkCtlMsg, response: arbNtalkCtlResponse });
conformance({
  label: 'otalk (big-endian responses)',
  codec: otalkCodec('big'),
  request: arbOtalkCtlMsg,
  response: arbOtalkCtlResponse('big'),
});
conformance({
  label: 'otalk (little-endian responses)',
  codec: otalkCodec('little'),
  request: arbOtalkCtlMsg,
  response: arbOtalkCtlResponse('little'),
});
