import { defineConfig } from 'vite';

// `npm run dev -w @settle/web`: the desk on :5173 against the local API (npm start); the API tells it where the
// notifier is (GET /desk/config), and npm start lets this origin open sockets there.
const api = process.env['SETTLE_API_URL'] ?? 'http://localhost:3000';

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Sounds and icons stay files: the API's CSP allows media from 'self', not data: URLs.
    assetsInlineLimit: 0,
    target: 'es2022',
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: { '/v1': api, '/desk/config': api },
  },
});
