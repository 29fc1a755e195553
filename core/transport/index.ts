/** The transports to the hub, SFTP and FTPS, behind one interface (transport.ts): Node-RED-free. */
export type { Transport, RemoteEntry, IfExists, PutResult, PutOptions, UploadMode, SessionStatus, FolderAccess, Allowed } from './transport';
export { SftpSession, probeFingerprint } from './sftp';
export type { SftpSettings } from './sftp';
export { TransportError, type Protocol } from './errors';
export { fingerprint, normaliseFingerprint, parsePins, PinError } from './host-key';
export { RemotePathError, checkRelative, checkName, resolveRemote } from './remote-path';
export { globToRegExp } from './glob';
export { probeFolder } from './probe';
export { FtpsSession, probeCertificate, toFtpError } from './ftps';
export type { FtpsSettings, FtpTls } from './ftps';
export { parseCertPins, normaliseCertFingerprint } from './certificate';
export { openTransport, type TransportSettings } from './open';
