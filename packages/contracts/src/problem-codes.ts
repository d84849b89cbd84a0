/**
 * The stable `code` of every problem+json error the API answers (RFC 9457), with the title it carries.
 * Clients branch on the code, never on the title or the status alone; a code, once published, keeps its
 * meaning. Zod-free: the console (and its browser bundle) imports it as well as the API.
 */
export const problemCodes = {
  validation_failed: 'The request is not valid.',
  malformed_json: 'The request body is not valid JSON.',
  malformed_yaml: 'The request body is not YAML this API reads.',
  unauthenticated: 'Authentication is required.',
  invalid_credentials: 'The email or password is wrong.',
  too_many_attempts: 'Too many failed attempts; try again later.',
  weak_password: 'The password does not meet the password policy.',
  invalid_current_password: 'The current password is wrong.',
  current_password_required: 'Changing your own password needs your current password.',
  forbidden: 'Your role does not allow this.',
  csrf_rejected: 'The request origin is not allowed.',
  not_found: 'Not found.',
  method_not_allowed: 'This method is not allowed on this path.',
  conflict: 'The request conflicts with the current state.',
  name_taken: 'The name (or key, or email) is taken.',
  credential_in_use: 'Agentless targets log in with this credential.',
  payload_too_large: 'The request body is too large.',
  unsupported_media_type: 'The request body is not of a media type this operation takes.',
  enrollment_token_invalid: 'The enrollment token is unknown, expired, revoked or used up.',
  device_unauthenticated: 'The device credentials are missing or wrong.',
  device_retired: 'The device was retired: it is no longer managed.',
  confirmation_mismatch: 'The confirmation does not match.',
  unknown_devices: 'Some devices do not exist.',
  unknown_groups: 'Some groups do not exist.',
  no_target_devices: 'The target selection matches no devices.',
  too_many_devices: 'The target selection matches more devices than one run may target.',
  target_count_changed: 'The target selection now matches a different number of devices than confirmed.',
  run_finished: 'The run has already finished.',
  run_not_finished: 'The run has not finished yet.',
  device_run_finished: 'The run has already finished on this device.',
  not_a_job_run: 'This run runs one command, not a saved job.',
  own_run_approval: 'Nobody approves or rejects a run they started (four-eyes): another operator must.',
  approval_not_needed: 'This run does not wait for approval.',
  approval_decided: 'This run was already approved or rejected, or it no longer waits for approval.',
  approval_expired: 'The time to approve this run has passed.',
  nothing_to_rerun: 'Every device of the run succeeded (or was retired): there is nothing to run again.',
  idempotency_key_reused: 'This Idempotency-Key was already used for a different request.',
  output_after_finish: 'This command has already ended; its output can no longer change.',
  command_not_delivered: 'This command was never handed to an agent, so it cannot have a result.',
  unknown_file: 'No stored file has this SHA-256; upload it first (POST /api/v1/files).',
  inventory_full_report_required: 'A full inventory report is required.',
  rule_invalid: 'The rule is not valid.',
  rule_too_expensive: 'The rule takes too long to evaluate.',
  built_in_group: 'Built-in groups cannot be changed this way.',
  wrong_group_kind: 'This operation does not apply to this kind of group.',
  temporal_unavailable: 'The workflow service is unavailable; try again.',
  database_unavailable: 'The database is unavailable; try again.',
  server_busy: 'The server is busy; try again after Retry-After seconds.',
  secrets_unavailable: 'The secret store cannot work: no master key is configured, or not the one a secret needs.',
  internal_error: 'An unexpected error occurred.',
} as const;
export type ProblemCode = keyof typeof problemCodes;

const known = new Set<string>(Object.keys(problemCodes));
/** Narrows a `code` read off the wire (an older or newer server may send one this build does not know). */
export const isProblemCode = (code: unknown): code is ProblemCode => typeof code === 'string' && known.has(code);
