// ESLint for the TypeScript: the recommended and type-aware rules of typescript-eslint, and
// the house rule that every public recv / send / wait / accept method says what it returns
// (the kinds and errno names) and which man page it is (@see).
import js from '@eslint/js';
import jsdoc from 'eslint-plugin-jsdoc';
import tseslint from 'typescript-eslint';

/** The public syscall-shaped methods of Socket and Server (not #private ones). */
const SYSCALL_METHODS =
  'MethodDefinition[kind="method"][key.type="Identifier"][key.name=/^(recv|peek|send|wait|accept)/]';

export default tseslint.config(
  { ignores: ['node_modules/', 'build/', 'dist/', 'prebuilds/', 'bench/.build/', '.cache/'] },
  js.configs.recommended,
  {
    // Type-aware: the rules that need the type checker (a promise nobody awaits, an unbound
    // method, an `any` leaking out of an untyped value) run on every TypeScript file.
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      // An async function without an await is how a synchronous body meets an async interface
      // (a scenario's run(), the CLI commands): kept, not rewritten as Promise.resolve wrappers.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['src/socket.ts', 'src/server.ts'],
    plugins: { jsdoc },
    rules: {
      'jsdoc/require-jsdoc': ['error', { require: {}, contexts: [SYSCALL_METHODS] }],
      'jsdoc/no-restricted-syntax': [
        'error',
        {
          contexts: [
            {
              context: SYSCALL_METHODS,
              comment: 'JsdocBlock:not(:has(JsdocTag[tag="returns"]))',
              message: '@returns: say which kinds (and errno names) this call can return',
            },
            {
              context: SYSCALL_METHODS,
              comment: 'JsdocBlock:not(:has(JsdocTag[tag="see"]))',
              message: '@see: name the system call and its man page',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
