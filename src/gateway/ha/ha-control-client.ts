/** Adapter: one request to the gateway's HA control socket, bounded in time and size. */
import { connect } from 'node:net';
import { HA_CONTROL_MAX_LINE, HA_CONTROL_TIMEOUT_MS, type HaControlReply, type HaControlRequest } from './ha-control-messages.js';

/** Longest reply line read. */
const MAX_REPLY = 4 * HA_CONTROL_MAX_LINE;

export function haControlRequest(path: string, req: HaControlRequest, timeoutMs = HA_CONTROL_TIMEOUT_MS): Promise<HaControlReply> {
  return new Promise((resolve) => {
    let buf = '';
    const sock = connect(path);
    const fail = (error: string): void => {
      sock.destroy();
      resolve({ ok: false, error });
    };
    sock.setEncoding('utf8');
    sock.setTimeout(timeoutMs, () => fail(`no answer from ${path} within ${timeoutMs} ms`));
    sock.on('error', (err) => fail(`cannot reach the gateway at ${path}: ${err.message}`));
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REPLY) return fail('reply too long');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.destroy();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as HaControlReply);
      } catch {
        resolve({ ok: false, error: 'the gateway answered something that is not JSON' });
      }
    });
    sock.on('end', () => {
      if (!buf.includes('\n')) fail('the gateway closed the connection without an answer');
    });
  });
}
