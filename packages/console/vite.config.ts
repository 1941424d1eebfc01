import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the gateway under /console (packages/api/src/console.ts), same origin as /trpc.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Inline nothing: the gateway's Content-Security-Policy allows scripts, styles and images from 'self' only.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    // `pnpm --filter @tollgate/console dev`: the UI with hot reload against a gateway on :8787.
    proxy: { '/trpc': 'http://localhost:8787', '/reports': 'http://localhost:8787' },
  },
});
