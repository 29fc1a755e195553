/**
 * The FTPS transport, on basic-ftp: explicit TLS (AUTH TLS, the default) or implicit TLS, passive mode, the
 * control connection's TLS session reused on every data connection. Plain FTP only with `allowPlainFtp`.
 *
 * The certificate is checked against the system CAs and the host name, or against pinned SHA-256 fingerprints
 * (see certificate.ts): then every TLS connection — control and data — must present a pinned certificate.
 * With no pin, an untrusted (e.g. self-signed) certificate is refused unless `acceptAnyCertificate`.
 *
 * FTP has no exclusive create and most servers let RNTO replace a file: where the exists policy needs to know
 * whether a target is there, it is asked just before (MLST, else a listing of the folder). Where the account
 * may do neither, the server's own answer to the upload or rename decides.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import * as tls from 'node:tls';
import { Client, FileType, type FileInfo } from 'basic-ftp';
import { derToPem, parseCertPins } from './certificate';
import { TransportError, type Protocol } from './errors';
import { globToRegExp } from './glob';
import { PinError } from './host-key';
import { probeFolder } from './probe';
import { holdErrors, Session, usable, withTimeout, type SessionSettings } from './session';
import type { FolderAccess, IfExists, PutOptions, PutResult, RemoteEntry, Transport } from './transport';

/** How TLS is used: `explicit` (AUTH TLS on the control port, usually 21), `implicit` (TLS from the first byte, usually 990), `none` (plain FTP). */
export type FtpTls = 'explicit' | 'implicit' | 'none';

export interface FtpsSettings extends SessionSettings {
  tls?: FtpTls;
  /** SHA-256 fingerprints of the server's certificate, one per line (AB:CD:… as openssl prints them). */
  certFingerprint?: string;
  /** Accept any certificate. Insecure: only for tests against a throw-away server. */
  acceptAnyCertificate?: boolean;
  /** Allow `tls: 'none'`: the password and every file cross the network unencrypted. */
  allowPlainFtp?: boolean;
}

interface FtpConnection {
  client: Client;
}

/** The largest piece a download hands its consumer (see get). */
const GET_CHUNK = 256 * 1024;

/** Node's certificate verification codes, for the message that tells what to pin. */
const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME_INVALID/;

export class FtpsSession extends Session<FtpConnection, FtpsSettings> implements Transport {
  constructor(settings: FtpsSettings) {
    super(settings.tls === 'none' ? 'ftp' : 'ftps', settings, { port: settings.tls === 'implicit' ? 990 : 21 }, [settings.password]);
  }

  protected toError(err: unknown, operation: string, p?: string): TransportError {
    return toFtpError(err, operation, p, this.protocol);
  }

  protected async endConnection(conn: FtpConnection): Promise<void> {
    conn.client.close(); // destroys the control and any data socket at once
  }

  protected isOpen(conn: FtpConnection): boolean {
    return !conn.client.closed;
  }

  protected removeQuietly(conn: FtpConnection, full: string): Promise<boolean> {
    return removeQuietly(conn.client, full);
  }

  protected async connectOnce(): Promise<FtpConnection> {
    const s = this.settings;
    const mode = s.tls ?? 'explicit';
    if (mode === 'none' && !s.allowPlainFtp) {
      throw this.error('connect', undefined, 'PLAIN_FTP_REFUSED', 'plain FTP sends the password and every file unencrypted: use FTPS, or allow plain FTP (insecure)');
    }
    let pins: string[];
    try {
      pins = parseCertPins(s.certFingerprint);
    } catch (err) {
      throw this.error('connect', undefined, 'BAD_PIN', (err as PinError).message.replace(/ \[BAD_PIN\]$/, ''));
    }
    let tlsOptions: tls.ConnectionOptions | undefined;
    if (mode !== 'none') {
      if (s.acceptAnyCertificate) tlsOptions = { rejectUnauthorized: false };
      else if (pins.length) {
        // The pinned certificate is learnt without logging in, then trusted alone: every later handshake, data
        // connections included, verifies against it and checks its fingerprint again.
        const seen = await probeCertificate(s);
        this.seenFingerprint = seen.fingerprint;
        if (!pins.includes(seen.fingerprint)) throw this.mismatch(seen.fingerprint, pins);
        tlsOptions = {
          rejectUnauthorized: true,
          ca: [...tls.rootCertificates, derToPem(seen.der)],
          checkServerIdentity: (_host, cert) => (pins.includes(cert.fingerprint256) ? undefined : this.mismatch(cert.fingerprint256, pins)),
        };
      } else tlsOptions = { rejectUnauthorized: true };
    }
    const client = new Client(s.operationTimeoutMs);
    const conn: FtpConnection = { client };
    try {
      await withTimeout(
        (async () => {
          if (mode === 'implicit') await client.connectImplicitTLS(s.host, s.port, tlsOptions);
          else {
            await client.connect(s.host, s.port);
            if (mode === 'explicit') await client.useTLS(tlsOptions);
          }
          if (client.ftp.socket instanceof tls.TLSSocket) this.seenFingerprint = client.ftp.socket.getPeerCertificate().fingerprint256;
          await client.login(s.username, s.password ?? '');
          await client.useDefaultSettings();
        })(),
        s.connectTimeoutMs! + 1000,
        () => this.error('connect', undefined, 'ETIMEDOUT', `no connection within ${s.connectTimeoutMs} ms (check the port, and TLS: explicit or implicit)`),
      );
    } catch (err) {
      client.close();
      const e = err as { code?: unknown; message?: string };
      if (e instanceof TransportError) throw e;
      if (e?.code === 530) throw this.error('connect', undefined, 'AUTH_FAILED', 'authentication failed');
      if (!pins.length && mode !== 'none' && CERT_CODES.test(String(e?.code ?? ''))) {
        this.seenFingerprint = (await probeCertificate(s).catch(() => undefined))?.fingerprint;
        throw this.error(
          'connect',
          undefined,
          'CERT_NOT_TRUSTED',
          `the server's certificate is not trusted (${String(e.code)})${this.seenFingerprint ? `; it presented ${this.seenFingerprint}: pin it once the hub provider confirms it` : ''}`,
        );
      }
      throw err;
    }
    return conn; // basic-ftp removes listeners from the sockets it closes: isOpen() asks it instead
  }

  private mismatch(seen: string, pins: string[]): TransportError {
    return this.error('connect', undefined, 'CERT_MISMATCH', `the server presented certificate ${seen}, not the pinned ${pins.join(' or ')}`);
  }

  // ---- operations -------------------------------------------------------------------------------------------

  async list(dir: string, glob?: string): Promise<RemoteEntry[]> {
    const full = this.resolve(dir, 'folder');
    const match = glob ? globToRegExp(glob) : undefined;
    return this.run('list', full, async ({ client }) => {
      const out: RemoteEntry[] = [];
      for (const it of await client.list(full)) {
        if (it.name === '.' || it.name === '..') continue;
        if (match && !match.test(it.name)) continue;
        out.push(entryOf(it, path.posix.join(dir === '.' ? '' : dir, it.name)));
      }
      return out;
    }, true);
  }

  async stat(p: string): Promise<RemoteEntry | undefined> {
    const full = this.resolve(p);
    return this.run('stat', full, async ({ client }) => {
      const found = await this.statIfAllowed(client, full, p);
      if (found === 'refused') throw this.error('stat', full, 'PERMISSION_DENIED', 'the server refuses MLST and listing here');
      return found;
    }, true);
  }

  /**
   * MLST where the server has it and allows it; else the entry in a listing of its folder; else 'refused'. A server
   * that hides what it will not list (ProFTPD under <Limit LIST>) makes a file look missing.
   */
  private async statIfAllowed(client: Client, full: string, rel: string): Promise<RemoteEntry | undefined | 'refused'> {
    try {
      const res = await client.send(`MLST ${full}`);
      const facts = res.message.split(/\r?\n/).find((l) => l.startsWith(' '));
      if (facts) return entryOfFacts(facts, rel);
    } catch (err) {
      const e = this.toError(err, 'stat', full);
      if (e.code === 'NO_SUCH_FILE') return undefined;
      // Other refusals (a 5xx that may mean "missing" or "not allowed") are settled by the folder's listing.
      if (!/^(PERMISSION_DENIED|OP_UNSUPPORTED|FTP_5\d\d)$/.test(e.code)) throw e;
    }
    try {
      const name = path.posix.basename(full);
      const found = (await client.list(path.posix.dirname(full))).find((it) => it.name === name);
      return found ? entryOf(found, rel) : undefined;
    } catch (err) {
      const e = this.toError(err, 'stat', full);
      if (e.code === 'NO_SUCH_FILE') return undefined;
      if (e.code === 'PERMISSION_DENIED' || e.code === 'OP_UNSUPPORTED') return 'refused';
      throw e;
    }
  }

  /**
   * Streams a file to `consume`. Where the server gives the size, a transfer that ends short of it is an error
   * (FILE_CHANGED), never a smaller file; a consumer that stops early ends the connection (FTP cannot stop a
   * download otherwise).
   */
  async get<T>(p: string, consume: (stream: Readable, size: number) => Promise<T>): Promise<T> {
    const full = this.resolve(p);
    return this.run('get', full, async ({ client }, touch, signal) => {
      const found = await this.statIfAllowed(client, full, p);
      if (found === undefined) throw this.error('get', full, 'NO_SUCH_FILE', 'no such file');
      const size = found === 'refused' ? -1 : found.size;
      const out = new PassThrough({ highWaterMark: GET_CHUNK });
      let received = 0;
      // The data connection brings TLS records of at most 16 KiB: they reach `out` gathered into pieces of up to
      // GET_CHUNK (what arrived by the end of this turn of the event loop, or GET_CHUNK), as SFTP's reads do.
      // Fewer, larger pieces cost every consumer less per byte: a file write stream with its default 16 KiB
      // high-water mark took the 16 KiB pieces at about half the speed.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let flushQueued = false;
      const flush = (): void => {
        flushQueued = false;
        if (!pendingBytes || out.destroyed || out.writableEnded) return;
        const piece = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        out.write(piece);
      };
      // basic-ftp ends its destination when the data connection ends, before the server says the transfer is
      // complete: `out` ends only after that answer and the size check.
      const sink = new Writable({
        write: (chunk: Buffer, _enc, cb) => {
          received += chunk.length;
          touch();
          this.progress('get', received);
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= GET_CHUNK) flush();
          else if (!flushQueued) {
            flushQueued = true;
            setImmediate(flush);
          }
          // Backpressure as before: while `out` holds more than its high-water mark, no more is taken. Meanwhile the
          // transfer waits on its reader, not the server (basic-ftp's own watchdog tells the two apart as well).
          if (out.writableNeedDrain) {
            touch('reader');
            out.once('drain', () => {
              touch();
              cb();
            });
          } else cb();
        },
        final: (cb) => {
          flush();
          cb();
        },
      });
      let finished = false;
      const download = client.downloadTo(sink, full).then(() => {
        if (size >= 0 && received !== size) {
          throw Object.assign(new Error(`the transfer ended after ${received} of ${size} bytes`), { code: 'FILE_CHANGED' });
        }
        finished = true;
      });
      download.then(
        () => {
          flush();
          out.end();
          touch('reader'); // all of it is here: only the reader can keep the transfer from ending now
        },
        (err) => out.destroy(this.toError(err, 'get', full)),
      );
      // A timeout (or the end of the connection) ends the stream with its error: its reader must not wait on.
      signal.addEventListener('abort', () => out.destroy(signal.reason as Error), { once: true });
      try {
        return await consume(out, size);
      } finally {
        if (!finished) {
          out.destroy();
          this.drop();
          await download.catch(() => undefined);
        }
      }
    });
  }

  async put(p: string, source: Buffer | string | Readable, options: PutOptions = {}): Promise<PutResult> {
    holdErrors(source);
    const { ifExists, dir, name, target, mode, tempDir } = this.putPlan(p, options);
    const skip = (rel: string): PutResult => {
      if (source instanceof Readable) source.resume();
      return { path: rel, bytes: 0, skipped: true };
    };
    return this.run('put', target, async (conn, touch) => {
      const { client } = conn;
      if (options.mkdirs && dir !== '.') await this.mkdirp(client, dir);
      if (mode === 'temp-folder' && tempDir !== '.') await this.mkdirp(client, tempDir);
      let finalRel = await this.placeFor(client, p, ifExists);
      if (finalRel === undefined) return skip(p);
      const writeRel = mode === 'direct' ? finalRel : path.posix.join(tempDir, `.${name}.${randomBytes(4).toString('hex')}.part`);
      const written = this.resolve(writeRel);
      let bytes = 0;
      const counter = new Transform({
        transform: (chunk: Buffer, _enc, cb) => {
          bytes += chunk.length;
          touch();
          this.progress('put', bytes);
          cb(null, chunk);
        },
      });
      const input = source instanceof Readable ? usable(source) : bytesStream(typeof source === 'string' ? Buffer.from(source) : source);
      input.once('error', (err) => counter.destroy(err));
      // Until it is in place or removed, a reconnect removes it (a failed upload may never get to its catch).
      this.leftovers.add(written);
      try {
        await client.uploadFrom(input.pipe(counter), written);
        await this.checkSize(client, written, writeRel, bytes);
        if (mode !== 'direct') {
          // Asked again just before the rename: FTP's rename replaces a file that appeared meanwhile.
          finalRel = await this.placeFor(client, p, ifExists);
          if (finalRel === undefined) {
            await removeQuietly(client, written);
            this.leftovers.delete(written);
            return skip(p);
          }
          await client.rename(written, this.resolve(finalRel));
        }
        this.leftovers.delete(written);
      } catch (err) {
        // Never leave part of a file behind; over a dead connection it goes on a new one at once.
        await this.removeLeftover(conn, written);
        throw err;
      }
      if (options.doneMarker) await client.uploadFrom(bytesStream(Buffer.alloc(0)), this.resolve(finalRel + options.doneMarker));
      return { path: finalRel, bytes, skipped: false };
    });
  }

  /**
   * Where a file for `rel` goes under `ifExists`: `rel`, a free `_<n>` name ('suffix'), or undefined ('skip' onto
   * an existing file). EEXIST for 'fail'. Where the server says nothing of existing files, `rel`.
   */
  private async placeFor(client: Client, rel: string, ifExists: IfExists): Promise<string | undefined> {
    if (ifExists === 'overwrite') return rel;
    const ext = path.posix.extname(rel);
    for (let n = 0; n < 1000; n++) {
      const candidate = n === 0 ? rel : `${rel.slice(0, rel.length - ext.length)}_${n}${ext}`;
      const found = await this.statIfAllowed(client, this.resolve(candidate), candidate);
      if (found === undefined || found === 'refused') return candidate;
      if (ifExists === 'skip') return undefined;
      if (ifExists === 'fail') throw this.error('put', this.resolve(rel), 'EEXIST', 'the target exists');
    }
    throw this.error('put', this.resolve(rel), 'EEXIST', 'no free suffix');
  }

  /** A server that took fewer bytes than were sent (a full disk that still answered 226) fails the upload. */
  private async checkSize(client: Client, full: string, rel: string, bytes: number): Promise<void> {
    const found = await this.statIfAllowed(client, full, rel);
    if (found && found !== 'refused' && found.size !== bytes) {
      throw this.error('put', full, 'SHORT_WRITE', `the server holds ${found.size} of the ${bytes} bytes sent`);
    }
  }

  async rename(from: string, to: string, options: { overwrite?: boolean; mkdirs?: boolean } = {}): Promise<void> {
    const src = this.resolve(from, 'source path');
    const dst = this.resolve(to, 'target path');
    return this.run('rename', src, async ({ client }) => {
      const dir = path.posix.dirname(to);
      if (options.mkdirs && dir !== '.') await this.mkdirp(client, dir);
      if (!options.overwrite) {
        const found = await this.statIfAllowed(client, dst, to);
        if (found && found !== 'refused') throw this.error('rename', src, 'EEXIST', 'the target exists');
      }
      await client.rename(src, dst);
    });
  }

  async delete(p: string): Promise<void> {
    const full = this.resolve(p);
    return this.run('delete', full, async ({ client }) => {
      await client.remove(full);
    });
  }

  async mkdir(p: string): Promise<void> {
    return this.run('mkdir', this.resolve(p, 'folder'), ({ client }) => this.mkdirp(client, p), true);
  }

  probeFolder(folder: string, tryWrites = false): Promise<FolderAccess> {
    return probeFolder(this, folder, tryWrites);
  }

  /** MKD for each missing part; a part that is there (or cannot be asked about) is passed. */
  private async mkdirp(client: Client, rel: string): Promise<void> {
    let current = '';
    for (const part of rel.split('/').filter((s) => s && s !== '.')) {
      current = current ? `${current}/${part}` : part;
      const full = this.resolve(current, 'folder');
      const found = await this.statIfAllowed(client, full, current);
      if (found !== 'refused' && found?.isDirectory) continue;
      try {
        await client.send(`MKD ${full}`);
      } catch (err) {
        // Where nothing can be asked, a folder that is there answers 550 too: the write that follows tells.
        if (found !== 'refused' && !/exist/i.test((err as Error).message ?? '')) throw err;
      }
    }
  }
}

function entryOf(it: FileInfo, rel: string): RemoteEntry {
  const mtime = it.modifiedAt?.getTime() ?? (Date.parse(it.rawModifiedAt) || 0);
  return { name: it.name, path: rel, size: it.size, mtime, isFile: it.type === FileType.File, isDirectory: it.type === FileType.Directory };
}

/** An MLST facts line: ` type=file;size=12;modify=20261120101500; /path`. */
function entryOfFacts(line: string, rel: string): RemoteEntry {
  const facts = new Map<string, string>();
  for (const f of line.trim().split(' ')[0].split(';')) {
    const i = f.indexOf('=');
    if (i > 0) facts.set(f.slice(0, i).toLowerCase(), f.slice(i + 1));
  }
  const type = (facts.get('type') ?? '').toLowerCase();
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)/.exec(facts.get('modify') ?? '');
  const mtime = m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : 0;
  const isDirectory = type === 'dir' || type === 'cdir' || type === 'pdir';
  return { name: path.posix.basename(rel), path: rel, size: Number(facts.get('size') ?? 0), mtime, isFile: type === 'file', isDirectory };
}

/**
 * A stream of `bytes`. An empty one ends only after 100 ms: with no data to send, the client's TLS close can reach
 * the server while it is still finishing its side of the data connection's handshake, which it takes as an error
 * (ProFTPD: "shutdown while in init", 425). Data sent first never meets this.
 */
function bytesStream(bytes: Buffer): Readable {
  if (bytes.length) return Readable.from([bytes]);
  return new Readable({
    read() {
      setTimeout(() => this.push(null), 100);
    },
  });
}

/** True when the file is gone afterwards (removed now, or not there). Never waits more than 5 s. */
async function removeQuietly(client: Client, full: string): Promise<boolean> {
  if (client.closed) return false;
  try {
    await withTimeout(client.remove(full), 5000, () => new Error('timeout'));
    return true;
  } catch (err) {
    return /no such|not found|does not exist/i.test((err as Error).message ?? '');
  }
}

/**
 * Whatever basic-ftp or the socket threw, as a TransportError. FTP replies are mapped by number and, for the
 * 4xx/5xx file replies that mean several things, by the server's words: NO_SUCH_FILE, PERMISSION_DENIED,
 * NO_SPACE, OP_UNSUPPORTED, else FTP_<nnn>. Control characters are taken out of the server's text.
 */
export function toFtpError(err: unknown, operation: string, p: string | undefined, protocol: Protocol = 'ftps'): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as { code?: unknown; message?: string };
  const detail = (e?.message ?? String(err)).replace(/[\x00-\x1f\x7f]+/g, ' ').trim().slice(0, 200);
  let code: string;
  if (typeof e?.code === 'number') {
    const n = e.code;
    if (n === 530) code = 'AUTH_FAILED';
    else if (n === 421) code = 'CONNECTION_LOST';
    else if (n === 452 || n === 552) code = 'NO_SPACE';
    else if (n >= 450 && /no such|not found|does not exist|can't find|cannot find|not exist/i.test(detail)) code = 'NO_SUCH_FILE';
    else if (n >= 450 && /permission|denied|not permitted|not allowed|refused|forbidden|read-only/i.test(detail)) code = 'PERMISSION_DENIED';
    else if (n === 500 || n === 502 || n === 504) code = 'OP_UNSUPPORTED';
    else code = `FTP_${n}`;
  } else if (e?.code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return new TransportError(operation, p, 'TLS_MISMATCH', 'the server did not answer with TLS: check TLS (explicit or implicit) and the port', protocol);
  } else if (typeof e?.code === 'string') code = e.code;
  else if (/^Timeout/i.test(detail)) code = 'ETIMEDOUT';
  else if (/Client is closed|closed connection unexpectedly|FIN packet|transmission error|Socket closed|not connected/i.test(detail)) code = 'CONNECTION_LOST';
  else code = 'ERROR';
  return new TransportError(operation, p, code, detail, protocol);
}

/**
 * Connects only far enough to see the server's certificate (AUTH TLS, or the implicit TLS handshake) and never
 * logs in. `fingerprint`: SHA-256 as colon hex; `der`: the certificate.
 */
export async function probeCertificate(settings: Pick<FtpsSettings, 'host' | 'port' | 'tls' | 'connectTimeoutMs'>): Promise<{ fingerprint: string; der: Buffer }> {
  const timeout = settings.connectTimeoutMs ?? 15_000;
  const port = settings.port ?? (settings.tls === 'implicit' ? 990 : 21);
  const client = new Client(timeout);
  try {
    return await withTimeout(
      (async () => {
        if (settings.tls === 'implicit') await client.connectImplicitTLS(settings.host, port, { rejectUnauthorized: false });
        else {
          await client.connect(settings.host, port);
          await client.useTLS({ rejectUnauthorized: false });
        }
        const cert = (client.ftp.socket as tls.TLSSocket).getPeerCertificate(true);
        if (!cert?.raw) throw new TransportError('connect', undefined, 'NO_CERTIFICATE', 'the server presented no certificate', 'ftps');
        return { fingerprint: cert.fingerprint256, der: cert.raw };
      })(),
      timeout + 1000,
      () => new TransportError('connect', undefined, 'ETIMEDOUT', `no connection within ${timeout} ms`, 'ftps'),
    );
  } catch (err) {
    throw toFtpError(err, 'connect', undefined, 'ftps');
  } finally {
    client.close();
  }
}
