/** The agent's artifact pipeline (ADR 23): trusted keys → verifyManifest → fetchArtifact → stageArtifacts. See agent/README.md. */
export { TrustedKeys, TRUSTED_KEYS_FILE } from './trusted-keys.ts';
export { verifyManifest, ed25519PublicKey, MANIFEST_CLOCK_SKEW_MS, type ManifestRejection, type ManifestVerification } from './manifest.ts';
export { ArtifactCache, DEFAULT_DEPOT_CACHE_MB, PARTIAL_MAX_AGE_MS, hashFile, type ArtifactPin, type CacheEntry } from './cache.ts';
export {
  fetchArtifact,
  ArtifactCacheWriteError,
  parseContentRange,
  type DownloadProgress,
  type FetchArtifactFailure,
  type FetchArtifactOptions,
  type FetchArtifactResult,
  type FetchedArtifact,
  type SourceAttempt,
  type SourceFailure,
} from './download.ts';
export { stageArtifacts, safeArtifactFileName, ArtifactNameError, type StagedArtifact } from './stage.ts';
export { DownloadThrottle } from './throttle.ts';
