/**
 * The local state store: plain files in one folder, each fact on disk (fsynced, with its folder) before it is
 * acted on. Safe for several processes on one host without a lock: every step is one atomic file operation.
 *
 * - A counter's numbers are empty files named by the number, made with exclusive create (`open(..., 'wx')`): only
 *   one process can make a given file, so a number is never handed out twice; the highest file is the last number.
 *   Files are never removed, so no process can make a number again that was handed out before.
 * - A ledger entry is a JSON file replaced whole (write-file-atomic: a temporary file, fsync, rename).
 * - A lease is a JSON file {owner, expires} made with exclusive create; a lapsed one is taken over by renaming it
 *   away first (of two processes only one rename succeeds).
 *
 * - A document is one file replaced whole the same way (write-file-atomic), so a large fact that changes together
 *   (a staff snapshot and the file it is up to date with) costs one write and one fsync, not one per part.
 *
 * Layout on disk: `<folder>/counters/<counter>/<n>`, `<folder>/ledgers/<ledger>/<key>.json`, `<folder>/leases/<name>`,
 * `<folder>/documents/<name>.json`,
 * where each name is made safe for a file name and kept unique with a hash.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import writeFileAtomic from 'write-file-atomic';
import { StateError, type LedgerValue, type StateStore } from './store';

/** A file name for any text: readable where possible, unique through a hash. */
function safeName(text: string): string {
  const readable = text.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
  return `${readable}-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** fsync a folder, so that a file made, renamed or removed in it survives a crash of the machine. */
async function syncFolder(folder: string): Promise<void> {
  const fd = await fs.promises.open(folder, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

export interface LocalStoreOptions {
  /** The folder (made if missing); e.g. `<Node-RED user directory>/esr-state`. */
  folder: string;
  /** Clock for leases, in ms (tests). */
  now?: () => number;
}

export class LocalStateStore implements StateStore {
  readonly kind = 'local';
  private readonly folder: string;
  private readonly now: () => number;
  private readonly made = new Set<string>();

  constructor(options: LocalStoreOptions) {
    this.folder = path.resolve(options.folder);
    this.now = options.now ?? Date.now;
  }

  private async dir(...parts: string[]): Promise<string> {
    const dir = path.join(this.folder, ...parts);
    if (!this.made.has(dir)) {
      try {
        await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new StateError(`cannot make the state folder ${dir} (${code(err) ?? 'error'})`, 'STATE_UNAVAILABLE');
      }
      await syncFolder(path.dirname(dir));
      this.made.add(dir);
    }
    return dir;
  }

  private async highest(dir: string): Promise<number | undefined> {
    let top: number | undefined;
    for (const name of await fs.promises.readdir(dir)) {
      if (!/^\d+$/.test(name)) continue;
      const n = Number(name);
      if (top === undefined || n > top) top = n;
    }
    return top;
  }

  async lastNumber(counter: string): Promise<number | undefined> {
    const dir = path.join(this.folder, 'counters', safeName(counter));
    try {
      return await this.highest(dir);
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  async nextNumber(counter: string, first: number): Promise<number> {
    if (!Number.isSafeInteger(first)) throw new StateError('the first number of a counter must be a whole number', 'STATE_INVALID');
    const dir = await this.dir('counters', safeName(counter));
    for (;;) {
      const top = await this.highest(dir);
      const n = top === undefined ? first : Math.max(top + 1, first);
      let fd: fs.promises.FileHandle;
      try {
        fd = await fs.promises.open(path.join(dir, String(n)), 'wx', 0o600);
      } catch (err) {
        if (code(err) === 'EEXIST') continue; // another process took it a moment ago
        throw err;
      }
      try {
        await fd.sync();
      } finally {
        await fd.close();
      }
      await syncFolder(dir);
      return n;
    }
  }

  private entryPath(dir: string, key: string): string {
    return path.join(dir, `${safeName(key)}.json`);
  }

  async get(ledger: string, key: string): Promise<LedgerValue | undefined> {
    const file = this.entryPath(path.join(this.folder, 'ledgers', safeName(ledger)), key);
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return (JSON.parse(text) as { value: LedgerValue }).value;
    } catch {
      throw new StateError(`the ledger entry ${path.basename(file)} is not JSON`, 'STATE_CORRUPT');
    }
  }

  async set(ledger: string, key: string, value: LedgerValue | undefined): Promise<void> {
    const dir = await this.dir('ledgers', safeName(ledger));
    const file = this.entryPath(dir, key);
    if (value === undefined) {
      try {
        await fs.promises.unlink(file);
      } catch (err) {
        if (code(err) !== 'ENOENT') throw err;
      }
    } else await writeFileAtomic(file, JSON.stringify({ key, value }), { mode: 0o600, fsync: true });
    await syncFolder(dir);
  }

  async getDocument(name: string): Promise<string | undefined> {
    const file = path.join(this.folder, 'documents', `${safeName(name)}.json`);
    try {
      return await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw new StateError(`cannot read the state document ${path.basename(file)} (${code(err) ?? 'error'})`, 'STATE_UNAVAILABLE');
    }
  }

  async putDocument(name: string, text: string | Buffer | undefined): Promise<void> {
    const dir = await this.dir('documents');
    const file = path.join(dir, `${safeName(name)}.json`);
    try {
      if (text === undefined) await fs.promises.unlink(file).catch((err) => (code(err) === 'ENOENT' ? undefined : Promise.reject(err)));
      else await writeFileAtomic(file, text, { mode: 0o600, fsync: true });
    } catch (err) {
      throw new StateError(`cannot write the state document ${path.basename(file)} (${code(err) ?? 'error'})`, 'STATE_UNAVAILABLE');
    }
    await syncFolder(dir);
  }

  /**
   * A lease is renewed or released in place only while it has more than this left, so that no other process can
   * have taken it over in the meantime (it may only take over a lapsed lease).
   */
  private static readonly MARGIN_MS = 2000;

  async lease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const dir = await this.dir('leases');
    const file = path.join(dir, safeName(name));
    const body = () => JSON.stringify({ name, owner, expires: this.now() + ttlMs });
    for (let tries = 0; tries < 20; tries++) {
      try {
        const fd = await fs.promises.open(file, 'wx', 0o600);
        try {
          await fd.writeFile(body());
          await fd.sync();
        } finally {
          await fd.close();
        }
        await syncFolder(dir);
        return true;
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
      }
      const held = await this.readLease(file);
      if (held === 'gone') continue; // moved away by another process a moment ago
      const now = this.now();
      if (held && held.owner === owner && held.expires > now + LocalStateStore.MARGIN_MS) {
        await writeFileAtomic(file, body(), { mode: 0o600, fsync: true });
        await syncFolder(dir);
        return true;
      }
      if (held && held.owner !== owner && held.expires > now) return false;
      // Lapsed, about to lapse, or unreadable (cut by a crash while being made): moved away, then taken as new.
      try {
        const aside = `${file}.${randomUUID()}.lapsed`;
        await fs.promises.rename(file, aside);
        await fs.promises.unlink(aside);
      } catch (err) {
        if (code(err) !== 'ENOENT') throw err; // another process moved it first: try again
      }
    }
    return false;
  }

  private async readLease(file: string): Promise<{ owner: string; expires: number } | undefined | 'gone'> {
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      if (code(err) === 'ENOENT') return 'gone';
      throw err;
    }
    try {
      const v = JSON.parse(text) as { owner?: unknown; expires?: unknown };
      return typeof v.owner === 'string' && typeof v.expires === 'number' ? { owner: v.owner, expires: v.expires } : undefined;
    } catch {
      return undefined;
    }
  }

  /** Gives the lease up while it is safely ours; one about to lapse is left to lapse. */
  async release(name: string, owner: string): Promise<void> {
    const dir = path.join(this.folder, 'leases');
    const file = path.join(dir, safeName(name));
    const held = await this.readLease(file);
    if (held === 'gone' || held?.owner !== owner || held.expires <= this.now() + LocalStateStore.MARGIN_MS) return;
    try {
      const aside = `${file}.${randomUUID()}.released`;
      await fs.promises.rename(file, aside);
      await fs.promises.unlink(aside);
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
    }
    await syncFolder(dir);
  }

  async close(): Promise<void> {
    this.made.clear();
  }
}
