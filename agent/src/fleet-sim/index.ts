/** The fleet simulator: many virtual agents speaking the real agent protocol (see README.md here). */
export { startFleet, hostnameFor, type Fleet, type FleetDevice, type FleetOptions } from './fleet.ts';
export { spawnFleet, type RemoteFleet, type SpawnFleetOptions } from './remote.ts';
export type { ArtifactDownload } from './artifact-download.ts';
export { defaultBehaviour, type BehaviourSubset, type CommandBehaviour, type DeviceSelector } from './behaviour.ts';
export type { FleetStatsSnapshot } from './fleet-stats.ts';
export type { CallSummary, LatencySummary } from './stats.ts';
export type { CommandEvent, ResultEvent, VirtualAgentStatus } from './virtual-agent.ts';
export { parseCliArgs, UsageError } from './options.ts';
