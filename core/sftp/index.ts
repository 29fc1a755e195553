/** The SFTP transport: Node-RED-free. */
export { SftpSession, probeFingerprint } from './session';
export type { SftpSettings, RemoteEntry, IfExists, PutResult, PutOptions, UploadMode, SessionStatus } from './session';
export { SftpError } from './errors';
export { fingerprint, normaliseFingerprint, parsePins, PinError } from './host-key';
export { RemotePathError, checkRelative, checkName, resolveRemote } from './remote-path';
export { globToRegExp } from './glob';
