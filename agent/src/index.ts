export {
  Agent,
  startAgent,
  type AgentExit,
  type AgentExitReason,
  type AgentInventoryOptions,
  type AgentOptions,
  type RetryPolicy,
} from './agent.ts';
export {
  executeProcess,
  executeShellCommand,
  processGroupAlive,
  shellInvocation,
  type ExecuteOptions,
  type ExecutionOutcome,
  type ShellExecution,
  type StopReason,
} from './executor.ts';
export { collectFacts, ipAddresses, osFamily, parseOsRelease } from './facts.ts';
export {
  AgentApiError,
  AgentHttpClient,
  CredentialsRejectedError,
  TransportError,
  type AgentHttpClientOptions,
  type FetchLike,
} from './http.ts';
export {
  collectInventory,
  collectInventoryDetailed,
  collectSections,
  platformCollectors,
  type CollectedInventory,
  type CollectedSections,
  type CollectOptions,
  type SectionCollectors,
} from './inventory/index.ts';
export { buildReport, InventoryReporter, readInventoryState, type InventoryReporterOptions } from './inventory/reporter.ts';
export { parseRawOutput as parseWindowsInventoryOutput, windowsParsers } from './inventory/windows/parse.ts';
export {
  EXPIRED_ERROR,
  INTERRUPTED_ERROR,
  Journal,
  REBOOTED_ERROR,
  entryState,
  readJournal,
  type JournalEntry,
  type JournalState,
} from './journal.ts';
export { HandlerRegistry, type CommandHandler, type Execution, type HandlerContext, type HandlerOutcome } from './handlers/index.ts';
export { readBootId } from './boot-id.ts';
export { createLogger, silentLogger, type LogLevel, type Logger } from './log.ts';
export { OutputStream, splitOutput, type OutputChunk, type StreamName } from '@opsconductor/command-output';
export { acquireLock, agentConfigSchema, defaultStateDir, readConfig, writeConfig, type AgentConfig } from './state.ts';
export { AGENT_VERSION } from './version.ts';
