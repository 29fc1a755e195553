/**
 * An embedded SFTP server that plays the ESR hub for the demo and the end-to-end tests: ssh2's server API over a
 * real local folder. One user, public-key login (password optional), a pinned host key, and the SFTP requests a
 * client of this project uses, with the semantics OpenSSH's sftp-server gives them:
 *
 * - a plain RENAME never replaces an existing target; `posix-rename@openssh.com` does, atomically;
 * - paths are POSIX paths under the served folder ('/Out/x' and 'Out/x' are the same file); `..` stops at the
 *   top and symbolic links that lead outside the folder are refused;
 * - requests of one SFTP session run one at a time, in the order they arrive, as sftp-server runs them.
 *
 * Nothing is logged: no file contents, no keys, no passwords.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { constants as fsc, type Stats as FsStats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { Server, utils, type Attributes, type AuthContext, type Connection, type FileEntry, type ParsedKey, type SFTPWrapper } from 'ssh2';

export interface HubOptions {
  /** A real local folder served as the SFTP root; paths are confined to it. */
  root: string;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0: a free port chosen by the system. */
  port?: number;
  username: string;
  /** OpenSSH public key line (`ssh-ed25519 AAAA... comment`) accepted for public-key login. */
  authorizedKey: string;
  /** Also accept this password. */
  password?: string;
  /** PEM/OpenSSH private host key; when absent an ed25519 key is generated. */
  hostKey?: string | Buffer;
}

export interface Hub {
  host: string;
  port: number;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it: SHA256:<base64, no padding>. */
  fingerprint: string;
  /** The host key as an OpenSSH public key line. */
  hostPublicKey: string;
  close(): Promise<void>;
}

const { OPEN_MODE, STATUS_CODE } = utils.sftp;

/** Largest DATA reply; clients ask for 32 KiB (OpenSSH) or about 34000 bytes (ssh2). */
const MAX_READ = 64 * 1024;
/** Directory entries per READDIR reply (OpenSSH sends 100). */
const READDIR_BATCH = 100;
/** How long close() lets connections end by themselves before cutting them. */
const CLOSE_GRACE_MS = 1000;

// ---- keys -----------------------------------------------------------------------------------------------------

/** A fresh ed25519 key pair in OpenSSH format, for the demo and tests. */
export function generateUserKey(): { privateKey: string; publicKey: string } {
  const pair = generateEd25519('esr-hub-user');
  return { privateKey: pair.private, publicKey: pair.public };
}

/**
 * ssh2's generateKeyPairSync('ed25519') drops a leading zero byte of the public key, so about one key in 256 is
 * malformed and cannot be parsed (mscdex/ssh2#1390, #1513): such a key is thrown away and another one made.
 */
function generateEd25519(comment: string): { private: string; public: string } {
  for (let attempt = 0; ; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    const usable = !(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error);
    if (usable || attempt >= 20) return pair;
  }
}

function parseKey(data: string | Buffer, what: string): ParsedKey {
  const parsed = utils.parseKey(data) as ParsedKey | ParsedKey[] | Error;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`${what} cannot be parsed${key instanceof Error ? `: ${key.message}` : ''}`);
  return key;
}

function fingerprintOf(key: ParsedKey): string {
  return 'SHA256:' + createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '');
}

/** Compares secrets without leaking, through timing, how much of them matched. */
function sameSecret(a: Buffer | string, b: Buffer | string): boolean {
  const digest = (v: Buffer | string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(a), digest(b));
}

// ---- authentication -------------------------------------------------------------------------------------------

function authenticate(ctx: AuthContext, options: HubOptions, userKey: ParsedKey): void {
  const password = options.password || undefined; // an empty password means none, never "any empty password"
  const methods: ('publickey' | 'password')[] = password ? ['publickey', 'password'] : ['publickey'];
  if (!sameSecret(ctx.username, options.username)) return ctx.reject(methods);
  if (ctx.method === 'publickey') {
    // The key blob names its type, so comparing blobs also compares types.
    if (!sameSecret(ctx.key.data, userKey.getPublicSSH())) return ctx.reject(methods);
    // Without a signature the client only asks whether this key would do; with one, it must prove it holds the key.
    if (ctx.signature && ctx.blob && userKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(methods);
    return ctx.accept();
  }
  if (ctx.method === 'password' && password && sameSecret(ctx.password, password)) return ctx.accept();
  ctx.reject(methods);
}

// ---- the server -----------------------------------------------------------------------------------------------

export async function startHub(options: HubOptions): Promise<Hub> {
  const realRoot = await fsp.realpath(options.root);
  if (!(await fsp.stat(realRoot)).isDirectory()) throw new Error('the hub root is not a folder');
  const hostKeyData = options.hostKey ?? generateEd25519('esr-hub-host').private;
  const hostKey = parseKey(hostKeyData, 'the host key');
  if (!hostKey.isPrivateKey()) throw new Error('the host key is not a private key');
  const userKey = parseKey(options.authorizedKey, 'the authorized key');
  const jail = new Jail(realRoot);

  const sessions = new Set<SftpHandler>();
  const connections = new Set<Connection>();
  const sockets = new Set<net.Socket>();

  const ssh = new Server({ hostKeys: [hostKeyData] }, (conn) => {
    connections.add(conn);
    conn.on('error', () => undefined); // a client that vanishes or misbehaves must not bring the hub down
    conn.on('close', () => connections.delete(conn));
    conn.on('authentication', (ctx) => authenticate(ctx, options, userKey));
    conn.on('session', (accept) => {
      const session = accept();
      session.on('sftp', (acceptSftp) => {
        const sftp = acceptSftp();
        advertisePosixRename(sftp);
        const handler = new SftpHandler(sftp, jail);
        sessions.add(handler);
        const end = () => void handler.end().finally(() => sessions.delete(handler));
        sftp.on('end', () => handler.reply(() => sftp.end())); // the client closed its side: close ours, as sftp-server exits
        sftp.on('close', end);
        conn.on('close', end);
      });
    });
  });
  ssh.on('error', () => undefined);

  // Our own listener hands sockets to ssh2, so that close() can cut the connections that do not end by themselves.
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    ssh.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', () => undefined);
  const address = listener.address() as net.AddressInfo;

  let closing: Promise<void> | undefined;
  const close = async () => {
    const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
    for (const conn of connections) conn.end();
    await waitUntil(() => sockets.size === 0, CLOSE_GRACE_MS);
    for (const socket of sockets) socket.destroy();
    await Promise.all([...sessions].map((s) => s.end()));
    await stopped;
  };

  return {
    host: address.address,
    port: address.port,
    fingerprint: fingerprintOf(hostKey),
    hostPublicKey: `${hostKey.type} ${hostKey.getPublicSSH().toString('base64')}`,
    close: () => (closing ??= close()),
  };
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

/**
 * ssh2's server always answers INIT with a VERSION packet that lists no extensions, and has no option to add any.
 * To offer posix-rename@openssh.com (so that clients replace files atomically, as against OpenSSH) this swaps that
 * one packet, on its way out on this channel, for one that lists the extension. It leans on ssh2 internals; if
 * they are not as expected nothing is changed: clients then see no extension and fall back to delete + rename, and
 * the EXTENDED request is still served.
 */
function advertisePosixRename(sftp: SFTPWrapper): void {
  type Proto = { channelData(chan: number, data: Buffer | string): void; _esrVersionSwap?: Map<number, { window: number }> };
  const internals = sftp as unknown as { _protocol?: Proto; outgoing?: { id: number; window: number } };
  const proto = internals._protocol;
  const outgoing = internals.outgoing;
  if (!proto || typeof proto.channelData !== 'function' || !outgoing || typeof outgoing.id !== 'number') return;
  if (!proto._esrVersionSwap) {
    const waiting = new Map<number, { window: number }>();
    const original = proto.channelData;
    proto._esrVersionSwap = waiting;
    proto.channelData = function (this: Proto, chan: number, data: Buffer | string) {
      const channel = waiting.size ? waiting.get(chan) : undefined;
      if (channel && Buffer.isBuffer(data) && isPlainVersionPacket(data)) {
        waiting.delete(chan);
        const extra = VERSION_WITH_EXTENSIONS.length - data.length;
        if (channel.window >= extra) {
          channel.window -= extra; // ssh2 counted the 9 bytes it meant to send against the peer's window
          return original.call(this, chan, VERSION_WITH_EXTENSIONS);
        }
      }
      return original.call(this, chan, data);
    };
  }
  proto._esrVersionSwap.set(outgoing.id, outgoing);
}

/** SSH_FXP_VERSION, version 3, nothing else: what ssh2's server sends. */
function isPlainVersionPacket(data: Buffer): boolean {
  return data.length === 9 && data.readUInt32BE(0) === 5 && data[4] === 2 && data.readUInt32BE(5) === 3;
}

const VERSION_WITH_EXTENSIONS = (() => {
  const body = Buffer.concat([Buffer.from([2, 0, 0, 0, 3]), sshString('posix-rename@openssh.com'), sshString('1')]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
})();

function sshString(s: string): Buffer {
  const value = Buffer.from(s);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(value.length);
  return Buffer.concat([length, value]);
}

/** The strings of an EXTENDED request's data (uint32 length + bytes each), or undefined if malformed. */
function readStrings(data: Buffer | undefined, count: number): string[] | undefined {
  const out: string[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (!data || p + 4 > data.length) return undefined;
    const len = data.readUInt32BE(p);
    if (p + 4 + len > data.length) return undefined;
    out.push(data.toString('utf8', p + 4, p + 4 + len));
    p += 4 + len;
  }
  return out;
}

// ---- paths ----------------------------------------------------------------------------------------------------

function fsError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Maps client paths to local ones inside the served folder. */
class Jail {
  constructor(readonly root: string) {}

  /** The path as the client sees it: absolute and normalised; `..` at the top stays at the top. */
  static virtual(p: string): string {
    const v = path.posix.normalize('/' + p);
    return v.length > 1 ? v.replace(/\/+$/, '') : v;
  }

  /**
   * The local path for a client path. The parent folder is resolved through any symbolic links and must lie inside
   * the root; with `follow` the last component is too (open, stat, ...), without it the link itself is meant (lstat,
   * remove, rename).
   */
  async local(p: string, follow: boolean): Promise<string> {
    const v = Jail.virtual(p);
    if (v === '/') return this.root;
    const lexical = path.join(this.root, ...v.split('/'));
    this.ensureInside(lexical);
    const parent = await fsp.realpath(path.dirname(lexical));
    this.ensureInside(parent);
    const local = path.join(parent, path.basename(lexical));
    if (!follow) return local;
    const st = await fsp.lstat(local).catch(() => undefined);
    if (!st?.isSymbolicLink()) return local;
    const real = await fsp.realpath(local).catch(() => {
      throw fsError('EACCES', 'dangling link'); // following it could create a file wherever it points
    });
    this.ensureInside(real);
    return real;
  }

  /** The local path of an entry to remove or rename: the link itself, and never the served folder. */
  async entry(p: string): Promise<string> {
    if (Jail.virtual(p) === '/') throw fsError('EACCES', 'the served folder itself');
    return this.local(p, false);
  }

  private ensureInside(local: string): void {
    const rel = path.relative(this.root, local);
    if (rel === '..' || rel.startsWith('..' + path.sep) || path.isAbsolute(rel)) throw fsError('EACCES', 'outside the served folder');
  }
}

// ---- SFTP requests --------------------------------------------------------------------------------------------

type OpenHandle =
  | { kind: 'file'; file: fsp.FileHandle }
  | { kind: 'dir'; local: string; pending: string[] };

/** Attributes in a request: only those the client sent are set. */
type Attrs = Partial<Attributes>;

const STATUS_TEXT: Record<number, string> = {
  [STATUS_CODE.OK]: 'Success',
  [STATUS_CODE.EOF]: 'End of file',
  [STATUS_CODE.NO_SUCH_FILE]: 'No such file',
  [STATUS_CODE.PERMISSION_DENIED]: 'Permission denied',
  [STATUS_CODE.FAILURE]: 'Failure',
  [STATUS_CODE.OP_UNSUPPORTED]: 'Operation unsupported',
};

/** An errno as an SFTP status, with a message that names no local path. */
function toStatus(err: unknown): [number, string] {
  switch ((err as { code?: unknown })?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ELOOP':
      return [STATUS_CODE.NO_SUCH_FILE, STATUS_TEXT[STATUS_CODE.NO_SUCH_FILE]];
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return [STATUS_CODE.PERMISSION_DENIED, STATUS_TEXT[STATUS_CODE.PERMISSION_DENIED]];
    case 'EEXIST':
      return [STATUS_CODE.FAILURE, 'File exists'];
    case 'ENOTEMPTY':
      return [STATUS_CODE.FAILURE, 'Directory not empty'];
    case 'EISDIR':
      return [STATUS_CODE.FAILURE, 'Is a directory'];
    case 'EBADHANDLE':
      return [STATUS_CODE.FAILURE, 'Invalid handle'];
    default:
      return [STATUS_CODE.FAILURE, STATUS_TEXT[STATUS_CODE.FAILURE]];
  }
}

function toAttrs(st: FsStats): Attributes {
  return { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) };
}

function openFlags(pflags: number): number {
  const read = (pflags & OPEN_MODE.READ) !== 0;
  const write = (pflags & OPEN_MODE.WRITE) !== 0;
  let flags = read && write ? fsc.O_RDWR : write ? fsc.O_WRONLY : fsc.O_RDONLY;
  if (pflags & OPEN_MODE.APPEND) flags |= fsc.O_APPEND;
  if (pflags & OPEN_MODE.CREAT) flags |= fsc.O_CREAT;
  if (pflags & OPEN_MODE.TRUNC) flags |= fsc.O_TRUNC;
  if (pflags & OPEN_MODE.EXCL) flags |= fsc.O_EXCL;
  return flags;
}

/** One SFTP session: its open handles, and its requests run one after another. */
class SftpHandler {
  private readonly handles = new Map<number, OpenHandle>();
  private nextHandle = 1;
  private queue: Promise<void> = Promise.resolve();
  private ended?: Promise<void>;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly jail: Jail,
  ) {
    const on = (event: string, run: (id: number, ...args: never[]) => Promise<void>) =>
      sftp.on(event, (id: number, ...args: never[]) => this.enqueue(id, () => run.call(this, id, ...args)));
    on('OPEN', this.open);
    on('READ', this.read);
    on('WRITE', this.write);
    on('CLOSE', this.close);
    on('FSTAT', this.fstat);
    on('STAT', this.stat);
    on('LSTAT', this.lstat);
    on('SETSTAT', this.setstat);
    on('FSETSTAT', this.fsetstat);
    on('OPENDIR', this.opendir);
    on('READDIR', this.readdir);
    on('REALPATH', this.realpath);
    on('MKDIR', this.mkdir);
    on('RMDIR', this.rmdir);
    on('REMOVE', this.remove);
    on('RENAME', this.rename);
    on('EXTENDED', this.extended);
    // READLINK and SYMLINK have no listener: ssh2 answers OP_UNSUPPORTED (a symlink could point out of the folder).
  }

  /** Closes every handle the client left open; safe to call more than once. */
  end(): Promise<void> {
    this.ended ??= this.queue.then(async () => {
      const files = [...this.handles.values()].flatMap((h) => (h.kind === 'file' ? [h.file] : []));
      this.handles.clear();
      await Promise.all(files.map((f) => f.close().catch(() => undefined)));
    });
    return this.ended;
  }

  private enqueue(id: number, run: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.ended) return;
      try {
        await run();
      } catch (err) {
        this.reply(() => this.sftp.status(id, ...toStatus(err)));
      }
    });
  }

  /** Sends a reply, or closes the channel; quietly does nothing once the channel is gone. */
  reply(send: () => void): void {
    try {
      send();
    } catch {
      // the client went away
    }
  }

  private ok(id: number): void {
    this.reply(() => this.sftp.status(id, STATUS_CODE.OK, STATUS_TEXT[STATUS_CODE.OK]));
  }

  private addHandle(h: OpenHandle): Buffer {
    const n = this.nextHandle++;
    this.handles.set(n, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(n);
    return buf;
  }

  private handle<K extends OpenHandle['kind']>(buf: Buffer, kind: K): Extract<OpenHandle, { kind: K }> {
    const h = buf.length === 4 ? this.handles.get(buf.readUInt32BE(0)) : undefined;
    if (!h || h.kind !== kind) throw fsError('EBADHANDLE', 'invalid handle');
    return h as Extract<OpenHandle, { kind: K }>;
  }

  private async open(id: number, filename: string, pflags: number, attrs: Attrs): Promise<void> {
    const local = await this.jail.local(filename, true);
    const mode = typeof attrs.mode === 'number' ? attrs.mode & 0o7777 : 0o666;
    const file = await fsp.open(local, openFlags(pflags), mode);
    if ((await file.stat().catch(() => undefined))?.isDirectory()) {
      await file.close();
      throw fsError('EISDIR', 'is a directory');
    }
    const handle = this.addHandle({ kind: 'file', file });
    this.reply(() => this.sftp.handle(id, handle));
  }

  private async read(id: number, handle: Buffer, offset: number, len: number): Promise<void> {
    const { file } = this.handle(handle, 'file');
    const buf = Buffer.alloc(Math.min(len, MAX_READ));
    const { bytesRead } = await file.read(buf, 0, buf.length, offset);
    if (bytesRead === 0) return this.reply(() => this.sftp.status(id, STATUS_CODE.EOF, STATUS_TEXT[STATUS_CODE.EOF]));
    this.reply(() => this.sftp.data(id, buf.subarray(0, bytesRead)));
  }

  private async write(id: number, handle: Buffer, offset: number, data: Buffer): Promise<void> {
    const { file } = this.handle(handle, 'file');
    for (let done = 0; done < data.length; ) {
      const { bytesWritten } = await file.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
    this.ok(id);
  }

  private async close(id: number, handle: Buffer): Promise<void> {
    const n = handle.length === 4 ? handle.readUInt32BE(0) : -1;
    const h = this.handles.get(n);
    if (!h) throw fsError('EBADHANDLE', 'invalid handle');
    this.handles.delete(n);
    if (h.kind === 'file') await h.file.close();
    this.ok(id);
  }

  private async fstat(id: number, handle: Buffer): Promise<void> {
    const st = await this.handle(handle, 'file').file.stat();
    this.reply(() => this.sftp.attrs(id, toAttrs(st)));
  }

  private async stat(id: number, p: string): Promise<void> {
    const st = await fsp.stat(await this.jail.local(p, true));
    this.reply(() => this.sftp.attrs(id, toAttrs(st)));
  }

  private async lstat(id: number, p: string): Promise<void> {
    const st = await fsp.lstat(await this.jail.local(p, false));
    this.reply(() => this.sftp.attrs(id, toAttrs(st)));
  }

  private async setstat(id: number, p: string, attrs: Attrs): Promise<void> {
    const local = await this.jail.local(p, true);
    await applyAttrs(attrs, {
      chmod: (mode) => fsp.chmod(local, mode),
      truncate: (size) => fsp.truncate(local, size),
      utimes: (atime, mtime) => fsp.utimes(local, atime, mtime),
    });
    this.ok(id);
  }

  private async fsetstat(id: number, handle: Buffer, attrs: Attrs): Promise<void> {
    const { file } = this.handle(handle, 'file');
    await applyAttrs(attrs, {
      chmod: (mode) => file.chmod(mode),
      truncate: (size) => file.truncate(size),
      utimes: (atime, mtime) => file.utimes(atime, mtime),
    });
    this.ok(id);
  }

  private async opendir(id: number, p: string): Promise<void> {
    const local = await this.jail.local(p, true);
    const names = await fsp.readdir(local); // ENOTDIR for a file
    const handle = this.addHandle({ kind: 'dir', local, pending: ['.', '..', ...names] });
    this.reply(() => this.sftp.handle(id, handle));
  }

  private async readdir(id: number, handle: Buffer): Promise<void> {
    const dir = this.handle(handle, 'dir');
    const entries: FileEntry[] = [];
    while (dir.pending.length && entries.length < READDIR_BATCH) {
      const name = dir.pending.shift()!;
      // The root's '..' shows the root itself: nothing about the folder above is given away.
      const target = name === '..' && dir.local === this.jail.root ? dir.local : path.join(dir.local, name);
      const st = await fsp.lstat(target).catch(() => undefined); // removed since OPENDIR: left out
      if (st) entries.push({ filename: name, longname: longname(name, st), attrs: toAttrs(st) });
    }
    if (!entries.length) return this.reply(() => this.sftp.status(id, STATUS_CODE.EOF, STATUS_TEXT[STATUS_CODE.EOF]));
    this.reply(() => this.sftp.name(id, entries));
  }

  private async realpath(id: number, p: string): Promise<void> {
    const v = Jail.virtual(p);
    // As OpenSSH: no attributes (ssh2 sends an empty attribute set for an empty object).
    this.reply(() => this.sftp.name(id, [{ filename: v, longname: v, attrs: {} as Attributes }]));
  }

  private async mkdir(id: number, p: string, attrs: Attrs): Promise<void> {
    await fsp.mkdir(await this.jail.local(p, false), typeof attrs.mode === 'number' ? attrs.mode & 0o7777 : 0o777);
    this.ok(id);
  }

  private async rmdir(id: number, p: string): Promise<void> {
    await fsp.rmdir(await this.jail.entry(p));
    this.ok(id);
  }

  private async remove(id: number, p: string): Promise<void> {
    await fsp.unlink(await this.jail.entry(p));
    this.ok(id);
  }

  private async rename(id: number, from: string, to: string): Promise<void> {
    await renameNoReplace(await this.jail.entry(from), await this.jail.entry(to));
    this.ok(id);
  }

  private async extended(id: number, name: string, data: Buffer | undefined): Promise<void> {
    if (name !== 'posix-rename@openssh.com') {
      return this.reply(() => this.sftp.status(id, STATUS_CODE.OP_UNSUPPORTED, STATUS_TEXT[STATUS_CODE.OP_UNSUPPORTED]));
    }
    const paths = readStrings(data, 2);
    if (!paths) return this.reply(() => this.sftp.status(id, STATUS_CODE.BAD_MESSAGE, 'Bad message'));
    await fsp.rename(await this.jail.entry(paths[0]), await this.jail.entry(paths[1]));
    this.ok(id);
  }
}

async function applyAttrs(
  attrs: Attrs,
  apply: { chmod(mode: number): Promise<void>; truncate(size: number): Promise<void>; utimes(atime: number, mtime: number): Promise<void> },
): Promise<void> {
  if (typeof attrs.size === 'number') await apply.truncate(attrs.size);
  if (typeof attrs.mode === 'number') await apply.chmod(attrs.mode & 0o7777);
  if (typeof attrs.atime === 'number' && typeof attrs.mtime === 'number') await apply.utimes(attrs.atime, attrs.mtime);
  // uid/gid are accepted and ignored: the hub runs as one local user.
}

/**
 * SFTP's RENAME must fail when the target exists. As OpenSSH's sftp-server does, a file is moved by link + unlink,
 * which cannot replace anything; of two clients renaming the same file at once, only one succeeds. Where hard
 * links are not possible, and for folders, the target is checked first and then renamed.
 */
async function renameNoReplace(from: string, to: string): Promise<void> {
  const st = await fsp.lstat(from);
  if (st.isFile()) {
    try {
      await fsp.link(from, to);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'EPERM' && code !== 'EXDEV' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      return checkedRename(from, to);
    }
    try {
      await fsp.unlink(from);
    } catch (err) {
      await fsp.unlink(to).catch(() => undefined); // someone else moved it first: theirs, not ours
      throw err;
    }
    return;
  }
  await checkedRename(from, to);
}

async function checkedRename(from: string, to: string): Promise<void> {
  if (await fsp.lstat(to).then(() => true, () => false)) throw fsError('EEXIST', 'target exists');
  await fsp.rename(from, to);
}

// ---- listing --------------------------------------------------------------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A line as `ls -l` prints it (OpenSSH's format, with numeric owner and group). */
function longname(name: string, st: FsStats): string {
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? '-' : st.isFIFO() ? 'p' : st.isSocket() ? 's' : st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : '?';
  const bits = 'rwxrwxrwx';
  let perms = '';
  for (let i = 0; i < 9; i++) perms += st.mode & (1 << (8 - i)) ? bits[i] : '-';
  const d = st.mtime;
  const recent = Math.abs(Date.now() - d.getTime()) < 182 * 24 * 3600 * 1000;
  const time = recent ? `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}` : ` ${d.getFullYear()}`;
  const date = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} ${time}`;
  return `${type}${perms} ${String(st.nlink).padStart(3)} ${String(st.uid).padEnd(8)} ${String(st.gid).padEnd(8)} ${String(st.size).padStart(8)} ${date} ${name}`;
}
