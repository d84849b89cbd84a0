export * from './actor.ts';
export { writeAudit, type AuditEntry } from './audit.ts';
export * from './errors.ts';
export { withUnitOfWork, inTransaction, readAll, type EventTransaction, type UnitOfWork } from './unit-of-work.ts';
