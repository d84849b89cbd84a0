export * from './actor.ts';
export { auditRow, writeAudit, type AuditEntry, type AuditRow } from './audit.ts';
export * from './errors.ts';
export { withUnitOfWork, inTransaction, readAll, type EventTransaction, type UnitOfWork } from './unit-of-work.ts';
export { likeLiteral } from './like.ts';
