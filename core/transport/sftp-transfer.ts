/**
 * Streaming file transfer over one SFTP channel with several requests in flight, as OpenSSH's own client does.
 * Requests go out strictly in file order and data is delivered in order; unlike ssh2's fastGet/fastPut there are
 * no parallel channels and no out-of-order writes. Reads ask for 256 KiB at a time (ssh2 splits it into packets
 * the server accepts; fewer, larger requests cost less JavaScript per byte), writes send pieces that each fit one
 * SSH packet.
 * Backpressure: a download stops asking for data while its reader is full; an upload holds the writer's
 * callback while the window is full.
 */
import { Readable, Writable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';

export const CHUNK = 256 * 1024;
export const WINDOW = 8;
/** 32 KiB less the SFTP write header, so that each write request fits one SSH channel packet (32 KiB). */
export const WRITE_CHUNK = 32 * 1024 - 64;
export const WRITE_WINDOW = 64;

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
 * while being read) fails the stream with FILE_CHANGED rather than ending it early.
 */
export class SftpReadStream extends Readable {
  private next = 0;
  private pushed = 0;
  private inFlight = 0;
  private closing = false;
  private readonly done = new Map<number, Buffer>();

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Handle,
    private readonly size: number,
    private readonly onProgress: (bytes: number) => void = () => undefined,
  ) {
    super({ highWaterMark: CHUNK * WINDOW });
  }

  override _read(): void {
    this.pump();
  }

  /**
   * Pushes every finished range in file order (a push is what lets Node call _read again), and keeps WINDOW
   * requests in flight as long as what is buffered (in flight, finished, and the reader's queue) stays under
   * twice the high-water mark. Reads go on while the consumer catches up, which keeps a download at line speed.
   */
  private pump(): void {
    if (this.destroyed || this.closing) return;
    const limit = this.readableHighWaterMark;
    for (;;) {
      const chunk = this.done.get(this.pushed);
      if (!chunk) break;
      this.done.delete(this.pushed);
      this.pushed += chunk.length;
      this.onProgress(this.pushed);
      this.push(chunk);
    }
    if (this.pushed >= this.size) return this.finish();
    while (this.inFlight < WINDOW && this.next < this.size && (this.done.size + this.inFlight) * CHUNK + this.readableLength < 2 * limit) {
      const position = this.next;
      const length = Math.min(CHUNK, this.size - position);
      this.next += length;
      this.inFlight++;
      this.readRange(position, length, [], (err, data) => {
        this.inFlight--;
        if (this.destroyed) return;
        if (err) return void this.destroy(err);
        this.done.set(position, data!);
        this.pump();
      });
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
      () => this.push(null),
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

/** Writes a remote file through an open handle with up to WINDOW writes in flight. */
export class SftpWriteStream extends Writable {
  private offset = 0;
  private inFlight = 0;
  private failed?: Error;
  private waiting?: () => void;
  private drained?: () => void;
  private handleClosed = false;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Handle,
    private readonly onProgress: (bytes: number) => void = () => undefined,
  ) {
    super({ highWaterMark: WRITE_CHUNK * 4 });
  }

  private acked = 0;

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failed) return callback(this.failed);
    for (let start = 0; start < chunk.length; start += WRITE_CHUNK) this.send(chunk.subarray(start, Math.min(chunk.length, start + WRITE_CHUNK)));
    if (this.inFlight < WRITE_WINDOW) callback();
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
      if (this.waiting && (this.inFlight < WRITE_WINDOW / 2 || this.failed)) {
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
