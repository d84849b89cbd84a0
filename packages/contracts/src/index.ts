export * from './agent-protocol.js';
export * from './api.js';
