export * from './agent-protocol.ts';
export * from './api.ts';
