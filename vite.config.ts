import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { VitePWA } from 'vite-plugin-pwa'

/** The hub the dev server proxies API calls to (`npm run dev` beside `npm run hub`). */
const HUB = process.env.MESHWORK_HUB ?? 'http://127.0.0.1:8080'
/** Shown in the app and changed by every deployment; tests set it to tell two builds apart. */
const BUILD_ID = process.env.MESHWORK_BUILD_ID ?? new Date().toISOString().slice(0, 16).replace('T', ' ')

export default defineConfig({
  define: { __MESHWORK_BUILD__: JSON.stringify(BUILD_ID) },
  plugins: [
    svelte(),
    VitePWA({
      // Our own service worker (src/sw.ts): precache plus Background Sync of the result outbox.
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.ts',
      // The page registers it with workbox-window and asks before activating an update (src/lib/pwa/).
      registerType: 'prompt',
      injectRegister: false,
      manifest: {
        name: 'Meshwork: volunteer compute',
        short_name: 'Meshwork',
        description: 'Lend your idle CPU and GPU to science: run work units in the background and earn verified credit.',
        id: '/',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#f5f7fb',
        theme_color: '#1d3b6f',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        // The app shell, the worker scripts and kernels (bundled into the worker chunk), icons, the embed page.
        globPatterns: ['**/*.{js,css,html,svg,png,wasm,webmanifest}'],
        // widget.js runs on partners' pages, never from this origin's cache.
        globIgnores: ['widget.js', '**/*.map'],
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
      },
      devOptions: { enabled: false },
    }),
  ],
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      // The app and the partner widget's framed page (see widget/ for the loader partners paste).
      input: { main: 'index.html', embed: 'embed.html' },
    },
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': HUB },
  },
})
