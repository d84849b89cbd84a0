export { assertPasswordAllowed, digestsEqual, generateToken, hashPassword, hashToken, verifyPassword } from './credentials.ts';
export { UserService, type Role, type UserChanges, type UserRecord } from './user-service.ts';
export { EnrollmentTokenService, type EnrollmentTokenRecord } from './enrollment-token-service.ts';
