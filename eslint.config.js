// typescript-eslint's type-checked recommended rules: they find bugs (floating promises, unsafe
// any, misused promises) and restyle nothing. Formatting is not linted.
import tseslint from 'typescript-eslint'

export default tseslint.config(
  // test/openapi/client is type-checked against a client generated at test time (its own project).
  { ignores: ['dist/', 'dist-test/', 'src/generated/', 'node_modules/', 'coverage/', '.tap/', 'test/openapi/client/'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // tap runs the subtests it is given (t.test returns a promise nobody needs to await).
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }],
      }],
      // Fastify's plugins, hooks and handlers are async functions by contract, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      // `_name` marks what is left out on purpose (destructuring a value away).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.recommended],
  },
)
