// Lint guards the layering: `app/` and `proxy-core/` must run anywhere Node runs (main process,
// utility process, headless host), so they may not import Electron, React or the DOM; `app/`
// is shared with the renderer, so it may not import Node either.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const electronAndUi = [
  { name: 'electron', message: 'proxy-core/ and app/ stay free of Electron: see docs/adr/0001.' },
  { name: 'react', message: 'proxy-core/ and app/ stay free of UI code.' },
  { name: 'react-dom', message: 'proxy-core/ and app/ stay free of UI code.' },
  { name: 'zustand', message: 'proxy-core/ and app/ stay free of UI code.' },
];
const uiPatterns = [
  { group: ['electron/*', 'react/*', 'react-dom/*'], message: 'No Electron or UI imports here.' },
  { group: ['**/main/**', '**/renderer/**'], message: 'Lower layers never import from main/ or renderer/.' },
];

export default tseslint.config(
  { files: ['**/*.{ts,tsx,js}'] },
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'test-results/**',
      'playwright-report/**',
      'test-artifacts/**',
      'release/**',
      '.bench/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['proxy-core/**/*.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': ['error', { paths: electronAndUi, patterns: uiPatterns }],
      // DOM globals do not exist in the core; tsconfig has no DOM lib, and this names the common ones.
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'localStorage'],
    },
  },
  {
    files: ['app/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: electronAndUi,
          patterns: [
            ...uiPatterns,
            {
              group: ['node:*', 'fs', 'path', 'os', 'net', 'http', 'https', 'tls', 'crypto', 'stream', 'zlib'],
              message: 'app/ is shared with the renderer: no Node imports.',
            },
            { group: ['**/proxy-core/**'], message: 'app/ is the contract; it depends on nothing.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'window',
        'document',
        'navigator',
        'localStorage',
        'process',
        'Buffer',
        'require',
      ],
    },
  },
  {
    // The renderer runs in a sandboxed page: it reaches the host only through the contract.
    files: ['renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'The renderer talks to the host only through app/contract.ts.' }],
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'net', 'http', 'https', 'tls', 'crypto', 'stream', 'zlib', 'ws'],
              message: 'The renderer runs in a browser page: no Node imports.',
            },
            {
              group: ['**/proxy-core/**', '**/main/**'],
              message: 'The renderer talks to the host only through app/contract.ts.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'Buffer', 'require'],
    },
  },
  {
    files: ['bin/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
);
