/**
 * A command's output on its way from the process to the server, shared by everything that runs commands: the agent
 * on a device, and the API's relay for agentless targets (SSH/WinRM, packages/agentless).
 */
export {
  OutputStream,
  encodeOutput,
  incompleteTailStart,
  splitOutput,
  type OutputChunk,
  type OutputStreamOptions,
  type StreamName,
} from './output.ts';
export { REDACTED, SecretRedactor, redactOutput } from './redact.ts';
