export type { RemoteOutput, RemoteResult, RemoteStatus, RemoteExecution } from './types.ts';
export { RemoteInputError } from './types.ts';
export { checkPrivateKey, runSshCommand, sshCopyFile, sshFingerprint, type SshTarget, type SshCommand, type SshFile } from './ssh.ts';
export { runWinRmCommand, winRmCopyFile, type WinRmCommand, type WinRmFile } from './winrm/shell.ts';
export type { WinRmTarget } from './winrm/transport.ts';
export { runPayload, posixScriptProgram, windowsScriptProgram, type AgentlessConnection, type PayloadIo } from './payloads.ts';
