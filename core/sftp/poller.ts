/**
 * Polls a remote folder so that no file is lost and none is processed twice, also with several runtimes:
 *
 * 1. list the folder; a file is a candidate once its size and mtime have not changed for `stableMs` and its
 *    name is not one of a file still being written (`.part`, `._TXFR`, dot files ...);
 * 2. candidates are taken in ESR order (date and sequence from the name), at most `maxPerPoll` at a time;
 * 3. each is claimed by an atomic rename into the claim folder, under a name that carries the owner and the
 *    time: of two runtimes only one rename succeeds;
 * 4. the flow confirms (`complete`) or fails (`fail`) the claim; only then is the file archived, deleted or
 *    left (remembered in the ledger), or moved to the error folder;
 * 5. a claim nobody settles within `claimTimeoutMs` (runtime restarted, flow lost the message) goes back to
 *    the folder and is taken again; after `maxAttempts` it goes to the error folder instead (a poison file).
 *
 * The ledger (settled files) lives in a StateStore: Node-RED context, so a persistent or shared store makes it
 * survive restarts and serve several runtimes.
 */
import * as path from 'node:path';
import type { SftpSession, RemoteEntry } from './session';
import { checkName, checkRelative } from './remote-path';
import { globToRegExp } from './glob';

export interface StateStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

export type AfterAction = 'archive' | 'delete' | 'leave';

export interface PollerOptions {
  /** Folder to watch, relative to the connection's root. */
  folder: string;
  /** Glob on file names, e.g. "GO_*.DAT". */
  glob?: string;
  /** Names never taken: files still being written. */
  ignore?: string;
  stableMs?: number;
  maxPerPoll?: number;
  order?: 'esr' | 'name' | 'mtime';
  after?: AfterAction;
  archiveFolder?: string;
  errorFolder?: string;
  /** Where claimed files wait for their confirmation. */
  claimFolder?: string;
  claimTimeoutMs?: number;
  maxAttempts?: number;
  /** Who claims: stable across restarts of one runtime, different between runtimes. */
  owner: string;
  /** Ledger entries are kept this long (ms). */
  ledgerTtlMs?: number;
  now?: () => number;
}

export interface Claim {
  /** Original file name. */
  name: string;
  /** Path of the claimed file (relative to the root), where it waits for confirmation. */
  path: string;
  /** Path it came from. */
  source: string;
  size: number;
  mtime: number;
  attempt: number;
}

export interface LedgerEntry {
  /** retry: handed back after a claim timed out; attempts so far. */
  state: 'confirmed' | 'done' | 'failed' | 'retry';
  at: number;
  attempts?: number;
}

const DEFAULT_IGNORE = '{.*,*.part,*.tmp,*._TXFR,*.filepart}';
const SEP = '@';

/** `YYYYMMDD_NNNNNNNN.DAT` at the end of ESR names: sorts by date, then sequence. */
function esrKey(name: string): string {
  const m = /(\d{8})_(\d{8})\.[A-Za-z]+$/.exec(name);
  return m ? `0${m[1]}${m[2]}${name}` : `1${name}`;
}

export class Poller {
  readonly options: Required<Omit<PollerOptions, 'glob' | 'now'>> & Pick<PollerOptions, 'glob'>;
  private readonly seen = new Map<string, { size: number; mtime: number; since: number }>();
  private readonly match?: RegExp;
  private readonly ignore: RegExp;
  private readonly now: () => number;
  /** Claims this runtime could not hand back (e.g. connection lost): retried at the next poll. */
  private readonly toRelease = new Set<string>();
  /** False until the first recovery: claims of this owner found then are from before a restart. */
  private started = false;

  constructor(
    private readonly session: SftpSession,
    private readonly state: StateStore,
    options: PollerOptions,
  ) {
    const folder = checkRelative(options.folder, 'folder');
    this.options = {
      stableMs: 5000,
      maxPerPoll: 10,
      order: 'esr',
      after: 'archive',
      archiveFolder: path.posix.join(folder, 'archive'),
      errorFolder: path.posix.join(folder, 'error'),
      claimFolder: path.posix.join(folder, '.esr-claims'),
      claimTimeoutMs: 10 * 60_000,
      maxAttempts: 3,
      ledgerTtlMs: 90 * 24 * 3600_000,
      ignore: DEFAULT_IGNORE,
      ...options,
      folder,
    };
    if (this.options.owner.includes(SEP) || this.options.owner.includes('/')) throw new Error(`owner must not contain "${SEP}" or "/"`);
    this.match = options.glob ? globToRegExp(options.glob) : undefined;
    this.ignore = globToRegExp(this.options.ignore);
    this.now = options.now ?? Date.now;
  }

  private ledgerKey(name: string): string {
    // Context keys treat "." and "[" as paths: file names are stored under a neutral form.
    return `esrLedger_${Buffer.from(`${this.options.folder}/${name}`).toString('base64url')}`;
  }

  async ledger(name: string): Promise<LedgerEntry | undefined> {
    const entry = (await this.state.get(this.ledgerKey(name))) as LedgerEntry | undefined;
    if (entry && this.now() - entry.at > this.options.ledgerTtlMs) return undefined;
    return entry;
  }

  private setLedger(name: string, entry: LedgerEntry | undefined): Promise<void> {
    return this.state.set(this.ledgerKey(name), entry);
  }

  private claimName(name: string, attempt: number): string {
    return `${name}${SEP}${this.options.owner}${SEP}${this.now()}${SEP}${attempt}`;
  }

  private parseClaim(claimed: string): { name: string; owner: string; at: number; attempt: number } | undefined {
    const parts = claimed.split(SEP);
    if (parts.length < 4) return undefined;
    const attempt = Number(parts.pop());
    const at = Number(parts.pop());
    const owner = parts.pop()!;
    if (!Number.isFinite(at) || !Number.isFinite(attempt)) return undefined;
    return { name: parts.join(SEP), owner, at, attempt };
  }

  /** Finds stable files and claims up to maxPerPoll of them. */
  async poll(): Promise<Claim[]> {
    await this.recover();
    const o = this.options;
    const entries = await this.session.list(o.folder);
    const now = this.now();
    const present = new Set<string>();
    const stable: RemoteEntry[] = [];
    for (const e of entries) {
      if (!e.isFile || this.ignore.test(e.name) || (this.match && !this.match.test(e.name))) continue;
      present.add(e.name);
      const prev = this.seen.get(e.name);
      if (!prev || prev.size !== e.size || prev.mtime !== e.mtime) {
        this.seen.set(e.name, { size: e.size, mtime: e.mtime, since: now });
        if (o.stableMs > 0) continue;
      } else if (now - prev.since < o.stableMs) continue;
      stable.push(e);
    }
    for (const name of this.seen.keys()) if (!present.has(name)) this.seen.delete(name);

    stable.sort((a, b) => {
      if (o.order === 'mtime') return a.mtime - b.mtime || a.name.localeCompare(b.name);
      if (o.order === 'name') return a.name.localeCompare(b.name);
      return esrKey(a.name).localeCompare(esrKey(b.name));
    });

    const claims: Claim[] = [];
    for (const e of stable) {
      if (claims.length >= o.maxPerPoll) break;
      const settled = await this.ledger(e.name);
      if (settled && (settled.state === 'done' || settled.state === 'failed')) continue; // 'leave': already handled
      const claim = await this.claim(e, settled?.state === 'retry' ? (settled.attempts ?? 0) + 1 : 1);
      if (claim) claims.push(claim);
    }
    return claims;
  }

  private async claim(e: RemoteEntry, attempt: number): Promise<Claim | undefined> {
    const claimPath = path.posix.join(this.options.claimFolder, this.claimName(e.name, attempt));
    try {
      await this.session.rename(e.path, claimPath, { mkdirs: true });
    } catch (err) {
      // Another runtime took it first (the source is gone), or it vanished: not ours.
      if ((err as { code?: string }).code === 'NO_SUCH_FILE') return undefined;
      if (!(await this.session.stat(e.path).catch(() => 'unknown'))) return undefined;
      throw err;
    }
    this.seen.delete(e.name);
    return { name: e.name, path: claimPath, source: e.path, size: e.size, mtime: e.mtime, attempt };
  }

  /**
   * poll() and download each claimed file into memory. A download that fails hands its claim back, so the file
   * is taken again by a later poll; the errors are returned for reporting.
   */
  async takeFiles(): Promise<{ files: { claim: Claim; content: Buffer }[]; errors: { claim: Claim; error: Error }[] }> {
    const files: { claim: Claim; content: Buffer }[] = [];
    const errors: { claim: Claim; error: Error }[] = [];
    for (const claim of await this.poll()) {
      try {
        files.push({ claim, content: await this.session.getBuffer(claim.path) });
      } catch (error) {
        errors.push({ claim, error: error as Error });
        await this.release(claim).catch(() => undefined); // retried by the next poll's recovery
      }
    }
    return { files, errors };
  }

  /** The flow handled the file: archive / delete / leave it, and remember it. Safe to call again after a failure. */
  async complete(claim: Claim): Promise<void> {
    // Remembered first: if the move below fails, recovery finishes it instead of handing the file out again.
    await this.setLedger(claim.name, { state: 'confirmed', at: this.now(), attempts: claim.attempt });
    await this.afterAction(claim.path, claim.name);
    this.toRelease.delete(claim.path);
    await this.setLedger(claim.name, { state: 'done', at: this.now(), attempts: claim.attempt });
  }

  private async afterAction(claimPath: string, name: string): Promise<void> {
    const o = this.options;
    if (o.after === 'delete') {
      await this.deleteIfPresent(claimPath);
    } else if (o.after === 'archive') {
      await this.moveIfPresent(claimPath, await this.freeName(o.archiveFolder, name));
    } else {
      await this.moveIfPresent(claimPath, path.posix.join(o.folder, name));
    }
  }

  /** The flow could not handle the file: it goes to the error folder once, and is not retried. */
  async fail(claim: Claim): Promise<void> {
    await this.setLedger(claim.name, { state: 'failed', at: this.now(), attempts: claim.attempt });
    await this.moveIfPresent(claim.path, await this.freeName(this.options.errorFolder, claim.name));
    this.toRelease.delete(claim.path);
  }

  /** Hands a claim back untouched (e.g. the download failed): it is taken again by a later poll. */
  async release(claim: Claim): Promise<void> {
    this.toRelease.add(claim.path);
    await this.moveIfPresent(claim.path, claim.source);
    this.toRelease.delete(claim.path);
  }

  /**
   * Finishes what was left: claims this runtime could not release, claims whose confirmation was recorded but
   * not acted on, and claims (of any runtime) older than the claim timeout.
   */
  async recover(): Promise<void> {
    const o = this.options;
    const entries = await this.session.list(o.claimFolder).catch((err) => {
      if ((err as { code?: string }).code === 'NO_SUCH_FILE') return [] as RemoteEntry[];
      throw err;
    });
    const now = this.now();
    const restarted = !this.started;
    this.started = true;
    for (const e of entries) {
      if (!e.isFile) continue;
      const c = this.parseClaim(e.name);
      if (!c) continue;
      const mine = c.owner === o.owner;
      // A claim of ours from before a restart will never be settled: treat it as timed out.
      const expired = now - c.at >= o.claimTimeoutMs || (mine && restarted);
      const settled = await this.ledger(c.name);
      if (settled?.state === 'confirmed' || settled?.state === 'done') {
        if (mine || expired) {
          await this.afterAction(e.path, c.name);
          await this.setLedger(c.name, { state: 'done', at: now, attempts: c.attempt });
        }
        continue;
      }
      if (settled?.state === 'failed') {
        if (mine || expired) await this.moveIfPresent(e.path, await this.freeName(o.errorFolder, c.name));
        continue;
      }
      if (this.toRelease.has(e.path) || expired) {
        this.toRelease.delete(e.path);
        if (c.attempt >= o.maxAttempts) {
          await this.setLedger(c.name, { state: 'failed', at: now, attempts: c.attempt });
          await this.moveIfPresent(e.path, await this.freeName(o.errorFolder, c.name));
        } else {
          // Back into the folder under its own name; a timed-out claim counts as an attempt.
          if (expired) await this.setLedger(c.name, { state: 'retry', at: now, attempts: c.attempt });
          await this.moveIfPresent(e.path, path.posix.join(o.folder, c.name));
        }
      }
    }
  }

  private async moveIfPresent(from: string, to: string): Promise<void> {
    try {
      await this.session.rename(from, to, { mkdirs: true });
    } catch (err) {
      if ((err as { code?: string }).code === 'NO_SUCH_FILE' && !(await this.session.stat(from))) return; // done already
      throw err;
    }
  }

  private async deleteIfPresent(p: string): Promise<void> {
    try {
      await this.session.delete(p);
    } catch (err) {
      if ((err as { code?: string }).code === 'NO_SUCH_FILE' && !(await this.session.stat(p))) return;
      throw err;
    }
  }

  /** `folder/name`, or `folder/name.1` ... when a file of that name is already there. */
  private async freeName(folder: string, name: string): Promise<string> {
    checkName(name);
    for (let n = 0; n < 1000; n++) {
      const candidate = path.posix.join(folder, n === 0 ? name : `${name}.${n}`);
      if (!(await this.session.stat(candidate))) return candidate;
    }
    throw new Error(`no free name for ${name} in ${folder}`);
  }
}
