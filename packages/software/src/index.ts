/**
 * Software depot logic shared by the server and the agent: pure functions, no I/O (the agent's probes are in
 * `@opsconductor/software/probes`).
 */
export {
  compareDpkg,
  compareMsi,
  comparePacman,
  compareRpm,
  compareWith,
  describeConstraints,
  rpmvercmp,
  satisfies,
  versionSchemes,
  type VersionOrder,
  type VersionScheme,
} from './versions.ts';
export {
  describeRule,
  evaluateDetection,
  expandWindowsPath,
  registryDataText,
  TRACE_TEXT_MAX,
  type DetectionOptions,
  type DetectionResult,
  type DetectionTraceEntry,
} from './detection.ts';
export { checkRequirements, type RequirementFacts, type RequirementsCheck } from './requirements.ts';
export {
  classifyExitCode,
  CommandTemplateError,
  commandPlaceholders,
  defaultCommands,
  exeInstallerFrameworks,
  quoteCmd,
  quotePowerShell,
  quoteSh,
  renderCommand,
  type CommandPlaceholder,
  type CommandShell,
  type CommandValues,
  type DefaultCommands,
  type DefaultCommandsInput,
  type ExeInstallerFramework,
  type ExitCodeClass,
} from './commands.ts';
export {
  ProbeError,
  type DetectionProbes,
  type FileProbeResult,
  type RegistryHive,
  type RegistryProbeResult,
  type RegistryValue,
  type RegistryView,
} from './probes/types.ts';
