export type { RemoteOutput, RemoteResult, RemoteStatus, RemoteExecution } from './types.ts';
export { RemoteInputError } from './types.ts';
export { runSshCommand, sshCopyFile, sshFingerprint, type SshTarget, type SshCommand, type SshFile } from './ssh.ts';
export { runWinRmCommand, winRmCopyFile, type WinRmCommand, type WinRmFile } from './winrm/shell.ts';
export type { WinRmTarget } from './winrm/transport.ts';
