/**
 * Polls a remote folder so that no file is lost and none is processed twice, also with several runtimes:
 *
 * 1. list the folder; a file is a candidate once its size and mtime have not changed for `stableMs` and its
 *    name is not one of a file still being written (`.part`, `._TXFR`, dot files ...);
 * 2. candidates are taken in ESR order (date and sequence from the name), at most `maxPerPoll` at a time, and
 *    never past an earlier file that is still being written;
 * 3. each is claimed by an atomic rename into the claim folder, under a name that carries the owner and the
 *    time: of two runtimes only one rename succeeds;
 * 4. the claim is written to the ledger with a secret token before the file is handed on; the flow confirms
 *    (`complete`) or fails (`fail`) it with a ticket carrying that token — a ticket this poller did not make, or for
 *    a claim it no longer holds, is refused and nothing is moved; only then is the file archived, deleted or left
 *    (remembered in the ledger), or moved to the error folder;
 * 5. a claim nobody settles within `claimTimeoutMs` (runtime restarted, flow lost the message), or whose
 *    download failed, goes back to the folder and is taken again with the next attempt number; after `maxAttempts`
 *    it goes to the error folder instead (a poison file). Claims of a runtime that restarted, or of a poller closed
 *    by a redeploy, are handed back at once.
 *
 * Every delivery of a file carries the same delivery id (from the ledger's name and the file's name, size and
 * mtime) and its attempt number, so that a target can drop a repeat: delivery is at least once.
 *
 * The ledger and the one-file-at-a-time lease live in a StateStore (core/state): on disk or in Redis before they are
 * acted on, never in Node-RED context. The ledger holds a file while it is being settled, and for good only in
 * 'leave' mode.
 */
import * as path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { checkName, checkRelative, globToRegExp, TransportError, type RemoteEntry, type Transport } from '../transport';
import type { LedgerValue, StateStore } from '../state';

export type AfterAction = 'archive' | 'delete' | 'leave';

export interface PollerOptions {
  /** Folder to watch, relative to the connection's root. */
  folder: string;
  /**
   * The ledger's name: what it is about — the server, folder and pattern (e.g. "user@hub:22/Out/rostering GO_*.DAT"),
   * never a node id, so a re-imported flow keeps it and pollers of other folders never touch it.
   */
  ledger: string;
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
  /**
   * How a file is claimed. 'rename' (default): renamed into the claim folder, which needs rename rights in the
   * polled folder. 'ledger': left where it is and claimed in the state store only (a lease per file, then the ledger),
   * for mailboxes where the account may not rename or write (a read-only `out`: use 'leave' or 'delete'); across
   * runtimes the state store decides, so they must share it (Redis).
   */
  claim?: 'rename' | 'ledger';
  claimTimeoutMs?: number;
  maxAttempts?: number;
  /** Who claims: stable across restarts of one runtime, different between runtimes and between nodes. */
  owner: string;
  now?: () => number;
  /**
   * Told of each step of a file's life, for an audit trail (see PollerEvent). Called after the step is recorded; an
   * exception it throws is ignored.
   */
  onEvent?: (event: PollerEvent) => void;
}

/**
 * A step in a file's life: `taken` (claimed and handed on), `done` (confirmed; archived, deleted or left), `failed`
 * (the flow failed it: moved to the error folder at once), `retried` (handed back, taken again by a later poll), or
 * `moved-to-error` (handed back `maxAttempts` times: a poison file). Facts of the file only, never its content.
 */
export interface PollerEvent {
  outcome: 'taken' | 'done' | 'failed' | 'retried' | 'moved-to-error';
  name: string;
  /** ms since the epoch */
  at: number;
  /** The attempt this step ends or starts (1 for the first delivery). */
  attempt?: number;
  size?: number;
  /** ms since the epoch */
  mtime?: number;
  deliveryId?: string;
  /**
   * retried / moved-to-error: `handedBack` (the download or stream failed), `timeout` (no settlement in time) or
   * `restarted` (the runtime restarted or the node was redeployed while the file was in the flow).
   */
  reason?: HandBackReason;
  /** Where the file went (relative to the connection's root): the archive or error folder; absent when deleted or left. */
  movedTo?: string;
}

export type HandBackReason = 'handedBack' | 'timeout' | 'restarted';

/** What settles a claim: the file and the token its claim was made with. Paths are never taken from a ticket. */
export interface ClaimTicket {
  name: string;
  token: string;
}

export interface Claim extends ClaimTicket {
  /** Path of the claimed file (relative to the root), where it waits for confirmation. */
  path: string;
  /** Path it came from. */
  source: string;
  size: number;
  /** ms since the epoch */
  mtime: number;
  /** 1 for the first delivery, 2 for the next ... (durable: counted on in the ledger and the claim's name). */
  attempt: number;
  /** The same for every delivery of this version of the file (32 hex digits). */
  deliveryId: string;
}

/** A settlement refused: the ticket names no claim this poller holds (forged, settled already, handed back). */
export class ClaimError extends Error {
  readonly code = 'CLAIM_NOT_HELD';
  constructor(name: string) {
    super(`${name}: no claim of this poller with that token is waiting to be settled; nothing was moved [CLAIM_NOT_HELD]`);
    this.name = 'ClaimError';
  }
}

export interface LedgerEntry {
  /**
   * claimed: handed on, waiting for its settlement; confirmed: the flow handled it, the after-action may still be
   * pending; done: left in place ('leave'); retry: handed back, `attempts` so far; failed: being moved to the error
   * folder.
   */
  state: 'claimed' | 'confirmed' | 'done' | 'failed' | 'retry';
  at: number;
  attempts?: number;
  /** claimed / confirmed: who holds the claim, where the file waits, and the token a ticket must carry. */
  owner?: string;
  path?: string;
  token?: string;
  /** Size and mtime of the file claimed, or left in place: a file changed since is a new version and is taken again. */
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

/**
 * Owners whose earlier claims this process has already recovered. An owner's first poller in a process — after a
 * restart, or after its last poller was closed by a redeploy — hands that owner's claims back at once: the messages
 * that carried them are gone.
 */
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

  readonly options: Required<Omit<PollerOptions, 'glob' | 'now' | 'onEvent'>> & Pick<PollerOptions, 'glob' | 'onEvent'>;
  private readonly seen = new Map<string, { size: number; mtime: number; since: number }>();
  private readonly match?: RegExp;
  private readonly ignore: RegExp;
  private readonly now: () => number;
  /** Claims this runtime could not hand back (e.g. connection lost): retried by the next recovery. */
  private readonly toRelease = new Set<string>();
  /**
   * Matching files the last listing saw but did not take because they were still settling (size or time changed
   * within stableMs, or seen for the first time): files that are there, not missing.
   */
  arriving = 0;

  /** Claims the last recovery left waiting for their confirmation (files this poller would take). */
  private waiting = 0;
  private readonly leaseName: string;
  private closed = false;
  /**
   * Files this poller has claimed and not yet settled, with the time of their claim (ms): while one is in flight and
   * not timed out, the one-file-at-a-time lease is kept.
   */
  private readonly inFlight = new Map<string, number>();
  /** Serialises this poller's steps on the one-file-at-a-time lease (a poll's claim, a settlement's release). */
  private leaseTurn: Promise<unknown> = Promise.resolve();
  /**
   * Settlements that could not be recorded because the state store failed (e.g. Redis was down): tried again at
   * each poll until they are, so that a confirmation is not lost. (A refused move is the ledger's to finish.)
   */
  private readonly unsettled = new Map<string, { ticket: ClaimTicket; failed: boolean }>();

  constructor(
    private readonly session: Transport,
    private readonly state: StateStore,
    options: PollerOptions,
  ) {
    if (!options.ledger) throw new Error('a poller needs a ledger name');
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
      claim: 'rename',
      ignore: DEFAULT_IGNORE,
      ...options,
      folder,
    };
    this.leaseName = `one file at a time:${this.options.ledger}`;
    if (/[@/]/.test(this.options.owner)) throw new Error(`owner must not contain "${SEP}" or "/"`);
    this.match = options.glob ? globToRegExp(options.glob) : undefined;
    this.ignore = globToRegExp(this.options.ignore);
    this.now = options.now ?? Date.now;
  }

  async ledger(name: string): Promise<LedgerEntry | undefined> {
    return (await this.state.get(this.options.ledger, name)) as LedgerEntry | undefined;
  }

  private emit(event: Omit<PollerEvent, 'at' | 'deliveryId'>): void {
    if (!this.options.onEvent) return;
    const deliveryId = event.size !== undefined && event.mtime !== undefined ? this.deliveryId(event.name, event.size, event.mtime) : undefined;
    try {
      this.options.onEvent({ ...event, at: this.now(), ...(deliveryId ? { deliveryId } : {}) });
    } catch {
      // an audit listener never stops a settlement
    }
  }

  private setLedger(name: string, entry: LedgerEntry | undefined): Promise<void> {
    return this.state.set(this.options.ledger, name, entry as LedgerValue | undefined);
  }

  /** The same for every delivery of one version of a file; another version (size or mtime) gets another. */
  deliveryId(name: string, size: number, mtime: number): string {
    return createHash('sha256').update(`${this.options.ledger}\n${name}\n${size}\n${mtime}`).digest('hex').slice(0, 32);
  }

  /**
   * The poller's node is closed (a redeploy): its claims can no longer be settled by the messages that carry them,
   * so the next poller of this owner in this process hands them back at once.
   */
  close(): void {
    this.closed = true;
    startedOwners.delete(this.options.owner);
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
    if (this.closed) return { claims: [], errors: [] };
    for (const [name, { ticket, failed }] of [...this.unsettled]) {
      // On success (or a claim no longer held) it is forgotten; a store still down throws, and this poll with it.
      await (failed ? this.fail(ticket) : this.complete(ticket)).catch((err) => {
        if (err instanceof ClaimError) this.unsettled.delete(name);
        else throw err;
      });
    }
    const o = this.options;
    const errors = o.claim === 'ledger' ? [] : await this.recover();
    if (!o.oneAtATime) return { claims: await this.claimFrom(await this.session.list(o.folder), errors), errors };
    // Held from before the listing until the file is settled: of several runtimes only one lists and claims. A
    // settlement of this poller's previous file runs in turn with this, so it cannot give up the lease this poll
    // has just renewed for the next file.
    return this.inTurn(async () => {
      if (!(await this.state.lease(this.leaseName, o.owner, o.claimTimeoutMs))) return { claims: [], errors };
      if (this.waiting > 0) return { claims: [], errors };
      const claims = await this.claimFrom(await this.session.list(o.folder), errors);
      // Renewed from the claim on, so that it lasts as long as the claim: it lapses only when the claim times out.
      if (claims.length > 0) await this.state.lease(this.leaseName, o.owner, o.claimTimeoutMs);
      else if (!this.busy()) await this.state.release(this.leaseName, o.owner);
      return { claims, errors };
    });
  }

  /** Runs `step` once this poller's earlier steps on the one-file-at-a-time lease are over. */
  private inTurn<T>(step: () => Promise<T>): Promise<T> {
    const run = this.leaseTurn.then(step, step);
    this.leaseTurn = run.catch(() => undefined);
    return run;
  }

  /** True while a file this poller claimed is neither settled nor timed out (one past the timeout is forgotten). */
  private busy(): boolean {
    const now = this.now();
    for (const [name, at] of this.inFlight) if (now - at >= this.options.claimTimeoutMs) this.inFlight.delete(name);
    return this.inFlight.size > 0;
  }

  private async claimFrom(entries: RemoteEntry[], errors: Error[]): Promise<Claim[]> {
    const o = this.options;
    const now = this.now();
    this.busy(); // forgets claims of ours that timed out: a 'ledger' claim is then taken again
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
    this.arriving = candidates.filter((c) => !c.stable).length;

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
      if (o.claim === 'ledger') {
        const sameFile = settled?.size === e.size && settled?.mtime === e.mtime;
        if (settled?.state === 'failed' && sameFile) continue; // failed where it could not be moved: never again
        if (settled?.state === 'claimed' && sameFile && this.inFlight.has(e.name)) {
          if (o.oneAtATime) break; // ours, still in flight
          continue;
        }
      }
      // Files are applied in order (ESR deltas build on each other): never past an earlier file still being written.
      if (!stable) {
        if (o.order === 'esr') break;
        continue;
      }
      try {
        const again = settled?.state === 'retry' || (o.claim === 'ledger' && settled?.state === 'claimed');
        const attempt = again ? (settled!.attempts ?? 0) + 1 : 1;
        const claim = o.claim === 'ledger' ? await this.claimInPlace(e, attempt) : await this.claim(e, attempt);
        if (claim) claims.push(claim);
        else if (o.oneAtATime) break; // lost to another runtime: never claim past an earlier file
      } catch (err) {
        errors.push(err as Error);
        if (o.oneAtATime) break;
      }
    }
    return claims;
  }

  private claimLease(name: string): string {
    return `claim:${this.options.ledger}:${name}`;
  }

  /**
   * A 'ledger' claim: the file stays where it is. A lease on the file (of the claim timeout) decides between
   * runtimes; a claim whose holder stopped (its lease lapsed, or it was this owner before a restart or redeploy) is
   * taken over with the next attempt; past maxAttempts the file is marked failed (and moved to the error folder where
   * the server allows it).
   */
  private async claimInPlace(e: RemoteEntry, attempt: number): Promise<Claim | undefined> {
    const o = this.options;
    if (!(await this.state.lease(this.claimLease(e.name), o.owner, o.claimTimeoutMs))) return undefined; // another runtime has it
    if (attempt > o.maxAttempts) {
      await this.setLedger(e.name, { state: 'failed', at: this.now(), attempts: attempt - 1, size: e.size, mtime: e.mtime });
      await this.state.release(this.claimLease(e.name), o.owner);
      await this.moveIfPresent(e.path, await this.freeName(o.errorFolder, e.name));
      await this.setLedger(e.name, undefined);
      return undefined;
    }
    return this.claimed(e, e.path, attempt);
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

  private async claimed(e: RemoteEntry, claimPath: string, attempt: number): Promise<Claim> {
    this.seen.delete(e.name);
    const token = randomUUID();
    // Durable before the file is handed on: only a ticket with this token settles the claim.
    try {
      await this.setLedger(e.name, { state: 'claimed', at: this.now(), attempts: attempt, owner: this.options.owner, path: claimPath, token, size: e.size, mtime: e.mtime });
    } catch (err) {
      // Not handed on: a renamed file goes back to the folder at the next recovery; one claimed in place is free again.
      if (this.options.claim === 'ledger') await this.state.release(this.claimLease(e.name), this.options.owner).catch(() => undefined);
      else this.toRelease.add(claimPath);
      throw err;
    }
    this.inFlight.set(e.name, this.now());
    this.emit({ outcome: 'taken', name: e.name, attempt, size: e.size, mtime: e.mtime });
    return { name: e.name, token, path: claimPath, source: e.path, size: e.size, mtime: e.mtime, attempt, deliveryId: this.deliveryId(e.name, e.size, e.mtime) };
  }

  /** The ledger entry of a claim this poller holds for the ticket; anything else is refused. */
  private async held(ticket: ClaimTicket): Promise<LedgerEntry & { path: string }> {
    if (typeof ticket?.name !== 'string' || typeof ticket.token !== 'string') throw new ClaimError(String(ticket?.name ?? 'a message'));
    const entry = await this.ledger(ticket.name);
    const ours = entry && (entry.state === 'claimed' || entry.state === 'confirmed') && entry.owner === this.options.owner && entry.token === ticket.token;
    if (!ours || typeof entry.path !== 'string') throw new ClaimError(ticket.name);
    return entry as LedgerEntry & { path: string };
  }

  private async settled(name: string): Promise<void> {
    this.inFlight.delete(name);
    if (this.options.claim === 'ledger') await this.state.release(this.claimLease(name), this.options.owner);
    const o = this.options;
    if (o.oneAtATime) await this.inTurn(async () => (this.busy() ? undefined : this.state.release(this.leaseName, o.owner)));
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

  /**
   * The flow handled the file: archive / delete / leave it. Safe to call again after a failure. Throws ClaimError
   * for a ticket of no claim this poller holds (nothing is moved).
   */
  async complete(ticket: ClaimTicket): Promise<void> {
    return this.settle(ticket, false, () => this.confirm(ticket));
  }

  /** Runs a settlement; one the state store could not record is kept to be tried again at the next poll. */
  private async settle(ticket: ClaimTicket, failed: boolean, step: () => Promise<void>): Promise<void> {
    try {
      await step();
      this.unsettled.delete(ticket.name);
    } catch (err) {
      if (!(err instanceof ClaimError) && !(err instanceof TransportError)) this.unsettled.set(ticket.name, { ticket, failed });
      throw err;
    }
  }

  private async confirm(ticket: ClaimTicket): Promise<void> {
    const entry = await this.held(ticket);
    // Remembered first: if the move below fails, recovery finishes it instead of handing the file out again.
    const confirmed: LedgerEntry = { ...entry, state: 'confirmed', at: this.now() };
    await this.setLedger(ticket.name, confirmed);
    try {
      await this.finish(entry.path, ticket.name, { size: entry.size ?? 0, mtime: entry.mtime ?? 0, attempts: entry.attempts });
    } catch (err) {
      await this.setLedger(ticket.name, { ...confirmed, refused: 1 });
      throw err;
    }
    this.toRelease.delete(entry.path);
    await this.settled(ticket.name);
  }

  private async finish(claimPath: string, name: string, file: { size: number; mtime: number; attempts?: number }): Promise<void> {
    const o = this.options;
    let movedTo: string | undefined;
    if (o.after === 'delete') await this.deleteIfPresent(claimPath);
    else if (o.after === 'archive') await this.moveIfPresent(claimPath, (movedTo = await this.freeName(o.archiveFolder, name)));
    else if (o.claim !== 'ledger') await this.moveIfPresent(claimPath, path.posix.join(o.folder, name));
    // Only a file left in place needs remembering; an archived or deleted one is gone from the folder.
    await this.setLedger(name, o.after === 'leave' ? { state: 'done', at: this.now(), size: file.size, mtime: file.mtime } : undefined);
    this.emit({ outcome: 'done', name, attempt: file.attempts, size: file.size, mtime: file.mtime, ...(movedTo ? { movedTo } : {}) });
  }

  /**
   * The flow could not handle the file: it goes to the error folder once, and is not retried. A file whose
   * confirmation was already recorded is completed instead (a failure reported after success must not lose it).
   */
  async fail(ticket: ClaimTicket): Promise<void> {
    return this.settle(ticket, true, () => this.failNow(ticket));
  }

  private async failNow(ticket: ClaimTicket): Promise<void> {
    const entry = await this.held(ticket);
    if (entry.state === 'confirmed') return this.confirm(ticket);
    await this.setLedger(ticket.name, { state: 'failed', at: this.now(), attempts: entry.attempts, size: entry.size, mtime: entry.mtime });
    const failed = { outcome: 'failed' as const, name: ticket.name, attempt: entry.attempts, size: entry.size, mtime: entry.mtime };
    let movedTo: string;
    try {
      await this.moveIfPresent(entry.path, (movedTo = await this.freeName(this.options.errorFolder, ticket.name)));
    } catch (err) {
      // In place ('ledger' claims) on a server that refuses the move: it stays, marked failed, and is not taken again.
      if (this.options.claim !== 'ledger') throw err;
      this.emit(failed);
      await this.settled(ticket.name);
      return;
    }
    this.emit({ ...failed, movedTo });
    await this.setLedger(ticket.name, undefined);
    this.toRelease.delete(entry.path);
    await this.settled(ticket.name);
  }

  /**
   * Hands a claim back (e.g. its download failed): counted as an attempt; the file is taken again by a later poll,
   * or goes to the error folder after maxAttempts. `counted: false` for a fault that is not the file's (a flow wired
   * so that the file cannot be read): the attempt is given back, and the file never goes to the error folder for it.
   */
  async release(ticket: ClaimTicket, options: { counted?: boolean } = {}): Promise<void> {
    const entry = await this.held(ticket);
    const attempts = (entry.attempts ?? 1) - (options.counted === false ? 1 : 0);
    if (this.options.claim === 'ledger') {
      await this.setLedger(ticket.name, { state: 'retry', at: this.now(), attempts });
      this.emit({ outcome: 'retried', name: ticket.name, attempt: entry.attempts ?? 1, size: entry.size, mtime: entry.mtime, reason: 'handedBack' });
      await this.settled(ticket.name);
      return;
    }
    this.toRelease.add(entry.path);
    await this.handBack(entry.path, ticket.name, attempts, 'handedBack');
    this.toRelease.delete(entry.path);
    await this.settled(ticket.name);
  }

  private async handBack(claimPath: string, name: string, attempt: number, reason: HandBackReason): Promise<void> {
    const o = this.options;
    // The version of the file that was claimed (for the audit's delivery id), before the entry is replaced.
    const before = o.onEvent ? await this.ledger(name) : undefined;
    const file = before?.state === 'claimed' ? { size: before.size, mtime: before.mtime } : {};
    if (attempt >= o.maxAttempts) {
      await this.setLedger(name, { state: 'failed', at: this.now(), attempts: attempt });
      const movedTo = await this.freeName(o.errorFolder, name);
      await this.moveIfPresent(claimPath, movedTo);
      await this.setLedger(name, undefined);
      this.emit({ outcome: 'moved-to-error', name, attempt, ...file, reason, movedTo });
      return;
    }
    await this.setLedger(name, { state: 'retry', at: this.now(), attempts: attempt });
    await this.moveIfPresent(claimPath, path.posix.join(o.folder, name));
    this.emit({ outcome: 'retried', name, attempt, ...file, reason });
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
      const timedOut = now - c.at >= o.claimTimeoutMs;
      const expired = timedOut || (mine && restarted);
      try {
        const settled = await this.ledger(c.name);
        if (settled?.state === 'confirmed') {
          // An after-action the server keeps refusing is tried maxAttempts times, then left for a person to sort out.
          if ((mine || expired) && (settled.refused ?? 0) < o.maxAttempts) {
            try {
              await this.finish(e.path, c.name, { size: settled.size ?? e.size, mtime: settled.mtime ?? e.mtime, attempts: settled.attempts });
              if (mine) this.inFlight.delete(c.name);
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
            if (mine) this.inFlight.delete(c.name);
          }
        } else if (this.toRelease.has(e.path) || expired) {
          const reason = this.toRelease.has(e.path) ? 'handedBack' : timedOut ? 'timeout' : 'restarted';
          this.toRelease.delete(e.path);
          if (mine) this.inFlight.delete(c.name);
          await this.handBack(e.path, c.name, c.attempt, reason);
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
