/**
 * Builds the partner widget's loader (widget/loader.ts) into `dist/widget.js`: one classic script (IIFE, so
 * `document.currentScript` tells it the hub's origin), no framework, minified. Runs after the app's `vite build`,
 * into the same folder, without emptying it.
 */
import { defineConfig } from 'vite'

export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2020',
    minify: true,
    sourcemap: false,
    copyPublicDir: false,
    lib: {
      entry: 'widget/loader.ts',
      formats: ['iife'],
      name: 'MeshworkWidgetLoader',
      fileName: () => 'widget.js',
    },
  },
})
