// Lint: neostandard (the standard style as a flat config, TypeScript-aware) plus the recommended
// JS and typescript-eslint rules. Syntax-level only, no type information, so it is fast and runs on
// TypeScript 5.9 without a project service.
import js from '@eslint/js'
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  // schema.d.ts is generated (npm run console:types) and compared byte for byte by a test.
  { ignores: ['node_modules/', 'dist/', '.data/', 'bench-results/', 'coverage/', '.tap/', '.aws-sam/', 'src/console/api/schema.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...neostandard({ ts: true, env: ['node'] }),
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'warn',
      'no-empty': ['error', { allowEmptyCatch: true }],
      // A TypeBox schema and its Static<> type share one name on purpose; TypeScript itself
      // reports a real redeclaration.
      '@typescript-eslint/no-redeclare': 'off',
      // murmur3_x86_32 is the algorithm's published name (and the reference vectors').
      camelcase: ['error', { allow: ['^UNSAFE_', '^murmur3_x86_32'], properties: 'never', ignoreGlobals: true }],
      // `void promise` marks a deliberate fire-and-forget statement (a signal handler, a reply
      // sent from a framework hook); everywhere else void stays an error.
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
)
