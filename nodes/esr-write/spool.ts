/**
 * Where esr-write keeps the body of a file while its sequence is still arriving, and how a finished file leaves.
 *
 * Why a temporary file: the header of a named file holds the file name, and the name holds a sequence number that
 * may be taken only once the whole file is known to be sound (a file that cannot be written must not use up a
 * number). So each record is encoded once, as it arrives, and appended to one open write stream on a temporary
 * file; at the end the header (now with its name) goes in front and the trailer (now with its count) behind, by
 * streaming header + body + trailer to where the file goes. Memory holds one write buffer, never the file: writing
 * 1 GB needs no 1 GB of heap, and there is one file operation per 64 KB rather than one per message.
 *
 * The temporary files live in `esr-write-tmp` in the Node-RED user directory, named with the process id and a token
 * of this process; they are removed when the file is made or fails, when its sequence is reset, when the node is
 * closed (redeploy, stop), when a stream handed out ends or is destroyed, and, for a process that was killed, by
 * the next process at its start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { alive } from '../../core/codec/spill';

/** This process's token: a later process with the same pid (a container restarted) still tells its files apart. */
const RUN = randomBytes(6).toString('hex');
const SUFFIX = '.body';
const cleaned = new Set<string>();

/**
 * Removes the temporary files under `userDir` of processes that are gone (another live runtime sharing the user
 * directory keeps its own), once per process: an esr-write node calls it when it starts, so that a killed process's
 * files do not wait for the next file to be written.
 */
export function removeStaleSpools(userDir: string): void {
  const dir = path.join(userDir, 'esr-write-tmp');
  if (cleaned.has(dir)) return;
  cleaned.add(dir);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return; // no folder yet
  }
  for (const name of names) {
    const m = /^(\d+)-([0-9a-f]+)-/.exec(name);
    if (!m || !name.endsWith(SUFFIX) || m[2] === RUN) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || !alive(pid)) removeQuietly(path.join(dir, name));
  }
}

/** The folder of temporary files under `userDir`, made if missing (stale files removed first). */
export function spoolFolder(userDir: string): string {
  removeStaleSpools(userDir);
  const dir = path.join(userDir, 'esr-write-tmp');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Where the encoded body of one file goes as its records arrive: memory (Buffer output) or a temporary file. */
export interface Body {
  /** Appends bytes; a promise when the caller should wait before taking more (the disk is behind), else undefined. */
  write(bytes: Buffer): Promise<void> | undefined;
  /** Resolves once every byte is written (and the temporary file closed); rejects with the write error. */
  close(): Promise<void>;
  /** Drops the body: a temporary file is removed (also while still being opened or written); never rejects. */
  discard(): Promise<void>;
}

/** The body in memory, as chunks of encoded bytes (the Buffer output, bounded by records). */
export class MemoryBody implements Body {
  readonly chunks: Buffer[] = [];
  write(bytes: Buffer): undefined {
    if (bytes.length) this.chunks.push(bytes);
    return undefined;
  }
  async close(): Promise<void> {}
  async discard(): Promise<void> {
    this.chunks.length = 0;
  }
}

/** The body on a temporary file in `dir`; `owner` (the node's id) goes in the name, for whoever looks at the folder. */
export class SpooledBody implements Body {
  readonly file: string;
  private readonly out: fs.WriteStream;
  private error?: Error;
  private closing?: Promise<void>;

  constructor(dir: string, owner: string) {
    this.file = path.join(dir, `${process.pid}-${RUN}-${owner.replace(/[^A-Za-z0-9_.]/g, '_')}-${randomBytes(4).toString('hex')}${SUFFIX}`);
    this.out = fs.createWriteStream(this.file, { flags: 'wx', highWaterMark: 1024 * 1024 });
    this.out.on('error', (err) => (this.error ??= err));
  }

  write(bytes: Buffer): Promise<void> | undefined {
    if (this.error) return Promise.reject(this.error);
    if (!bytes.length || this.out.write(bytes)) return undefined;
    return new Promise<void>((resolve, reject) => {
      const settle = () => {
        this.out.off('drain', settle);
        this.out.off('error', settle);
        this.out.off('close', settle);
        if (this.error) reject(this.error);
        else resolve();
      };
      this.out.on('drain', settle);
      this.out.on('error', settle);
      this.out.on('close', settle);
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.out.end(() => (this.error ? reject(this.error) : resolve()));
      this.out.once('error', reject);
    });
    return this.closing;
  }

  discard(): Promise<void> {
    // Removed once closed: a file still being opened would be made after a removal that came first.
    return new Promise<void>((resolve) => {
      const remove = () => {
        removeQuietly(this.file);
        resolve();
      };
      if (this.out.closed) return remove();
      this.out.once('close', remove);
      this.out.destroy();
    });
  }
}

export function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // an open file on Windows: the next process's start removes it
  }
}

/**
 * The finished file as one stream: `head`, the temporary file's bytes, `tail`. The temporary file is removed when
 * the stream closes: read to its end, destroyed (a failed upload), or never read and closed by `onClose`'s owner.
 */
export function finishedStream(head: Buffer, file: string, tail: Buffer): Readable {
  async function* parts(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 256 * 1024 })) yield chunk as Buffer;
    if (tail.length) yield tail;
  }
  const stream = Readable.from(parts(), { objectMode: false });
  stream.once('close', () => removeQuietly(file));
  return stream;
}

/**
 * Writes `head` + the temporary file + `tail` to `target` in place: a hidden `.part` file in the same folder, synced
 * to disk, then linked to the final name (never replacing a file of that name: EEXIST) and the part removed, so
 * nobody ever sees half a file under the final name. The temporary body file is left to the caller.
 */
export async function writeInPlace(head: Buffer, file: string, tail: Buffer, target: string): Promise<void> {
  const dir = path.dirname(target);
  const part = path.join(dir, `.${path.basename(target)}.${randomBytes(4).toString('hex')}.part`);
  try {
    const out = await fs.promises.open(part, 'wx');
    try {
      const all = async (bytes: Buffer) => {
        for (let at = 0; at < bytes.length; ) at += (await out.write(bytes, at)).bytesWritten;
      };
      await all(head);
      for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) await all(chunk as Buffer);
      await all(tail);
      await out.sync();
    } finally {
      await out.close();
    }
    try {
      await fs.promises.link(part, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || !['EPERM', 'ENOTSUP', 'ENOSYS', 'EXDEV'].includes(code ?? '')) throw err;
      // A file system without hard links: a rename, which replaces — so look first.
      if (fs.existsSync(target)) throw Object.assign(new Error('the target exists'), { code: 'EEXIST' });
      await fs.promises.rename(part, target);
    }
  } finally {
    removeQuietly(part);
  }
  // The new name on disk too (not possible on Windows: opening a folder fails, and there it is not needed).
  const folder = await fs.promises.open(dir, 'r').catch(() => undefined);
  if (folder) await folder.sync().catch(() => undefined).finally(() => folder.close());
}
