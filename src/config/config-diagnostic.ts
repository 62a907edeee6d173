/**
 * One problem found in a configuration (or on the machine it is meant for), in the one form every
 * talkgate check prints: `file:line: key: message` (`file: key: message` when the line is not
 * known), warnings with `warning: ` before the message. Codes are typed; the message is for
 * people. Everything echoed from the file (key names, values) is sanitised when formatted.
 */
import { sanitizeText } from '../shared/sanitize.js';
import type { KeyPath } from './toml-key-lines.js';

export type DiagnosticSeverity = 'error' | 'warning';

/** A problem with a typed code `C`, the key it concerns and, when located, its line. */
export interface Diagnostic<C extends string = string> {
  readonly severity: DiagnosticSeverity;
  readonly code: C;
  /** Key path as written (`policy[0].remote`), or an option name (`--port`). */
  readonly key: string;
  readonly message: string;
  readonly line?: number;
  /** Column, when known (TOML syntax errors). */
  readonly column?: number;
}

/** What the configuration loader itself reports. */
export type ConfigProblemCode =
  /** Not TOML (smol-toml's syntax error). */
  | 'toml-syntax'
  /** A key the schema does not know (with a suggestion when one is near). */
  | 'unknown-key'
  /** A value of the wrong type or out of range, or a required key missing. */
  | 'invalid-value'
  /** Values that contradict each other (addresses vs networks, overlapping ports). */
  | 'conflict'
  /** A value that is valid but probably not what was meant (host bits set, no policy). */
  | 'suspicious'
  /** The file cannot be read. */
  | 'unreadable';

export type ConfigDiagnostic = Diagnostic<ConfigProblemCode>;

/** Renders a key path as written in messages: `policy[0].action`, `(top level)` for none. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(top level)' : out;
}

/**
 * The printed line of `d` from `source` (a file name, or a tool name for options).
 * @example formatDiagnostic('gw.toml', { severity: 'error', code: 'invalid-value', key: 'relay.ports', message: 'must be a range', line: 7 })
 *   === 'gw.toml:7: relay.ports: must be a range'
 */
export function formatDiagnostic(source: string, d: Diagnostic): string {
  const where = d.line === undefined ? source : d.column === undefined ? `${source}:${d.line}` : `${source}:${d.line}:${d.column}`;
  const severity = d.severity === 'warning' ? 'warning: ' : '';
  return sanitizeText(`${where}: ${d.key}: ${severity}${d.message}`);
}
