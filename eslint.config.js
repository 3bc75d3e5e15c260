// Lint guards the layering: where code runs decides what it may import (docs/ARCHITECTURE.md).
// - `app/` is shared by every layer, the page included: no Node, Electron, UI, core or host.
// - `proxy-core/` runs wherever Node runs (main process, utility process, headless host): no
//   Electron, no UI, nothing from `main/` or `renderer/`.
// - `renderer/` is a sandboxed browser page: it reaches the host only through `app/`.
// - `main/` is the host and the Electron shell: it never imports the page's code, and only
//   `main/electron/` may import Electron, so the host runs without it.
// Outside `proxy-core/`, the core is reached through `proxy-core/index.ts` alone, so that file is
// the library's whole surface; unit tests under `test/` are exempt, since they test its internals.
import js from '@eslint/js';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

/** An import rule's options from several lists of forbidden paths and patterns. */
function forbid(...lists) {
  return [
    'error',
    { paths: lists.flatMap((list) => list.paths ?? []), patterns: lists.flatMap((list) => list.patterns ?? []) },
  ];
}

/** Every Node built-in both ways it can be named (`fs`, `node:fs`); newer ones exist only as `node:x`. */
function nodeBuiltins(message) {
  const names = builtinModules.flatMap((name) => (name.startsWith('node:') ? [name] : [name, `node:${name}`]));
  return { paths: [...new Set(names)].map((name) => ({ name, message })) };
}

const electron = (message) => ({
  paths: [{ name: 'electron', message }],
  patterns: [{ group: ['electron/*'], message }],
});

const ui = (message) => ({
  paths: ['react', 'react-dom', 'zustand'].map((name) => ({ name, message })),
  patterns: [{ group: ['react/*', 'react-dom/*', 'zustand/*'], message }],
});

/**
 * protobuf.js builds its codecs with `Function` (a strict CSP refuses it) and gRPC's packages are
 * Node's: the page decodes with @bufbuild/protobuf (docs/adr/0004-protobuf-schemas.md).
 */
const pageProtobuf = (message) => ({
  paths: ['protobufjs'].map((name) => ({ name, message })),
  patterns: [{ group: ['protobufjs/*', '@grpc/*'], message }],
});

const coreThroughIndex = {
  patterns: [
    {
      group: ['**/proxy-core/**', '!**/proxy-core/index.js'],
      message: "Outside proxy-core/, import the core through proxy-core/index.js: it is the library's whole surface.",
    },
  ],
};

const electronOnlyInShell = electron('Only main/electron/ imports Electron: the host and the core run without it.');

const noPageCode = {
  patterns: [
    {
      group: ['**/renderer/**'],
      message: "main/ never imports the page's code: what both need lives in app/ (the transport in app/transport/).",
    },
  ],
};

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
      'no-restricted-imports': forbid(
        electron('proxy-core/ stays free of Electron: see docs/adr/0001.'),
        ui('proxy-core/ stays free of UI code.'),
        {
          patterns: [
            { group: ['**/main/**', '**/renderer/**'], message: 'The core never imports main/ or renderer/.' },
          ],
        },
      ),
      // DOM globals do not exist in the core; tsconfig has no DOM lib, and this names the common ones.
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'localStorage'],
    },
  },
  {
    files: ['app/**/*.ts'],
    rules: {
      'no-restricted-imports': forbid(
        electron('app/ stays free of Electron: see docs/adr/0001.'),
        ui('app/ stays free of UI code.'),
        nodeBuiltins('app/ is shared with the renderer: no Node imports.'),
        pageProtobuf('app/ is shared with the renderer: decode with @bufbuild/protobuf.'),
        {
          patterns: [
            { group: ['**/main/**', '**/renderer/**'], message: 'app/ never imports main/ or renderer/.' },
            { group: ['**/proxy-core/**'], message: 'app/ is the contract; it depends on nothing.' },
          ],
        },
      ),
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
      'no-restricted-imports': forbid(
        electron('The renderer talks to the host only through app/contract.ts.'),
        nodeBuiltins('The renderer runs in a browser page: no Node imports.'),
        pageProtobuf('The renderer runs in a sandboxed page: decode with @bufbuild/protobuf.'),
        {
          paths: [{ name: 'ws', message: 'The renderer runs in a browser page: it has its own WebSocket.' }],
          patterns: [
            {
              group: ['**/proxy-core/**', '**/main/**'],
              message: 'The renderer talks to the host only through app/contract.ts.',
            },
          ],
        },
      ),
      'no-restricted-globals': ['error', 'process', 'Buffer', 'require'],
    },
  },
  {
    files: ['main/**/*.ts'],
    ignores: ['main/electron/**'],
    rules: { 'no-restricted-imports': forbid(coreThroughIndex, noPageCode, electronOnlyInShell) },
  },
  {
    // The shell is the one place Electron may be imported.
    files: ['main/electron/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(coreThroughIndex, noPageCode) },
  },
  {
    // Everything else (bench, e2e, scripts, configs) uses the core as any program would.
    files: ['**/*.{ts,tsx,js}'],
    ignores: ['app/**', 'proxy-core/**', 'renderer/**', 'main/**', 'test/**'],
    rules: { 'no-restricted-imports': forbid(coreThroughIndex, electronOnlyInShell) },
  },
  {
    // Unit tests reach into the core's internals on purpose; Electron stays in the shell even here.
    files: ['test/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(electronOnlyInShell) },
  },
  {
    files: ['bin/**/*.js', 'eslint.config.js', 'test/fixtures/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
);
