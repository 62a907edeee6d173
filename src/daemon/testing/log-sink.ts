/** A log destination for tests: every chunk written is appended, as text, to `into`. */
import { Writable } from 'node:stream';

export function collectingSink(into: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, cb) {
      into.push(chunk.toString());
      cb();
    },
  });
}
