/**
 * The SFTP transport: ssh2-sftp-client for the connection (pinned host key, keepalive) and the SFTP channel it
 * opens for streaming transfers (see sftp-transfer.ts). The queue, timeouts and reconnects are Session's.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import SftpClient from 'ssh2-sftp-client';
import type { SFTPWrapper, Stats } from 'ssh2';
import { fingerprint, parsePins, PinError } from './host-key';
import { TransportError, toSftpError } from './errors';
import { closeFile, openFile, SftpReadStream, SftpWriteStream } from './sftp-transfer';
import { globToRegExp } from './glob';
import { holdErrors, Session, usable, withTimeout, type SessionSettings } from './session';
import { probeFolder } from './probe';
import type { FolderAccess, IfExists, PutOptions, PutResult, RemoteEntry, Transport } from './transport';

export interface SftpSettings extends SessionSettings {
  privateKey?: string;
  passphrase?: string;
  /** The server's host keys as `ssh-keygen -lf` prints them (SHA256:...), one per line. */
  hostFingerprint?: string;
  /** Connect without checking the host key. Insecure: only for tests against a throw-away server. */
  acceptAnyHostKey?: boolean;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Replace files atomically with posix-rename@openssh.com where the server offers it (default true). */
  usePosixRename?: boolean;
}

interface SftpConnection {
  client: SftpClient;
  sftp: SFTPWrapper;
}

export class SftpSession extends Session<SftpConnection, SftpSettings> implements Transport {
  private posixRename?: boolean;

  constructor(settings: SftpSettings) {
    super('sftp', settings, { port: 22, keepaliveIntervalMs: 10_000, keepaliveCountMax: 3 }, [settings.password, settings.passphrase]);
  }

  protected toError(err: unknown, operation: string, p?: string): TransportError {
    return toSftpError(err, operation, p);
  }

  protected async endConnection(conn: SftpConnection): Promise<void> {
    await endClient(conn.client);
  }

  protected removeQuietly(conn: SftpConnection, full: string): Promise<boolean> {
    return unlinkQuietly(conn.sftp, full);
  }

  protected async connectOnce(): Promise<SftpConnection> {
    const s = this.settings;
    let pins: string[];
    try {
      pins = parsePins(s.hostFingerprint);
    } catch (err) {
      throw this.error('connect', undefined, 'BAD_PIN', (err as PinError).message.replace(/ \[BAD_PIN\]$/, ''));
    }
    if (/^\s*PuTTY-User-Key-File-3:/.test(s.privateKey ?? '')) {
      throw this.error('connect', undefined, 'BAD_KEY', 'PuTTY key format v3 is not supported: convert it with `puttygen key.ppk -O private-openssh`');
    }
    const pin = pins.join(' or ');
    if (!pins.length && !s.acceptAnyHostKey) {
      // Still ask for the key (without logging in) so that the refusal can show what to pin.
      this.seenFingerprint = await probeFingerprint(s).catch(() => undefined);
      throw this.error('connect', undefined, 'HOST_KEY_NOT_PINNED', `no host key fingerprint is pinned${this.seenFingerprint ? `; the server presented ${this.seenFingerprint}` : ''}`);
    }
    let mismatch: string | undefined;
    const conn = {} as SftpConnection;
    const client = new SftpClient('esr', {
      error: () => this.lost(conn),
      end: () => this.lost(conn),
      close: () => this.lost(conn),
    });
    conn.client = client;
    // SFTP is request/response: without this, Nagle's algorithm and delayed ACKs add ~40 ms to every request.
    const raw = (client as unknown as { client: import('ssh2').Client }).client;
    raw.once('connect', () => raw.setNoDelay(true));
    try {
      conn.sftp = (await withTimeout(
        client.connect({
          host: s.host,
          port: s.port,
          username: s.username,
          password: s.password || undefined,
          privateKey: s.privateKey || undefined,
          passphrase: s.passphrase || undefined,
          readyTimeout: s.connectTimeoutMs,
          keepaliveInterval: s.keepaliveIntervalMs,
          keepaliveCountMax: s.keepaliveCountMax,
          hostVerifier: (key: Buffer) => {
            this.seenFingerprint = fingerprint(key);
            if (s.acceptAnyHostKey) return true;
            if (pins.includes(this.seenFingerprint)) return true;
            mismatch = this.seenFingerprint;
            return false;
          },
        } as SftpClient.ConnectOptions),
        s.connectTimeoutMs! + 1000,
        () => this.error('connect', undefined, 'ETIMEDOUT', `no connection within ${s.connectTimeoutMs} ms`),
      )) as unknown as SFTPWrapper;
      this.posixRename = s.usePosixRename === false ? false : undefined;
      return conn;
    } catch (err) {
      void endClient(client);
      if (mismatch) {
        throw this.error('connect', undefined, 'HOST_KEY_MISMATCH', `the server presented host key ${mismatch}, not the pinned ${pin}`);
      }
      const message = (err as Error).message ?? '';
      if (/All configured authentication methods failed/i.test(message)) throw this.error('connect', undefined, 'AUTH_FAILED', 'authentication failed');
      if (/passphrase|privateKey|Cannot parse/i.test(message)) throw this.error('connect', undefined, 'BAD_KEY', 'the private key cannot be used (wrong passphrase or not a private key)');
      throw err;
    }
  }

  // ---- operations -------------------------------------------------------------------------------------------

  /** Files (and folders) in a folder, optionally filtered by a glob on the name. */
  async list(dir: string, glob?: string): Promise<RemoteEntry[]> {
    const full = this.resolve(dir, 'folder');
    const match = glob ? globToRegExp(glob) : undefined;
    return this.run('list', full, async ({ sftp }) => {
      const items = await new Promise<{ filename: string; attrs: Stats }[]>((resolve, reject) =>
        sftp.readdir(full, (err, list) => (err ? reject(err) : resolve(list))),
      );
      const out: RemoteEntry[] = [];
      for (const it of items) {
        if (it.filename === '.' || it.filename === '..') continue;
        if (match && !match.test(it.filename)) continue;
        out.push({
          name: it.filename,
          path: path.posix.join(dir === '.' ? '' : dir, it.filename),
          size: it.attrs.size,
          mtime: it.attrs.mtime * 1000,
          isFile: it.attrs.isFile(),
          isDirectory: it.attrs.isDirectory(),
        });
      }
      return out;
    }, true);
  }

  /** The entry for a path, or undefined when it does not exist. */
  async stat(p: string): Promise<RemoteEntry | undefined> {
    const full = this.resolve(p);
    return this.run('stat', full, ({ sftp }) => statOrUndefined(sftp, full, p), true);
  }

  /**
   * Streams a remote file to `consume`, which must read the stream to its end (or fail). The connection is
   * held for this transfer until `consume` settles.
   */
  async get<T>(p: string, consume: (stream: Readable, size: number) => Promise<T>): Promise<T> {
    const full = this.resolve(p);
    return this.run('get', full, async ({ sftp }, touch, signal) => {
      const handle = await openFile(sftp, full, 'r');
      const attrs = await new Promise<Stats>((resolve, reject) => sftp.fstat(handle, (err, st) => (err ? reject(err) : resolve(st))));
      const stream = new SftpReadStream(
        sftp,
        handle,
        attrs.size,
        (bytes) => {
          touch();
          this.progress('get', bytes);
        },
        touch,
      );
      // A timeout (or the end of the connection) ends the stream with its error: its reader must not wait on.
      signal.addEventListener('abort', () => stream.destroy(signal.reason as Error), { once: true });
      try {
        return await consume(stream, attrs.size);
      } finally {
        if (!stream.destroyed && !stream.readableEnded) stream.destroy();
      }
    });
  }


  /**
   * Uploads a file (see UploadMode): by default atomically, writing `.<name>.<random>.part` in the target folder and
   * renaming it into place, so nobody ever sees half a file under the final name. `ifExists` decides what happens
   * when the target exists. None of the modes needs `stat`.
   */
  async put(p: string, source: Buffer | string | Readable, options: PutOptions = {}): Promise<PutResult> {
    holdErrors(source);
    const { ifExists, dir, name, target, mode, tempDir } = this.putPlan(p, options);
    if (mode === 'direct') return this.putDirect(p, source, options);
    const temp = this.resolve(path.posix.join(tempDir, `.${name}.${randomBytes(4).toString('hex')}.part`));
    return this.run('put', target, async (conn, touch) => {
      const { sftp } = conn;
      if (options.mkdirs && dir !== '.') await mkdirp(sftp, this.settings.root!, dir);
      if (tempDir !== dir && tempDir !== '.') await mkdirp(sftp, this.settings.root!, tempDir);
      // A write-only upload account may be refused `stat`: then the rename into place decides (see moveIntoPlace).
      const found = await statIfAllowed(sftp, target, p);
      const existing = found === 'refused' ? undefined : found;
      if (existing && ifExists === 'skip') {
        if (source instanceof Readable) source.resume();
        return { path: p, bytes: 0, skipped: true };
      }
      if (existing && ifExists === 'fail') throw new TransportError('put', target, 'EEXIST', 'the target exists');
      let bytes = 0;
      try {
        // Until it is renamed or removed, a reconnect removes it (a failed upload may never get to its catch).
        this.leftovers.add(temp);
        const handle = await openFile(sftp, temp, 'wx');
        const out = new SftpWriteStream(sftp, handle, (n) => {
          bytes = n;
          touch();
          this.progress('put', n);
        });
        const input = source instanceof Readable ? usable(source) : Readable.from([typeof source === 'string' ? Buffer.from(source) : source]);
        await pipeline(input, out);
        const finalRel = await this.moveIntoPlace(sftp, temp, p, ifExists);
        const left = await statIfAllowed(sftp, temp, temp);
        if (left === undefined || left === 'refused') this.leftovers.delete(temp); // renamed away (or, unasked, taken as such)
        if (options.doneMarker) await this.putMarker(sftp, finalRel + options.doneMarker);
        return { path: finalRel, bytes, skipped: false };
      } catch (err) {
        // Over a dead connection the temporary file cannot be removed now: it is removed after reconnecting.
        await this.removeLeftover(conn, temp);
        throw err;
      }
    });
  }

  /** Writes the file under its final name (no rename); exclusive create unless overwriting, so no stat is needed. */
  private putDirect(p: string, source: Buffer | string | Readable, options: PutOptions): Promise<PutResult> {
    const ifExists = options.ifExists ?? 'fail';
    const dir = path.posix.dirname(p);
    const ext = path.posix.extname(p);
    const candidates = ifExists === 'suffix' ? Array.from({ length: 1000 }, (_, n) => (n === 0 ? p : `${p.slice(0, p.length - ext.length)}_${n}${ext}`)) : [p];
    return this.run('put', this.resolve(p), async (conn, touch) => {
      const { sftp } = conn;
      if (options.mkdirs && dir !== '.') await mkdirp(sftp, this.settings.root!, dir);
      for (const rel of candidates) {
        const full = this.resolve(rel);
        let handle: Buffer;
        try {
          handle = await openFile(sftp, full, ifExists === 'overwrite' ? 'w' : 'wx');
        } catch (err) {
          if (!(await this.targetExists(sftp, err, full, rel))) throw err;
          if (ifExists === 'suffix') continue;
          if (source instanceof Readable) source.resume();
          if (ifExists === 'skip') return { path: rel, bytes: 0, skipped: true };
          throw new TransportError('put', full, 'EEXIST', 'the target exists');
        }
        let bytes = 0;
        try {
          const out = new SftpWriteStream(sftp, handle, (n) => {
            bytes = n;
            touch();
            this.progress('put', n);
          });
          await pipeline(source instanceof Readable ? usable(source) : Readable.from([typeof source === 'string' ? Buffer.from(source) : source]), out);
        } catch (err) {
          // Never leave part of a file under its final name; over a dead connection it goes at the next reconnect.
          await this.removeLeftover(conn, full);
          throw err;
        }
        if (options.doneMarker) await this.putMarker(sftp, rel + options.doneMarker);
        return { path: rel, bytes, skipped: false };
      }
      throw new TransportError('put', this.resolve(p), 'EEXIST', 'no free suffix');
    });
  }

  /** An empty done-marker file, put after the file it marks is whole and in place. */
  private async putMarker(sftp: SFTPWrapper, rel: string): Promise<void> {
    const handle = await openFile(sftp, this.resolve(rel), 'w');
    await closeFile(sftp, handle);
  }

  private async moveIntoPlace(sftp: SFTPWrapper, temp: string, rel: string, ifExists: IfExists): Promise<string> {
    const target = this.resolve(rel);
    if (ifExists === 'overwrite') {
      await this.replace(sftp, temp, target);
      return rel;
    }
    if (ifExists === 'suffix') {
      const ext = path.posix.extname(rel);
      const base = rel.slice(0, rel.length - ext.length);
      for (let n = 0; n < 1000; n++) {
        const candidate = n === 0 ? rel : `${base}_${n}${ext}`;
        try {
          await renameNoReplace(sftp, temp, this.resolve(candidate));
          return candidate;
        } catch (err) {
          if (!(await this.targetExists(sftp, err, this.resolve(candidate), candidate))) throw err;
        }
      }
      throw new TransportError('put', target, 'EEXIST', 'no free suffix');
    }
    // 'fail' and 'skip': a plain SFTP rename never replaces an existing file, so a file that appeared meanwhile is kept.
    try {
      await renameNoReplace(sftp, temp, target);
    } catch (err) {
      if (await this.targetExists(sftp, err, target, rel)) {
        if (ifExists === 'skip') {
          await unlinkQuietly(sftp, temp); // if that fails, the temporary file stays listed for the next reconnect
          return rel;
        }
        throw new TransportError('put', target, 'EEXIST', 'the target exists');
      }
      throw err;
    }
    return rel;
  }

  /**
   * After a rename into place failed: whether its target exists. Asked with `stat` where the server allows it;
   * where it refuses `stat`, the rename's own answer decides — a plain SFTP rename fails with FAILURE onto an
   * existing file, and with PERMISSION_DENIED or another code for anything else.
   */
  private async targetExists(sftp: SFTPWrapper, renameErr: unknown, full: string, rel: string): Promise<boolean> {
    const found = await statIfAllowed(sftp, full, rel);
    if (found !== 'refused') return found !== undefined;
    return (renameErr as { code?: number }).code === 4;
  }

  /** Atomic replace with posix-rename@openssh.com where the server has it; otherwise delete, then rename. */
  private async replace(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
    if (this.posixRename !== false) {
      try {
        await new Promise<void>((resolve, reject) => sftp.ext_openssh_rename(from, to, (err) => (err ? reject(err) : resolve())));
        this.posixRename = true;
        return;
      } catch (err) {
        const unsupported = /not supported|Server does not support/i.test((err as Error).message ?? '') || (err as { code?: number }).code === 8;
        if (!unsupported) throw err;
        this.posixRename = false;
      }
    }
    try {
      await renameNoReplace(sftp, from, to);
    } catch (err) {
      if (!(await statOrUndefined(sftp, to, to))) throw err;
      await new Promise<void>((resolve, reject) => sftp.unlink(to, (e) => (e ? reject(e) : resolve())));
      await renameNoReplace(sftp, from, to);
    }
  }

  /** Moves or renames a remote file. */
  async rename(from: string, to: string, options: { overwrite?: boolean; mkdirs?: boolean } = {}): Promise<void> {
    const src = this.resolve(from, 'source path');
    const dst = this.resolve(to, 'target path');
    return this.run('rename', src, async ({ sftp }) => {
      const dir = path.posix.dirname(to);
      if (options.mkdirs && dir !== '.') await mkdirp(sftp, this.settings.root!, dir);
      if (options.overwrite) await this.replace(sftp, src, dst);
      else {
        try {
          await renameNoReplace(sftp, src, dst);
        } catch (err) {
          // A plain SFTP rename onto an existing file fails with FAILURE, which says nothing more.
          if ((err as { code?: number }).code === 4 && (await this.targetExists(sftp, err, dst, to))) throw new TransportError('rename', src, 'EEXIST', 'the target exists');
          throw err;
        }
      }
    }); // not repeated on a lost connection: the rename may have happened (callers check, e.g. the poller)
  }

  async delete(p: string): Promise<void> {
    const full = this.resolve(p);
    return this.run('delete', full, ({ sftp }) => new Promise<void>((resolve, reject) => sftp.unlink(full, (err) => (err ? reject(err) : resolve()))));
  }

  /** Creates a folder and its parents. */
  async mkdir(p: string): Promise<void> {
    return this.run('mkdir', this.resolve(p, 'folder'), ({ sftp }) => mkdirp(sftp, this.settings.root!, p), true);
  }
  /** Runs `fn` on the SFTP channel in the queue, for requests this class does not send (tests, diagnostics). */
  withChannel<T>(operation: string, fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    return this.run(operation, undefined, ({ sftp }) => fn(sftp));
  }

  probeFolder(folder: string, tryWrites = false): Promise<FolderAccess> {
    return probeFolder(this, folder, tryWrites);
  }


}

function statOrUndefined(sftp: SFTPWrapper, full: string, rel: string): Promise<RemoteEntry | undefined> {
  return new Promise((resolve, reject) =>
    sftp.stat(full, (err, st) => {
      if (err) return (err as { code?: number }).code === 2 ? resolve(undefined) : reject(err);
      resolve({ name: path.posix.basename(rel), path: rel, size: st.size, mtime: st.mtime * 1000, isFile: st.isFile(), isDirectory: st.isDirectory() });
    }),
  );
}

/** statOrUndefined, or 'refused' where the server does not let this account `stat` (PERMISSION_DENIED, unsupported). */
async function statIfAllowed(sftp: SFTPWrapper, full: string, rel: string): Promise<RemoteEntry | undefined | 'refused'> {
  try {
    return await statOrUndefined(sftp, full, rel);
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 3 || code === 8) return 'refused';
    throw err;
  }
}

function renameNoReplace(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => sftp.rename(from, to, (err) => (err ? reject(err) : resolve())));
}

/** True when the file is gone afterwards (removed now, or not there). */
function unlinkQuietly(sftp: SFTPWrapper, full: string): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    try {
      sftp.unlink(full, (err) => {
        clearTimeout(timer);
        resolve(!err || (err as { code?: number }).code === 2);
      });
    } catch {
      clearTimeout(timer);
      resolve(false);
    }
  });
}

async function mkdirp(sftp: SFTPWrapper, root: string, rel: string): Promise<void> {
  let current = root || '.';
  for (const part of rel.split('/').filter((s) => s && s !== '.')) {
    current = path.posix.join(current, part);
    const exists = await statIfAllowed(sftp, current, part);
    if (exists !== 'refused' && exists?.isDirectory) continue;
    // Where `stat` is refused, a folder that is there may also answer PERMISSION_DENIED: the write that follows tells.
    const ignored = exists === 'refused' ? [3, 4] : [4];
    await new Promise<void>((resolve, reject) =>
      sftp.mkdir(current, (err) => (err && !ignored.includes((err as { code?: number }).code ?? 0) ? reject(err) : resolve())),
    );
  }
}


/** ssh2-sftp-client's end() waits for 'close', which may never come on a dead socket: give it 2 s, then destroy. */
async function endClient(client: SftpClient): Promise<void> {
  const raw = (client as unknown as { client: import('ssh2').Client }).client;
  try {
    await withTimeout(client.end(), 2000, () => new Error('end timed out'));
  } catch {
    // fall through to destroy
  }
  try {
    raw.destroy();
    // ssh2 destroys its socket only while it is writable: after end() it is half-closed, and a server that never
    // closes its side would hold it open for good. Destroyed here, whatever its state.
    (raw as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
  } catch {
    // already gone
  }
  raw.removeAllListeners();
  raw.on('error', () => undefined); // a late socket error after destroy must not crash the process
}

/** Connects only far enough to see the server's host key, and never logs in. */
export async function probeFingerprint(settings: Pick<SftpSettings, 'host' | 'port' | 'connectTimeoutMs'>): Promise<string> {
  const { Client } = await import('ssh2');
  return new Promise((resolve, reject) => {
    const client = new Client();
    let seen: string | undefined;
    const finish = () => {
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.destroy();
      if (seen) resolve(seen);
      else reject(new TransportError('connect', undefined, 'NO_HOST_KEY', 'the server presented no host key'));
    };
    client.on('error', finish);
    client.on('close', finish);
    client.connect({
      host: settings.host,
      port: settings.port ?? 22,
      username: 'probe',
      readyTimeout: settings.connectTimeoutMs ?? 15_000,
      hostVerifier: (key: Buffer) => {
        seen = fingerprint(key);
        return false;
      },
    });
  });
}

