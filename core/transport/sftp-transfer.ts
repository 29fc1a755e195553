/**
 * Streaming file transfer over one SFTP channel with several requests in flight, as OpenSSH's own client does.
 * Requests go out strictly in file order and data is delivered in order; unlike ssh2's fastGet/fastPut there are
 * no parallel channels and no out-of-order writes. Reads ask for 256 KiB at a time (ssh2 splits it into packets
 * the server accepts; fewer, larger requests cost less JavaScript per byte), writes send the largest pieces the
 * server takes (255 KiB from OpenSSH, as its own client does), with enough of them in flight that the SSH channel's
 * window, not the wait for each write's answer, is what paces an upload.
 * Backpressure: a download stops asking for data while its reader is full; an upload holds the writer's
 * callback while the window is full.
 */
import { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';

export const CHUNK = 256 * 1024;
export const WINDOW = 8;
/**
 * The largest write request: 256 KiB less 1 KiB, OpenSSH's sftp-server's max-write-length (limits@openssh.com),
 * which its own client uses. A server that gives a smaller limit, or none (ssh2 then assumes 34000 bytes less its
 * 2 KiB allowance for headers), gets pieces of its size: a request over ssh2's limit would be split by ssh2 into
 * two sent one after the other.
 */
export const WRITE_CHUNK = 256 * 1024 - 1024;
/** Pieces for a server whose limit ssh2 does not tell (ssh2's own assumption for servers that are not OpenSSH). */
export const WRITE_CHUNK_UNKNOWN = 34000 - 2048;
/** At most this many write requests in flight, and at most WRITE_BYTES in them (resumed below half). */
export const WRITE_WINDOW = 64;
/**
 * 8 MiB: four times OpenSSH's 2 MiB channel window, so the window stays full while the server answers writes (with
 * 2 MiB, as with 64 pieces of 32 KiB, an upload waited on answers with a third of the window unused).
 */
export const WRITE_BYTES = 8 * 1024 * 1024;

/** The largest write piece ssh2 sends as one request on this channel (what the server said, else its guess). */
export function writePieceSize(sftp: SFTPWrapper): number {
  const max = (sftp as unknown as { _maxWriteLen?: unknown })._maxWriteLen;
  return typeof max === 'number' && Number.isInteger(max) && max > 0 ? Math.min(max, WRITE_CHUNK) : WRITE_CHUNK_UNKNOWN;
}

const AUTO_CORK = Symbol('esr.autoCork');

/**
 * Gathers what ssh2 writes to the connection under `sftp` in one tick into one writev, from the first transfer on
 * (once per connection; nothing where the socket cannot be found). ssh2 without its native crypto binding (built for
 * one Node ABI, it is not loaded under another, as under the Node this package runs its tests and benchmark with)
 * writes each SSH packet as three socket writes (length, ciphertext, MAC tag), which with Nagle's algorithm off (see
 * sftp.ts) leave as three TCP segments, two of them tiny: an upload of 120 MB made ~12,000 write calls, corked ~300,
 * and took 15–20% less CPU. Corking until the next tick adds no delay: the writes leave before the event loop
 * waits for I/O.
 */
export function autoCork(sftp: SFTPWrapper): void {
  const sock = (sftp as unknown as { _client?: { _sock?: unknown } })._client?._sock;
  if (!(sock instanceof Socket)) return;
  const s = sock as Socket & { [AUTO_CORK]?: true };
  if (s[AUTO_CORK]) return;
  s[AUTO_CORK] = true;
  const write = s.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    s.uncork();
  };
  s.write = function (this: Socket, ...args: unknown[]): boolean {
    if (!corked && !s.destroyed) {
      corked = true;
      s.cork();
      process.nextTick(uncork);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
}

type Handle = Buffer;

function call<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

export function openFile(sftp: SFTPWrapper, remotePath: string, flags: 'r' | 'w' | 'wx'): Promise<Handle> {
  return call<Handle>((cb) => sftp.open(remotePath, flags, cb));
}

export function closeFile(sftp: SFTPWrapper, handle: Handle): Promise<void> {
  return call<void>((cb) => sftp.close(handle, cb));
}

/**
 * Reads `size` bytes of a remote file from an open handle. A file that turns out shorter than `size` (changed
 * while being read) fails the stream with FILE_CHANGED rather than ending it early. `onWait('server')` is called
 * whenever a request goes out to a reader that was full, `onWait('reader')` when the stream stops asking because its
 * reader is full (nothing in flight): the session's timeouts tell the server's silence from the reader's.
 */
export class SftpReadStream extends Readable {
  private next = 0;
  private pushed = 0;
  private inFlight = 0;
  private closing = false;
  private waitingOnReader = false;
  private readonly done = new Map<number, Buffer>();

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Handle,
    private readonly size: number,
    private readonly onProgress: (bytes: number) => void = () => undefined,
    private readonly onWait: (on: 'server' | 'reader') => void = () => undefined,
  ) {
    super({ highWaterMark: CHUNK * WINDOW });
    autoCork(sftp);
    // Nothing is asked of the server until the stream is first read.
    this.waitingOnReader = true;
    onWait('reader');
  }

  /**
   * Node calls _read once and then not again until something is pushed: every call must push or leave a request in
   * flight. Node also calls it while its buffer holds more than the high-water mark (read() in paused mode asks
   * before it takes what it returns; an unshifted chunk adds to the buffer), so the budget below cannot decide it.
   */
  override _read(): void {
    this.pump(true);
  }

  /**
   * Pushes every finished range in file order (a push is what lets Node call _read again), and keeps WINDOW
   * requests in flight as long as what is buffered (in flight, finished, and the reader's queue) stays under
   * twice the high-water mark. Reads go on while the consumer catches up, which keeps a download at line speed.
   * `wanted`: Node asked for data (_read); if nothing was pushed and nothing is in flight, one request goes out
   * whatever the budget says.
   */
  private pump(wanted = false): void {
    if (this.destroyed || this.closing) return;
    const limit = this.readableHighWaterMark;
    let pushedAny = false;
    for (;;) {
      const chunk = this.done.get(this.pushed);
      if (!chunk) break;
      this.done.delete(this.pushed);
      this.pushed += chunk.length;
      this.onProgress(this.pushed);
      this.push(chunk);
      pushedAny = true;
    }
    if (this.pushed >= this.size) return this.finish();
    const must = wanted && !pushedAny && this.inFlight === 0;
    while (this.inFlight < WINDOW && this.next < this.size && (must && this.inFlight === 0 || (this.done.size + this.inFlight) * CHUNK + this.readableLength < 2 * limit)) {
      const position = this.next;
      const length = Math.min(CHUNK, this.size - position);
      this.next += length;
      this.inFlight++;
      if (this.waitingOnReader) {
        this.waitingOnReader = false;
        this.onWait('server');
      }
      this.readRange(position, length, [], (err, data) => {
        this.inFlight--;
        if (this.destroyed) return;
        if (err) return void this.destroy(err);
        this.done.set(position, data!);
        this.pump();
      });
    }
    if (this.inFlight === 0 && !this.waitingOnReader) {
      this.waitingOnReader = true;
      this.onWait('reader');
    }
  }

  /** One range, re-asking for the rest when the server returns fewer bytes than asked (the protocol allows it). */
  private readRange(position: number, length: number, parts: Buffer[], cb: (err: Error | null, data?: Buffer) => void): void {
    const buf = Buffer.allocUnsafe(length);
    this.sftp.read(this.handle, buf, 0, length, position, (err, bytesRead) => {
      if (err && (err as { code?: number }).code !== 1) return cb(err);
      if (err || bytesRead === 0) {
        return cb(Object.assign(new Error('the file became shorter while it was read'), { code: 'FILE_CHANGED' }));
      }
      parts.push(buf.subarray(0, bytesRead));
      if (bytesRead < length) return this.readRange(position + bytesRead, length - bytesRead, parts, cb);
      cb(null, parts.length === 1 ? parts[0] : Buffer.concat(parts));
    });
  }

  private finish(): void {
    if (this.closing) return;
    this.closing = true;
    closeFile(this.sftp, this.handle).then(
      () => {
        this.push(null);
        this.onWait('reader'); // all of it is here: only the reader can keep the transfer from ending now
      },
      (err) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.closing) return callback(err);
    this.closing = true;
    closeFile(this.sftp, this.handle).then(
      () => callback(err),
      () => callback(err),
    );
  }
}

/**
 * Writes a remote file through an open handle in pieces of writePieceSize(), with up to WRITE_WINDOW of them and
 * WRITE_BYTES in flight.
 */
export class SftpWriteStream extends Writable {
  private offset = 0;
  private inFlight = 0;
  private failed?: Error;
  private waiting?: () => void;
  private drained?: () => void;
  private handleClosed = false;
  private readonly piece: number;
  /** Requests in flight at which the writer waits (resumed below half). */
  private readonly window: number;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Handle,
    private readonly onProgress: (bytes: number) => void = () => undefined,
  ) {
    const piece = writePieceSize(sftp);
    super({ highWaterMark: piece * 4 });
    this.piece = piece;
    this.window = Math.max(2, Math.min(WRITE_WINDOW, Math.floor(WRITE_BYTES / piece)));
    autoCork(sftp);
  }

  private acked = 0;

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failed) return callback(this.failed);
    for (let start = 0; start < chunk.length; start += this.piece) this.send(chunk.subarray(start, Math.min(chunk.length, start + this.piece)));
    if (this.inFlight < this.window) callback();
    else this.waiting = () => callback(this.failed);
  }

  private send(piece: Buffer): void {
    const position = this.offset;
    this.offset += piece.length;
    this.inFlight++;
    this.sftp.write(this.handle, piece, 0, piece.length, position, (err) => {
      this.inFlight--;
      if (err && !this.failed) this.failed = err;
      else if (!err) {
        this.acked += piece.length;
        this.onProgress(this.acked);
      }
      if (this.waiting && (this.inFlight < this.window / 2 || this.failed)) {
        const w = this.waiting;
        this.waiting = undefined;
        w();
      }
      if (this.inFlight === 0 && this.drained) this.drained();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    const finish = () => {
      if (this.failed) return callback(this.failed);
      this.handleClosed = true;
      closeFile(this.sftp, this.handle).then(() => callback(), callback);
    };
    if (this.inFlight === 0) finish();
    else this.drained = finish;
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.handleClosed) return callback(err);
    this.handleClosed = true;
    closeFile(this.sftp, this.handle).then(
      () => callback(err),
      () => callback(err),
    );
  }
}
