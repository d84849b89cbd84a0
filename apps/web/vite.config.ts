import { vitePlugin as remix } from '@remix-run/dev';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';
import tsconfigPaths from 'vite-tsconfig-paths';

// Loaders return plain objects / `data()`; this makes useLoaderData infer single-fetch types.
declare module '@remix-run/node' {
  interface Future {
    v3_singleFetch: true;
  }
}

export default defineConfig({
  server: { port: Number(process.env.PORT ?? 3000), strictPort: true },
  plugins: [
    tailwindcss(),
    remix({
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
        v3_lazyRouteDiscovery: true,
        v3_singleFetch: true,
        // v3_routeConfig stays off: it needs @remix-run/route-config (not installed); the app uses
        // flat routes from app/routes, which is what the React Router 7 codemod expects anyway.
      },
    }),
    tsconfigPaths(),
  ],
});
