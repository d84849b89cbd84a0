/**
 * Deployments' domain logic (ADR 24), pure: wave verdicts, health analysis and the SQL that derives each device's
 * status. Imported by the `deploymentRollout` workflow (deterministic sandbox: no I/O, no clock), its activities and
 * the API.
 */
export * from './criteria.ts';
export * from './device-status-sql.ts';
