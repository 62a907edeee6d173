// ESLint flat config (issue 12, "habits that keep it so"): typescript-eslint's recommended rules with
// type information over src/, test/ and bench/, and ESLint's recommended rules over the plain-JS
// scripts. tsc already enforces strictness and unused locals/parameters; this adds what tsc does not
// check (floating and misused promises, unsafe `any` flows, base-to-string, needless assertions).
// Each rule switched off or relaxed below says why; none hides a defect in today's code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const TESTS = ['**/*.test.ts', 'test/**/*.ts', 'src/**/testing/**/*.ts'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      // The sanitisers and their tests match C0 control bytes on purpose: that is their job.
      'no-control-regex': 'off',
      // A leading underscore marks a deliberately unused binding, as tsc's noUnused* checks allow.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
      // `string | 'ask'` names the sentinel a caller must handle; the literal documents, it does not narrow.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // `map.get(k)?.push(v) ?? map.set(k, [v])` is the append-or-create idiom of the benchmarks.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true }],
    },
  },
  {
    files: [...TESTS, 'bench/**/*.ts'],
    rules: {
      // Fakes implement async interfaces with synchronous bodies.
      '@typescript-eslint/require-await': 'off',
      // Tests inspect JSON.parse results and `nft -j` output, which are `any` by nature.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      // Child-process harnesses pass the callback's error on as it came.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
    },
  },
  {
    files: ['**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
  },
);
