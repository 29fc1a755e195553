/**
 * What every transport shares around its protocol: a queue that runs one operation at a time, a timeout on every
 * operation (restarted by progress), reconnect with backoff, status events, secrets kept out of errors, and a
 * `close()` that always finishes. A protocol implements connecting, ending a connection and its operations.
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { TransportError, type Protocol } from './errors';
import * as path from 'node:path';
import { checkName, checkRelative, resolveRemote } from './remote-path';
import type { IfExists, PutOptions, SessionStatus, UploadMode } from './transport';

export interface SessionSettings {
  host: string;
  port?: number;
  username: string;
  password?: string;
  /** Remote folder every path is relative to. */
  root?: string;
  connectTimeoutMs?: number;
  /** An operation with no progress for this long fails and the connection is dropped (ETIMEDOUT). */
  operationTimeoutMs?: number;
  /**
   * A download whose reader takes nothing for this long fails (READER_STALLED) and its connection is released.
   * While a download waits on its reader (the reader's buffer is full and nothing is asked of the server), the
   * inactivity timeout above does not run: it measures the server, and a slow reader is not the server's fault.
   * This one ends a stream that nothing reads (e.g. a stream sent to a debug node). Default 10 minutes.
   */
  readerTimeoutMs?: number;
  /** Connection attempts per operation and the backoff between them. */
  retries?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

/** Restarts an operation's timeout: the server's inactivity timeout, or with 'reader' the reader timeout. */
export type Touch = (waitingOn?: 'server' | 'reader') => void;

/** Codes after which connecting again cannot help (a wrong pin, key or password). */
const NOT_RETRYABLE = new Set(['HOST_KEY_MISMATCH', 'HOST_KEY_NOT_PINNED', 'CERT_MISMATCH', 'CERT_NOT_TRUSTED', 'BAD_PIN', 'AUTH_FAILED', 'BAD_KEY', 'CLOSED', 'PLAIN_FTP_REFUSED', 'TLS_MISMATCH']);
/** Codes that mean the connection is gone: it is dropped, and the next operation reconnects. */
const CONNECTION_LOST = new Set(['ETIMEDOUT', 'ECONNRESET', 'NO_CONNECTION', 'CONNECTION_LOST', 'EPIPE', 'ECONNREFUSED', 'ERR_GENERIC_CLIENT']);
/** Codes that mean the connection was already gone when the operation ran (not a slow server). */
const FOUND_DEAD = new Set(['CONNECTION_LOST', 'ECONNRESET', 'EPIPE', 'NO_CONNECTION', 'ERR_GENERIC_CLIENT']);

/**
 * Keeps a source stream's error from crashing the process while its upload waits in the queue: the error stays on
 * the stream (`errored`), and `usable()` or the pipeline reports it once the upload starts.
 */
export function holdErrors(source: unknown): void {
  if (source instanceof Readable) source.on('error', () => undefined);
}

/** The stream, or its error if it already failed (or ended unread) while waiting. */
export function usable(source: Readable): Readable {
  if (source.errored) throw source.errored;
  if (source.destroyed) throw Object.assign(new Error('the source stream was closed before the upload started'), { code: 'SOURCE_CLOSED' });
  return source;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]);
}

export abstract class Session<C, S extends SessionSettings> extends EventEmitter {
  readonly settings: Readonly<S>;
  /** The live connection, set once connected. */
  protected conn?: C;
  protected seenFingerprint?: string;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Fails the operation now running (operations run one at a time), when its connection ends under it. */
  private abortRunning?: (code: string, message: string) => void;
  private readonly secrets: string[];
  private lastProgress = 0;
  /** Files of failed uploads not yet removed (the connection was gone): removed on the next connection. */
  protected readonly leftovers = new Set<string>();

  protected constructor(
    readonly protocol: Protocol,
    settings: S,
    defaults: Partial<S>,
    secrets: (string | undefined)[],
  ) {
    super();
    this.settings = {
      root: '.',
      connectTimeoutMs: 15_000,
      operationTimeoutMs: 30_000,
      readerTimeoutMs: 600_000,
      retries: 4,
      backoffInitialMs: 500,
      backoffMaxMs: 15_000,
      ...defaults,
      ...settings,
    };
    this.secrets = secrets.filter((s): s is string => !!s && s.length >= 3);
  }

  /** Connects and logs in once; throws TransportError. Emits nothing (connect() does). */
  protected abstract connectOnce(): Promise<C>;
  /** Ends a connection and releases its sockets, whatever their state, within a few seconds. */
  protected abstract endConnection(conn: C): Promise<void>;
  /** Removes a file, never throwing and never waiting long; true when it is gone afterwards (or was never there). */
  protected abstract removeQuietly(conn: C, full: string): Promise<boolean>;
  /** Streams a file to `consume` (see Transport.get). */
  abstract get<T>(p: string, consume: (stream: Readable, size: number) => Promise<T>): Promise<T>;
  /** The protocol's own errors as a TransportError. */
  protected abstract toError(err: unknown, operation: string, path?: string): TransportError;

  /** The fingerprint (host key or certificate) the server presented at the last connection attempt. */
  get fingerprint(): string | undefined {
    return this.seenFingerprint;
  }

  get connected(): boolean {
    return this.conn !== undefined;
  }

  protected error(operation: string, path: string | undefined, code: string, detail: string): TransportError {
    return new TransportError(operation, path, code, detail, this.protocol);
  }

  /**
   * Runs `fn` after every earlier operation has finished; `touch()` restarts its inactivity timeout, and
   * `touch('reader')` says the operation now waits on its own reader, not the server: the reader timeout
   * (readerTimeoutMs, READER_STALLED) runs instead until the next `touch()`. `signal` is aborted, with the error,
   * when the operation fails by a timeout or the end of the connection, so that `fn` can end what it handed out.
   * `retry`: the operation is safe to repeat, so a connection found dead when it runs is replaced and the
   * operation tried once more (a connection can die unnoticed while idle).
   */
  protected run<T>(operation: string, remotePath: string | undefined, fn: (conn: C, touch: Touch, signal: AbortSignal) => Promise<T>, retry = false): Promise<T> {
    const task = this.queue.then(async () => {
      try {
        return await this.execute(operation, remotePath, fn);
      } catch (err) {
        if (!retry || !FOUND_DEAD.has((err as TransportError).code) || this.closed) throw err;
        return this.execute(operation, remotePath, fn);
      }
    });
    this.queue = task.catch(() => undefined);
    return task;
  }

  private async execute<T>(operation: string, remotePath: string | undefined, fn: (conn: C, touch: Touch, signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.closed) throw this.error(operation, remotePath, 'CLOSED', 'the connection was closed');
    const conn = await this.connect();
    const timeoutMs = this.settings.operationTimeoutMs!;
    const readerTimeoutMs = this.settings.readerTimeoutMs ?? 600_000;
    const abort = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: TransportError) => {
        settled = true;
        clearTimeout(timer);
        abort.abort(err);
        reject(err);
      };
      const arm: Touch = (waitingOn = 'server') => {
        if (settled) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          const err =
            waitingOn === 'reader'
              ? this.error(operation, remotePath, 'READER_STALLED', `the flow read nothing of the file within ${readerTimeoutMs} ms`)
              : this.error(operation, remotePath, 'ETIMEDOUT', `no answer from the server within ${timeoutMs} ms`);
          settled = true; // before the drop, which would report the end of the connection instead
          this.drop();
          fail(err);
        }, waitingOn === 'reader' ? readerTimeoutMs : timeoutMs);
      };
      arm();
      // A library may never call back once the connection is gone: the end of the connection fails the
      // operation at once, so that it can be retried.
      this.abortRunning = (code, message) => {
        if (settled) return;
        fail(this.error(operation, remotePath, code, message));
      };
      fn(conn, arm, abort.signal).then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (err) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const e = this.safe(this.toError(err, operation, remotePath));
          if (CONNECTION_LOST.has(e.code) || !this.conn || !this.isOpen(conn)) this.drop();
          // A missing file is an answer, not a fault of the connection (the poller asks for folders that may not exist).
          if (e.code !== 'NO_SUCH_FILE') this.emit('status', { state: 'error', code: e.code } satisfies SessionStatus);
          reject(e);
        },
      );
    });
  }

  /** Removes any secret from an error message (defence in depth: the libraries' messages should carry none). */
  protected safe(err: TransportError): TransportError {
    let message = err.message;
    for (const s of this.secrets) message = message.split(s).join('***');
    if (message !== err.message) return Object.assign(new TransportError(err.operation, err.path, err.code, '', err.protocol), { message });
    return err;
  }

  private async connect(): Promise<C> {
    if (this.conn && !this.isOpen(this.conn)) this.drop();
    if (this.conn) return this.conn;
    let delay = this.settings.backoffInitialMs!;
    let last: TransportError | undefined;
    for (let attempt = 0; attempt <= this.settings.retries!; attempt++) {
      if (this.closed) throw this.error('connect', undefined, 'CLOSED', 'the connection was closed');
      try {
        this.emit('status', { state: 'connecting' } satisfies SessionStatus);
        const conn = await this.connectOnce();
        if (this.closed) {
          await this.endConnection(conn);
          throw this.error('connect', undefined, 'CLOSED', 'the connection was closed');
        }
        this.conn = conn;
        await this.connected_(conn);
        this.emit('status', { state: 'connected', fingerprint: this.seenFingerprint } satisfies SessionStatus);
        return conn;
      } catch (err) {
        last = this.safe(this.toError(err, 'connect', undefined));
        this.emit('status', { state: 'error', code: last.code } satisfies SessionStatus);
        if (NOT_RETRYABLE.has(last.code)) throw last;
        if (attempt < this.settings.retries!) await sleep(delay);
        delay = Math.min(delay * 2, this.settings.backoffMaxMs!);
      }
    }
    throw last!;
  }

  /** Connects (and logs in) now, if not connected yet; throws the connection's TransportError. */
  ready(): Promise<void> {
    return this.run('connect', undefined, async () => undefined);
  }

  /** Whether the library still holds `conn` open (a library may close it on an error without telling). */
  protected isOpen(_conn: C): boolean {
    return true;
  }

  /** Called once a new connection is up, before the first operation on it: removes what failed uploads left. */
  protected async connected_(conn: C): Promise<void> {
    for (const full of [...this.leftovers]) if (await this.removeQuietly(conn, full)) this.leftovers.delete(full);
  }

  /**
   * After a failed upload: removes its file now, or — when the connection is gone — on a new connection made
   * right after this operation, so that part of a file never waits on the hub for the next operation.
   */
  protected async removeLeftover(conn: C, full: string): Promise<void> {
    this.leftovers.add(full);
    if (this.isOpen(conn) && (await this.removeQuietly(conn, full))) {
      this.leftovers.delete(full);
      return;
    }
    if (!this.closed) void this.ready().catch(() => undefined); // queued behind this operation
  }

  /** The protocol reports that `conn` ended: the operation running on it fails now, the next one reconnects. */
  protected lost(conn: C): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    void this.endConnection(conn);
    this.emit('status', { state: 'disconnected' } satisfies SessionStatus);
    this.abortRunning?.('CONNECTION_LOST', 'the connection was lost');
  }

  drop(): void {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) {
      void this.endConnection(conn);
      this.emit('status', { state: 'disconnected' } satisfies SessionStatus);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const conn = this.conn;
    this.conn = undefined;
    this.abortRunning?.('CLOSED', 'the connection was closed');
    if (conn) await this.endConnection(conn);
    this.removeAllListeners();
  }

  /** A path relative to the root as the server's path; throws RemotePathError for one that would leave the root. */
  resolve(p: string, what?: string): string {
    return resolveRemote(this.settings.root!, p, what);
  }

  /**
   * What a put asks for, checked before it is queued: the target's folder and name (a plain name, and so its done
   * marker), the exists policy, the upload mode and, for 'temp-folder', the temporary folder. Throws RemotePathError.
   */
  protected putPlan(p: string, options: PutOptions): { ifExists: IfExists; dir: string; name: string; target: string; mode: UploadMode; tempDir: string } {
    const dir = path.posix.dirname(p);
    const name = checkName(path.posix.basename(p));
    if (options.doneMarker !== undefined) checkName(name + options.doneMarker, 'done marker');
    const mode = options.mode ?? 'temp-name';
    const tempDir = mode === 'temp-folder' ? checkRelative(options.tempFolder || '.esr-upload', 'temporary folder') : dir;
    return { ifExists: options.ifExists ?? 'fail', dir, name, target: this.resolve(p), mode, tempDir };
  }

  /** The whole remote file in memory. */
  getBuffer(p: string): Promise<Buffer> {
    return this.get(p, async (stream) => {
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    });
  }

  /** Emits a 'transferring' status at most every 250 ms. */
  protected progress(operation: string, bytes: number): void {
    const now = Date.now();
    if (now - this.lastProgress < 250) return;
    this.lastProgress = now;
    this.emit('status', { state: 'transferring', operation, bytes } satisfies SessionStatus);
  }
}
