import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { integerIn, ipv4Argument, logFormatOption, logLevelOption, portRangeArgument } from './common-options.js';
import { formatPortRange, parsePortRange } from '../shared/port-range.js';

test('integerIn() accepts decimal integers in range only', () => {
  const p = integerIn(1, 10);
  assert.equal(p('7'), 7);
  for (const bad of ['0', '11', '1e1', '0x5', '-1', ' 5', '5.0', '']) assert.throws(() => p(bad), /expected an integer from 1 to 10/, bad);
});

test('parsePortRange() reads "LOW-HIGH" and formatPortRange() writes it back', () => {
  assert.deepEqual(parsePortRange('40000-40999'), { min: 40000, max: 40999 });
  for (const bad of ['40999-40000', '0-10', '1-65536', '[40000, 49999]', '40000', '1 - 2']) assert.equal(parsePortRange(bad), undefined, bad);
  assert.equal(formatPortRange({ min: 5, max: 6 }), '5-6');
  assert.throws(() => portRangeArgument('x'), /port range like 40000-40999/);
  assert.throws(() => ipv4Argument('256.0.0.1'), /dotted-quad/);
});

test('logLevelOption() and logFormatOption() refuse other values, naming the allowed ones', () => {
  let err = '';
  const cmd = new Command('t')
    .exitOverride()
    .configureOutput({ writeErr: (s) => (err += s) })
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .action(() => undefined);
  assert.throws(() => cmd.parse(['--log-level', 'verbose'], { from: 'user' }), CommanderError);
  assert.match(err, /Allowed choices are fatal, error, warn, info, debug, trace, silent/);
  assert.throws(() => cmd.parse(['--log-format', 'xml'], { from: 'user' }), CommanderError);
  assert.match(err, /Allowed choices are json, syslog/);
  cmd.parse([], { from: 'user' });
  assert.deepEqual(cmd.opts(), { logLevel: 'info', logFormat: 'json' });
});
