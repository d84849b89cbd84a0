import { vitePlugin as remix } from '@remix-run/dev';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig, type Plugin } from 'vite';
import tsconfigPaths from 'vite-tsconfig-paths';
import { nodeSelfOrigin, parseAllowedOrigins, sameOriginGuard } from './same-origin.mjs';

// Loaders return plain objects / `data()`; this makes useLoaderData infer single-fetch types.
declare module '@remix-run/node' {
  interface Future {
    v3_singleFetch: true;
  }
}

/** The CSRF defence of server.mjs, in front of Remix under `remix vite:dev` too. */
function sameOriginPlugin(): Plugin {
  return {
    name: 'opsconductor-same-origin',
    configureServer(server) {
      // Added directly (not from a returned post hook), so it runs before Vite's and Remix's middlewares.
      server.middlewares.use(sameOriginGuard({ selfOrigin: nodeSelfOrigin, allowedOrigins: parseAllowedOrigins(process.env.WEB_ORIGINS) }));
    },
  };
}

export default defineConfig({
  server: { port: Number(process.env.PORT ?? 3000), strictPort: true },
  plugins: [
    sameOriginPlugin(),
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
