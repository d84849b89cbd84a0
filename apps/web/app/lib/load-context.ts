// What server.mjs passes to loaders and actions (`vite dev` passes nothing).
declare module '@remix-run/node' {
  interface AppLoadContext {
    /** The browser's IP address as the HTTP server saw it (honouring TRUST_PROXY). */
    clientIp?: string;
  }
}

export {};
