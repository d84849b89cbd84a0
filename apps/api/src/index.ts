export { createApp, type ApiApp } from './app.ts';
export { startApiServer, defaultApiConfig, type ApiServerOptions, type RunningApi } from './server.ts';
export type { ApiConfig, ApiDeps } from './context.ts';
