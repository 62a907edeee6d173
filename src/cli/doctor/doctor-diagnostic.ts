/** The doctor's own finding codes (beyond the loader's and the mode prerequisites'). */
import type { Diagnostic } from '../../config/config-diagnostic.js';

export type DoctorCode =
  | 'audit-is-directory'
  | 'audit-not-a-file'
  | 'audit-directory-missing'
  | 'audit-not-writable'
  | 'audit-relative-path'
  | 'run-as-user-missing'
  | 'run-as-root'
  | 'host-unresolvable'
  | 'hosts-not-checked';

export type DoctorDiagnostic = Diagnostic<DoctorCode>;
