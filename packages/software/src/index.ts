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
