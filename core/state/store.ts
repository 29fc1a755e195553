/**
 * The facts the pack's correctness rests on, kept durable and atomic: file sequence numbers, the ledger of files
 * taken, and leases (one runtime at a time). Free of Node-RED: Node-RED context is neither durable nor atomic.
 */

/** One JSON value per key in a named ledger (e.g. the files taken from one hub folder). */
export type LedgerValue = Record<string, unknown>;

export interface StateStore {
  /** 'local' (fsynced files in one folder, one host) or 'redis' (several runtimes). */
  readonly kind: 'local' | 'redis';

  /**
   * The next number of a counter (e.g. the TA_ sequence of one layout and VPD). It is durable before it is returned
   * and never returned twice, also to other processes or runtimes on the same store and after a crash; a number
   * taken by a process that then died is skipped, not reused. `first`: the lowest number to return — where a new
   * counter starts (e.g. 1, or one past the last number of an older store), and a floor for an old one.
   */
  nextNumber(counter: string, first: number): Promise<number>;

  /** The last number taken from a counter, or undefined when it has never been used. */
  lastNumber(counter: string): Promise<number | undefined>;

  /** A ledger entry, or undefined. */
  get(ledger: string, key: string): Promise<LedgerValue | undefined>;

  /** Sets (or, with undefined, removes) a ledger entry; durable before the promise resolves. */
  set(ledger: string, key: string, value: LedgerValue | undefined): Promise<void>;

  /**
   * A named document (e.g. the staff snapshot of one feed, with the file it is up to date with), or undefined.
   * Documents are for facts that are large and change together: one document is read and replaced whole.
   */
  getDocument(name: string): Promise<string | undefined>;

  /**
   * Replaces a named document whole, atomically: a reader (also after a crash, kill -9 or power cut) sees the old
   * text or the new one, never a mix. Durable before the promise resolves. `undefined` removes it. A Buffer is
   * taken as UTF-8 text (it saves a copy of a large document).
   */
  putDocument(name: string, text: string | Buffer | undefined): Promise<void>;

  /**
   * Takes a lease, or renews one `owner` holds: true when `owner` holds it for `ttlMs` from now, false when another
   * owner holds it. A lease not renewed within its time lapses and can be taken by anyone.
   */
  lease(name: string, owner: string, ttlMs: number): Promise<boolean>;

  /** Gives a lease up, if `owner` holds it. */
  release(name: string, owner: string): Promise<void>;

  /** Closes connections and files; the store is not used after. */
  close(): Promise<void>;
}

/** A problem with the store itself (unreachable, refused, corrupt): the fact could not be kept, so act on nothing. */
export class StateError extends Error {
  constructor(
    message: string,
    readonly code: 'STATE_UNAVAILABLE' | 'STATE_CORRUPT' | 'STATE_INVALID',
  ) {
    super(`${message} [${code}]`);
    this.name = 'StateError';
  }
}
