// Vite build of the admin console (docs/CONSOLE.md). Output: dist/console/, served by
// routes/console.ts under /console. JSX is compiled by Vite's esbuild for Preact (no Babel preset).
import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root: here,
  base: '/console/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The preload polyfill would be extra initial bytes for browsers that all support modulepreload.
    modulePreload: { polyfill: false },
    // Inlined assets would be data: URLs in the stylesheet; keep everything a file under the CSP.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false
  }
})
