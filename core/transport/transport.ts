/**
 * The one interface over the hub that the poller, the in/out nodes and *Test connection* use, whatever the
 * protocol: SFTP (sftp.ts) or FTPS (ftps.ts). Paths are relative to the configured root and use `/`.
 */
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { Protocol } from './errors';

export interface RemoteEntry {
  name: string;
  /** Path relative to the root. */
  path: string;
  size: number;
  /** Modification time in ms since the epoch (whole seconds on SFTP v3; FTP servers give seconds or minutes). */
  mtime: number;
  isFile: boolean;
  isDirectory: boolean;
}

export type IfExists = 'fail' | 'overwrite' | 'suffix' | 'skip';

/**
 * How a file is put. temp-name (default): `.<name>.<random>.part` beside the target, then renamed into place.
 * temp-folder: written in `tempFolder`, then moved into place — for hubs that pick up any new file in the target
 * folder, even a dot file. direct: written under its final name — for hubs that refuse renames; a file cut short is
 * removed, but while it is written a watcher of the folder can see part of it.
 */
export type UploadMode = 'temp-name' | 'temp-folder' | 'direct';

export interface PutOptions {
  ifExists?: IfExists;
  mkdirs?: boolean;
  mode?: UploadMode;
  /** temp-folder: the folder (relative to the root) to write in first; default `.esr-upload`. */
  tempFolder?: string;
  /** An empty `<name><doneMarker>` file (e.g. ".done") put once the file is in place, for hubs that wait for one. */
  doneMarker?: string;
}

export interface PutResult {
  /** Path written (relative to the root); with 'suffix' it may differ from the one asked for. */
  path: string;
  bytes: number;
  skipped: boolean;
}

export type SessionStatus =
  | { state: 'connecting' }
  | { state: 'connected'; fingerprint?: string }
  | { state: 'disconnected' }
  | { state: 'transferring'; operation: string; bytes: number }
  | { state: 'error'; code: string };

/** What the account may do in one folder, as found by trying it (see probeFolder). */
export interface FolderAccess {
  folder: string;
  list: Allowed;
  stat: Allowed;
  read: Allowed;
  write: Allowed;
  rename: Allowed;
  delete: Allowed;
}
/** `yes`, `no` (refused, with its code) or `untried` (nothing to try it on, or an earlier step failed). */
export type Allowed = 'yes' | 'untried' | { no: string };

/**
 * One connection to the hub with a queue that runs one operation at a time, a timeout on every operation,
 * reconnect with backoff and a `close()` that always finishes and releases its sockets. Errors are
 * TransportError. Emits 'status' (SessionStatus).
 */
export interface Transport extends EventEmitter {
  readonly protocol: Protocol;
  /** The host key (SFTP, `SHA256:…`) or certificate (FTPS, SHA-256 as colon hex) fingerprint last seen. */
  readonly fingerprint: string | undefined;
  readonly connected: boolean;
  /** Connects (and logs in) now if not connected yet. */
  ready(): Promise<void>;
  /** Files and folders in a folder, optionally filtered by a glob on the name. */
  list(dir: string, glob?: string): Promise<RemoteEntry[]>;
  /** The entry for a path, or undefined when it does not exist. */
  stat(p: string): Promise<RemoteEntry | undefined>;
  /** Streams a file to `consume`, which must read the stream to its end (or fail). `size` in bytes. */
  get<T>(p: string, consume: (stream: Readable, size: number) => Promise<T>): Promise<T>;
  getBuffer(p: string): Promise<Buffer>;
  /** Uploads a file whole (see UploadMode and IfExists); none of the modes needs `stat`. */
  put(p: string, source: Buffer | string | Readable, options?: PutOptions): Promise<PutResult>;
  /** Moves a file; never repeated on a lost connection (the caller checks). */
  rename(from: string, to: string, options?: { overwrite?: boolean; mkdirs?: boolean }): Promise<void>;
  delete(p: string): Promise<void>;
  /** Creates a folder and its parents. */
  mkdir(p: string): Promise<void>;
  /** What the account may do in `folder`; writes (an empty `.esr-probe-…` file, renamed, deleted) only with `tryWrites`. */
  probeFolder(folder: string, tryWrites?: boolean): Promise<FolderAccess>;
  /** Drops the connection now; the next operation reconnects. */
  drop(): void;
  /** Closes for good (config node redeploy). Never hangs. */
  close(): Promise<void>;
}
