import { defineConfig } from 'vite';

// The Electron preload, bundled to one CommonJS file: a sandboxed preload cannot `require` files
// of its own, only `electron`'s renderer modules, which stay external.
export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist/main/electron',
    emptyOutDir: false,
    sourcemap: true,
    minify: false,
    target: 'chrome140',
    lib: {
      entry: 'main/electron/preload.ts',
      formats: ['cjs'],
      fileName: () => 'preload.cjs',
    },
    rollupOptions: {
      external: ['electron'],
    },
  },
});
