export { parseMasterKeys, InvalidMasterKeysError, type MasterKey } from './master-keys.ts';
export { SecretDecryptionError } from './envelope.ts';
export {
  SecretStore,
  SecretsUnavailableError,
  MAX_SECRET_BYTES,
  ROTATION_BATCH,
  type RotationResult,
  type SecretMetadata,
  type SecretRef,
} from './store.ts';
export { masterKeysEnv } from './env.ts';
