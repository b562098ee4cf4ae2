import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

/** The hub the dev server proxies API calls to (`npm run dev` beside `npm run hub`). */
const HUB = process.env.MESHWORK_HUB ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [svelte()],
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': HUB },
  },
})
