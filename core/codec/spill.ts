/**
 * People held on disk instead of in memory, for person mode over a file whose rows may be anywhere (the GDW feed is
 * grouped by record type, so a person is complete only at the end of the file).
 *
 * Design: rows are spread over BUCKETS temporary files by a hash of their Person ID, one JSON line per row, in file
 * order; at the end each bucket is read back alone and grouped in memory. So memory holds one bucket (about
 * 1/BUCKETS of the file) instead of the whole file, each person's rows stay in file order, and the file is read
 * once — which matters for a download, which cannot be read twice. Reading in passes would need the source twice;
 * an external sort would write and read every row log(n) times instead of twice. People come out bucket by bucket,
 * not in the order they first appear in the file. 256 buckets: a 1 GB GDW file peaked at 869 MB RSS in a real
 * Node-RED with 64 buckets and 434 MB with 256 (record mode of the same file: 283 MB); 256 files stay well within
 * the descriptors a process may open (Node raises its soft limit to the hard one).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EsrRecord } from './reader';
import type { PersonGroup } from './people';

export const BUCKETS = 256;

/** FNV-1a: the same Person ID always lands in the same bucket. */
function bucketOf(personId: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < personId.length; i++) {
    h ^= personId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % buckets;
}

/** This process's start (ms since the epoch): a folder older than it was not made by this process. */
const STARTED = Date.now() - process.uptime() * 1000;

/**
 * Whether a process with this id is running (EPERM: it is, but another user's). For temporary files named with the
 * pid of the process that made them: those of a process that is gone can be removed.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the spill folders under `parent` that no running read uses: those a process left when it was killed
 * (named people-<pid>-…: the pid is not running, or it is this process's but the folder is older than this process,
 * as in a container where Node-RED gets the same pid at every start), and unnamed ones (people-…, from before folders
 * carried the pid) older than this process. A folder of another running process (a second runtime sharing the
 * folder) is kept. Best effort: a folder that cannot be removed is left.
 */
export function removeStaleSpills(parent: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return; // no folder yet
  }
  for (const name of names) {
    const m = /^people-(?:(\d+)-)?/.exec(name);
    if (!m) continue;
    const folder = path.join(parent, name);
    try {
      const older = fs.statSync(folder).mtimeMs < STARTED;
      const pid = m[1] === undefined ? undefined : Number(m[1]);
      const stale = pid === undefined ? older : pid === process.pid ? older : !alive(pid);
      if (stale) fs.rmSync(folder, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
}

/** Rows of people written to bucket files under a folder of their own, removed by groups() or remove(). */
export class SpilledPeople {
  private readonly dir: string;
  private readonly files: string[] = [];
  private readonly out: fs.WriteStream[] = [];
  private removed = false;

  /** `parent`: an existing folder to make the temporary folder in. Throws the file system's error. */
  constructor(parent: string, private readonly buckets = BUCKETS) {
    fs.mkdirSync(parent, { recursive: true });
    // Folders a killed process left are removed first; this one is named with this process's id, so that a later
    // start knows it for stale once this process is gone.
    removeStaleSpills(parent);
    this.dir = fs.mkdtempSync(path.join(parent, `people-${process.pid}-`));
    for (let i = 0; i < buckets; i++) {
      const file = path.join(this.dir, `${i}.jsonl`);
      this.files.push(file);
      const w = fs.createWriteStream(file);
      w.on('error', () => undefined); // reported by the next add, or groups()
      this.out.push(w);
    }
  }

  /** The temporary folder (for tests). */
  get folder(): string {
    return this.dir;
  }

  /** Adds one row of a person; resolves once the bucket can take more (backpressure), rejects on a write error. */
  add(personId: string, record: EsrRecord): Promise<void> | undefined {
    const w = this.out[bucketOf(personId, this.buckets)];
    if (w.errored) return Promise.reject(w.errored);
    if (w.write(`${JSON.stringify([personId, record])}\n`)) return undefined;
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        w.off('drain', done);
        w.off('error', done);
        if (err) reject(err);
        else resolve();
      };
      w.once('drain', done);
      w.once('error', done);
    });
  }

  /**
   * Every person, bucket by bucket, each person's rows in file order; each bucket file is deleted once read, and the
   * folder at the end (also when the caller stops early: see remove()).
   */
  async *groups(): AsyncGenerator<PersonGroup[]> {
    try {
      await Promise.all(this.out.map((w) => new Promise<void>((resolve, reject) => {
        if (w.errored) return reject(w.errored);
        w.end(() => (w.errored ? reject(w.errored) : resolve()));
      })));
      for (const file of this.files) {
        const text = await fs.promises.readFile(file, 'utf8');
        await fs.promises.rm(file, { force: true });
        const people = new Map<string, PersonGroup>();
        let start = 0;
        for (let end = text.indexOf('\n'); end !== -1; start = end + 1, end = text.indexOf('\n', start)) {
          const [personId, record] = JSON.parse(text.slice(start, end)) as [string, EsrRecord];
          let group = people.get(personId);
          if (!group) people.set(personId, (group = { type: 'person', personId, records: [] }));
          group.records.push(record);
        }
        if (people.size) yield [...people.values()];
      }
    } finally {
      await this.remove();
    }
  }

  /**
   * Closes the bucket files and removes the folder; safe to call more than once. Resolves once the folder is gone:
   * a bucket file still being opened would otherwise be made in it again after it was emptied.
   */
  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    await Promise.all(this.out.map((w) => (w.closed ? undefined : new Promise<void>((resolve) => w.once('close', () => resolve()).destroy()))));
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }
}
