/**
 * Polls a remote folder so that no file is lost and none is processed twice, also with several runtimes:
 *
 * 1. list the folder; a file is a candidate once its size and mtime have not changed for `stableMs` and its
 *    name is not one of a file still being written (`.part`, `._TXFR`, dot files ...);
 * 2. candidates are taken in ESR order (date and sequence from the name), at most `maxPerPoll` at a time, and
 *    never past an earlier file that is still being written;
 * 3. each is claimed by an atomic rename into the claim folder, under a name that carries the owner and the
 *    time: of two runtimes only one rename succeeds;
 * 4. the flow confirms (`complete`) or fails (`fail`) the claim; only then is the file archived, deleted or
 *    left (remembered in the ledger), or moved to the error folder;
 * 5. a claim nobody settles within `claimTimeoutMs` (runtime restarted, flow lost the message), or whose
 *    download failed, goes back to the folder and is taken again; after `maxAttempts` it goes to the error folder
 *    instead (a poison file).
 *
 * The ledger lives in a StateStore: Node-RED context, so a persistent or shared store makes it survive restarts and
 * serve several runtimes. It holds a file only while it is being settled, and for good only in 'leave' mode.
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
  /**
   * One file at a time: claim nothing while a claim of a file this poller would take is neither settled nor timed
   * out, whoever made it (an earlier deployment of the flow, another runtime). Then one file per poll.
   */
  oneAtATime?: boolean;
  order?: 'esr' | 'name' | 'mtime';
  after?: AfterAction;
  archiveFolder?: string;
  errorFolder?: string;
  /** Where claimed files wait for their confirmation. */
  claimFolder?: string;
  claimTimeoutMs?: number;
  maxAttempts?: number;
  /** Who claims: stable across restarts of one runtime, different between runtimes and between nodes. */
  owner: string;
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
  /**
   * confirmed: the flow handled it, the after-action may still be pending; done: left in place ('leave');
   * retry: handed back, `attempts` so far; failed: being moved to the error folder.
   */
  state: 'confirmed' | 'done' | 'failed' | 'retry';
  at: number;
  attempts?: number;
  /** Size and mtime of a file left in place: a file changed since is a new version and is taken again. */
  size?: number;
  mtime?: number;
  /** Times the after-action was refused (e.g. permission denied): retried at most maxAttempts times. */
  refused?: number;
}

export interface PollResult {
  claims: Claim[];
  /** Problems with single files (a rename refused, a name that cannot be used): polling goes on regardless. */
  errors: Error[];
}

const DEFAULT_IGNORE = '{.*,*.part,*.tmp,*._TXFR,*.filepart}';
const SEP = '@';

/** Owners whose earlier claims this process has already recovered (a node redeploy is not a restart). */
const startedOwners = new Set<string>();

/** `YYYYMMDD_NNNNNNNN.DAT` at the end of ESR names: sorts by date, then sequence. */
function esrKey(name: string): string {
  const m = /(\d{8})_(\d{8})\.[A-Za-z]+$/.exec(name);
  return m ? `0${m[1]}${m[2]}${name}` : `1${name}`;
}

function code(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

export class Poller {
  /** Forgets which owners recovered their claims, as a process restart does (for tests of restarts). */
  static forgetRecoveredOwners(): void {
    startedOwners.clear();
  }

  readonly options: Required<Omit<PollerOptions, 'glob' | 'now'>> & Pick<PollerOptions, 'glob'>;
  private readonly seen = new Map<string, { size: number; mtime: number; since: number }>();
  private readonly match?: RegExp;
  private readonly ignore: RegExp;
  private readonly now: () => number;
  /** Claims this runtime could not hand back (e.g. connection lost): retried by the next recovery. */
  private readonly toRelease = new Set<string>();
  /** Claims the last recovery left waiting for their confirmation (files this poller would take). */
  private waiting = 0;

  constructor(
    private readonly session: SftpSession,
    private readonly state: StateStore,
    options: PollerOptions,
  ) {
    const folder = checkRelative(options.folder, 'folder');
    this.options = {
      stableMs: 5000,
      maxPerPoll: 10,
      oneAtATime: false,
      order: 'esr',
      after: 'archive',
      archiveFolder: path.posix.join(folder, 'archive'),
      errorFolder: path.posix.join(folder, 'error'),
      claimFolder: path.posix.join(folder, '.esr-claims'),
      claimTimeoutMs: 10 * 60_000,
      maxAttempts: 3,
      ignore: DEFAULT_IGNORE,
      ...options,
      folder,
    };
    if (/[@/]/.test(this.options.owner)) throw new Error(`owner must not contain "${SEP}" or "/"`);
    this.match = options.glob ? globToRegExp(options.glob) : undefined;
    this.ignore = globToRegExp(this.options.ignore);
    this.now = options.now ?? Date.now;
  }

  private ledgerKey(name: string): string {
    // Context keys treat "." and "[" as paths: file names are stored under a neutral form.
    return `esrLedger_${Buffer.from(`${this.options.folder}/${name}`).toString('base64url')}`;
  }

  async ledger(name: string): Promise<LedgerEntry | undefined> {
    return (await this.state.get(this.ledgerKey(name))) as LedgerEntry | undefined;
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

  /** Finds stable files and claims up to maxPerPoll of them, in order. */
  async poll(): Promise<PollResult> {
    const errors = await this.recover();
    const o = this.options;
    if (o.oneAtATime && this.waiting > 0) return { claims: [], errors };
    const entries = await this.session.list(o.folder);
    const now = this.now();
    const present = new Set<string>();
    const candidates: { entry: RemoteEntry; stable: boolean }[] = [];
    for (const e of entries) {
      if (!e.isFile || this.ignore.test(e.name) || (this.match && !this.match.test(e.name))) continue;
      try {
        checkName(e.name);
      } catch (err) {
        errors.push(err as Error); // e.g. a backslash: a name the hub should not send; skipped, never claimed
        continue;
      }
      present.add(e.name);
      const prev = this.seen.get(e.name);
      let stable = true;
      if (!prev || prev.size !== e.size || prev.mtime !== e.mtime) {
        this.seen.set(e.name, { size: e.size, mtime: e.mtime, since: now });
        stable = o.stableMs <= 0;
      } else if (now - prev.since < o.stableMs) stable = false;
      candidates.push({ entry: e, stable });
    }
    for (const name of this.seen.keys()) if (!present.has(name)) this.seen.delete(name);

    candidates.sort((a, b) => {
      if (o.order === 'mtime') return a.entry.mtime - b.entry.mtime || a.entry.name.localeCompare(b.entry.name);
      if (o.order === 'name') return a.entry.name.localeCompare(b.entry.name);
      return esrKey(a.entry.name).localeCompare(esrKey(b.entry.name));
    });

    const claims: Claim[] = [];
    for (const { entry: e, stable } of candidates) {
      if (claims.length >= (o.oneAtATime ? 1 : o.maxPerPoll)) break;
      const settled = await this.ledger(e.name);
      if (settled?.state === 'confirmed') continue; // handled; its after-action is being finished
      if (settled?.state === 'done' && settled.size === e.size && settled.mtime === e.mtime) continue; // left in place
      // Files are applied in order (ESR deltas build on each other): never past an earlier file still being written.
      if (!stable) {
        if (o.order === 'esr') break;
        continue;
      }
      try {
        const claim = await this.claim(e, settled?.state === 'retry' ? (settled.attempts ?? 0) + 1 : 1);
        if (claim) claims.push(claim);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    return { claims, errors };
  }

  private async claim(e: RemoteEntry, attempt: number): Promise<Claim | undefined> {
    const claimPath = path.posix.join(this.options.claimFolder, this.claimName(e.name, attempt));
    try {
      await this.session.rename(e.path, claimPath, { mkdirs: true });
    } catch (err) {
      // The rename may have happened with its reply lost: then the claim is there, and ours.
      if (code(err) === 'NO_SUCH_FILE' || code(err) === 'CONNECTION_LOST') {
        if (await this.session.stat(claimPath).catch(() => undefined)) return this.claimed(e, claimPath, attempt);
        if (code(err) === 'NO_SUCH_FILE') return undefined; // another runtime took it first
      }
      throw err;
    }
    return this.claimed(e, claimPath, attempt);
  }

  private claimed(e: RemoteEntry, claimPath: string, attempt: number): Claim {
    this.seen.delete(e.name);
    return { name: e.name, path: claimPath, source: e.path, size: e.size, mtime: e.mtime, attempt };
  }

  /**
   * poll() and download each claimed file into memory. A download that fails hands its claim back (counted as an
   * attempt), so the file is taken again by a later poll or, after maxAttempts, goes to the error folder.
   */
  async takeFiles(): Promise<{ files: { claim: Claim; content: Buffer }[]; errors: { claim?: Claim; error: Error }[] }> {
    const files: { claim: Claim; content: Buffer }[] = [];
    const { claims, errors: pollErrors } = await this.poll();
    const errors: { claim?: Claim; error: Error }[] = pollErrors.map((error) => ({ error }));
    for (const claim of claims) {
      try {
        files.push({ claim, content: await this.session.getBuffer(claim.path) });
      } catch (error) {
        errors.push({ claim, error: error as Error });
        await this.release(claim).catch(() => undefined); // finished by the next recovery if the connection is gone
      }
    }
    return { files, errors };
  }

  /** The flow handled the file: archive / delete / leave it. Safe to call again after a failure. */
  async complete(claim: Claim): Promise<void> {
    // Remembered first: if the move below fails, recovery finishes it instead of handing the file out again.
    await this.setLedger(claim.name, { state: 'confirmed', at: this.now(), attempts: claim.attempt });
    try {
      await this.finish(claim.path, claim.name, claim);
    } catch (err) {
      await this.setLedger(claim.name, { state: 'confirmed', at: this.now(), attempts: claim.attempt, refused: 1 });
      throw err;
    }
    this.toRelease.delete(claim.path);
  }

  private async finish(claimPath: string, name: string, file: { size: number; mtime: number }): Promise<void> {
    const o = this.options;
    if (o.after === 'delete') await this.deleteIfPresent(claimPath);
    else if (o.after === 'archive') await this.moveIfPresent(claimPath, await this.freeName(o.archiveFolder, name));
    else await this.moveIfPresent(claimPath, path.posix.join(o.folder, name));
    // Only a file left in place needs remembering; an archived or deleted one is gone from the folder.
    await this.setLedger(name, o.after === 'leave' ? { state: 'done', at: this.now(), size: file.size, mtime: file.mtime } : undefined);
  }

  /**
   * The flow could not handle the file: it goes to the error folder once, and is not retried. A file whose
   * confirmation was already recorded is completed instead (a failure reported after success must not lose it).
   */
  async fail(claim: Claim): Promise<void> {
    if ((await this.ledger(claim.name))?.state === 'confirmed') return this.complete(claim);
    await this.setLedger(claim.name, { state: 'failed', at: this.now(), attempts: claim.attempt });
    await this.moveIfPresent(claim.path, await this.freeName(this.options.errorFolder, claim.name));
    await this.setLedger(claim.name, undefined);
    this.toRelease.delete(claim.path);
  }

  /**
   * Hands a claim back (e.g. its download failed): counted as an attempt; the file is taken again by a later poll,
   * or goes to the error folder after maxAttempts.
   */
  async release(claim: Claim): Promise<void> {
    this.toRelease.add(claim.path);
    await this.handBack(claim.path, claim.name, claim.attempt);
    this.toRelease.delete(claim.path);
  }

  private async handBack(claimPath: string, name: string, attempt: number): Promise<void> {
    const o = this.options;
    if (attempt >= o.maxAttempts) {
      await this.setLedger(name, { state: 'failed', at: this.now(), attempts: attempt });
      await this.moveIfPresent(claimPath, await this.freeName(o.errorFolder, name));
      await this.setLedger(name, undefined);
      return;
    }
    await this.setLedger(name, { state: 'retry', at: this.now(), attempts: attempt });
    await this.moveIfPresent(claimPath, path.posix.join(o.folder, name));
  }

  /**
   * Finishes what was left: claims this runtime could not release, claims whose settlement was recorded but not
   * acted on, and claims (of any runtime) older than the claim timeout. Each claim on its own: one that cannot be
   * finished is reported and the others go on.
   */
  async recover(): Promise<Error[]> {
    const o = this.options;
    const errors: Error[] = [];
    const entries = await this.session.list(o.claimFolder).catch((err) => {
      if (code(err) === 'NO_SUCH_FILE') return [] as RemoteEntry[];
      throw err;
    });
    const now = this.now();
    this.waiting = 0;
    // After a process restart, this owner's claims can never be settled: hand them back at once.
    const restarted = !startedOwners.has(o.owner);
    startedOwners.add(o.owner);
    for (const e of entries) {
      if (!e.isFile) continue;
      const c = this.parseClaim(e.name);
      if (!c) continue;
      const mine = c.owner === o.owner;
      const expired = now - c.at >= o.claimTimeoutMs || (mine && restarted);
      try {
        const settled = await this.ledger(c.name);
        if (settled?.state === 'confirmed') {
          // An after-action the server keeps refusing is tried maxAttempts times, then left for a person to sort out.
          if ((mine || expired) && (settled.refused ?? 0) < o.maxAttempts) {
            try {
              await this.finish(e.path, c.name, e);
            } catch (err) {
              const refused = (settled.refused ?? 0) + 1;
              await this.setLedger(c.name, { ...settled, refused });
              const left = refused >= o.maxAttempts ? '; giving up: move it by hand from the claim folder' : '';
              throw Object.assign(new Error(`${(err as Error).message} (after-action for ${c.name} refused ${refused} times${left})`), { code: code(err) });
            }
          }
        } else if (settled?.state === 'failed') {
          if (mine || expired) {
            await this.moveIfPresent(e.path, await this.freeName(o.errorFolder, c.name));
            await this.setLedger(c.name, undefined);
          }
        } else if (this.toRelease.has(e.path) || expired) {
          this.toRelease.delete(e.path);
          await this.handBack(e.path, c.name, c.attempt);
        } else if (!this.match || this.match.test(c.name)) {
          this.waiting++; // sent, not yet confirmed
        }
      } catch (err) {
        errors.push(err as Error);
      }
    }
    return errors;
  }

  private async moveIfPresent(from: string, to: string): Promise<void> {
    try {
      await this.session.rename(from, to, { mkdirs: true });
    } catch (err) {
      // Gone already (a reply lost after the rename happened, or another runtime finished it): nothing to do.
      if ((code(err) === 'NO_SUCH_FILE' || code(err) === 'CONNECTION_LOST') && !(await this.session.stat(from))) return;
      throw err;
    }
  }

  private async deleteIfPresent(p: string): Promise<void> {
    try {
      await this.session.delete(p);
    } catch (err) {
      if ((code(err) === 'NO_SUCH_FILE' || code(err) === 'CONNECTION_LOST') && !(await this.session.stat(p))) return;
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
