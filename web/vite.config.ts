// Vite configuration of the Parley web client.
//
// `npm run dev` serves the client with hot reload and proxies the API (/v1), the WebSocket (/ws)
// and the health probes to a running parleyd: PARLEY_URL (default http://127.0.0.1:8080).
// `npm run build` writes web/dist/, which parleyd serves at /.
import { defineConfig } from 'vite';
import { emojiData } from './build-tools/emoji-data';

// Node's global, declared here so that the type check needs no @types/node.
declare const process: { env: Record<string, string | undefined> };

const parley = process.env.PARLEY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [emojiData()],
  // Preact's automatic JSX runtime, compiled by Vite's own transformer: no framework plugin needed.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: {
    proxy: {
      '/v1': { target: parley, changeOrigin: true },
      '/ws': { target: parley, ws: true, changeOrigin: true },
      '/healthz': { target: parley },
    },
  },
  build: {
    target: 'es2022',
    // parleyd serves /assets/* with "immutable" caching: Vite's content-hashed names fit that.
    assetsDir: 'assets',
    // No source maps in the production build: they would publish the whole source next to the
    // app. The page runs under a strict Content-Security-Policy (no inline script or style), which
    // Vite's output satisfies: one module script and one stylesheet, both files.
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
});
