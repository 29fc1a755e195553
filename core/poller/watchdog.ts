/**
 * The missing-file watchdog: "a file is expected by HH:MM on these days" for one polled feed, in the trust's local
 * time (Europe/London: GMT in winter, BST in summer, through Intl — no time-zone data of our own).
 *
 * The rule: on an expected day, a file taken that local day (from 00:00) at or before the check counts; if none
 * was taken by the deadline, the day is alerted once. What was taken, and which days were alerted, is kept in the
 * state store (one ledger entry), so that after a restart a file taken earlier still counts and a day already
 * alerted is not alerted again. A runtime that was down at the deadline alerts when it comes back on the same day;
 * days that passed entirely while it was down are not alerted afterwards.
 */
import type { StateStore } from '../state';

export const DEFAULT_TIME_ZONE = 'Europe/London';

export interface Expectation {
  /** Local time of the deadline, "HH:MM" (24 h). */
  time: string;
  /** Days a file is expected: 0 Sunday … 6 Saturday (as Date.getDay). */
  days: number[];
  /** IANA time zone of the deadline; default Europe/London. */
  timeZone?: string;
}

export interface MissingFileAlert {
  code: 'FILE_MISSING';
  /** The local day (YYYY-MM-DD) the file was expected. */
  day: string;
  /** The local deadline, "HH:MM", and the instant it passed (ISO, UTC). */
  expectedBy: string;
  deadline: string;
  timeZone: string;
  /** When a file was last taken (ISO, UTC), if ever. */
  lastFileAt?: string;
}

const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/**
 * Reads days as written in a node's settings: "mon-fri", "mon,wed,fri", "daily", "sat,sun", or numbers 0–6.
 * Throws an Error (code WATCHDOG_INVALID) for anything else.
 */
export function parseDays(text: string): number[] {
  const t = text.trim().toLowerCase();
  if (t === '' || t === 'daily' || t === 'every day' || t === '*') return [0, 1, 2, 3, 4, 5, 6];
  if (t === 'weekdays') return [1, 2, 3, 4, 5];
  const index = (s: string): number => {
    const n = /^[0-6]$/.test(s) ? Number(s) : s.length >= 3 ? DAY_NAMES.findIndex((d) => d.startsWith(s)) : -1;
    if (n < 0) throw invalid(`"${s}" is not a day (mon … sun)`);
    return n;
  };
  const days = new Set<number>();
  for (const part of t.split(/[\s,]+/).filter(Boolean)) {
    const range = /^([a-z0-9]+)-([a-z0-9]+)$/.exec(part);
    if (range) {
      const from = index(range[1]);
      const to = index(range[2]);
      for (let d = from; ; d = (d + 1) % 7) {
        days.add(d);
        if (d === to) break;
      }
    } else days.add(index(part));
  }
  return [...days].sort();
}

/** Checks "HH:MM"; returns minutes after local midnight. Throws an Error (code WATCHDOG_INVALID) otherwise. */
export function parseTime(text: string): number {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!m) throw invalid(`"${text}" is not a time of day (HH:MM)`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function invalid(message: string): Error {
  return Object.assign(new Error(`watchdog: ${message} [WATCHDOG_INVALID]`), { code: 'WATCHDOG_INVALID' });
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The local wall clock at `t` (ms since the epoch) in `timeZone`, as if it were a UTC instant (ms). */
export function wallClock(t: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const { type, value } of f.formatToParts(new Date(t))) if (type !== 'literal') p[type] = Number(value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) + (t % 1000 + 1000) % 1000;
}

/** The local day (YYYY-MM-DD) at `t` in `timeZone`. */
export function localDay(t: number, timeZone: string): string {
  return new Date(wallClock(t, timeZone)).toISOString().slice(0, 10);
}

/**
 * The first instant (ms since the epoch) at which the local clock in `timeZone` reads `minutes` after midnight of
 * `day` (YYYY-MM-DD) or later. On the day the clocks go forward a time that never shows (01:30 in London) is the
 * moment the clocks change; on the day they go back, a time shown twice is its first showing.
 */
export function deadlineOn(day: string, minutes: number, timeZone: string): number {
  const [y, m, d] = day.split('-').map(Number);
  const target = Date.UTC(y, m - 1, d, Math.floor(minutes / 60), minutes % 60);
  // The clock's offsets either side of the day: one, or two on a day the clocks change.
  const offsets = [...new Set([target - 86_400_000, target + 86_400_000].map((t) => wallClock(t, timeZone) - t))];
  const exact = offsets.map((o) => target - o).filter((t) => wallClock(t, timeZone) === target);
  if (exact.length) return Math.min(...exact);
  // Skipped by the clock: the first instant whose wall clock is past it (a search over the hour or so around it).
  let lo = Math.min(...offsets.map((o) => target - o)) - 3_600_000;
  let hi = Math.max(...offsets.map((o) => target - o)) + 3_600_000;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (wallClock(mid, timeZone) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

interface WatchdogState {
  /** The last time a file was taken (ms). */
  lastFileAt?: number;
  /** Local days (YYYY-MM-DD) already alerted, the latest few. */
  alerted?: string[];
}

/**
 * One feed's watchdog over a StateStore ledger entry (`ledger`, key `watchdog`). `now` is injectable for tests.
 * fileTaken() when the poller takes a file; check() at or after each deadline (nextCheck() says when).
 */
export class Watchdog {
  readonly timeZone: string;
  private readonly minutes: number;
  private readonly days: Set<number>;
  private readonly now: () => number;

  constructor(
    private readonly state: StateStore,
    private readonly ledger: string,
    readonly expectation: Expectation,
    now: () => number = Date.now,
  ) {
    this.timeZone = expectation.timeZone || DEFAULT_TIME_ZONE;
    this.minutes = parseTime(expectation.time);
    if (!expectation.days.length) throw invalid('no day is expected');
    this.days = new Set(expectation.days);
    this.now = now;
    localDay(0, this.timeZone); // an unknown time zone fails here (RangeError), not at the first check
  }

  private async read(): Promise<WatchdogState> {
    return ((await this.state.get(this.ledger, 'watchdog')) ?? {}) as WatchdogState;
  }

  /** Whether a file is expected on a local day (YYYY-MM-DD). */
  expectedOn(day: string): boolean {
    return this.days.has(new Date(`${day}T00:00:00Z`).getUTCDay());
  }

  /** A file was taken (at `at`, default now): durable before it resolves. */
  async fileTaken(at = this.now()): Promise<void> {
    const s = await this.read();
    if ((s.lastFileAt ?? 0) >= at) return;
    await this.state.set(this.ledger, 'watchdog', { ...s, lastFileAt: at });
  }

  /**
   * The alert for today if today is an expected day, its deadline has passed, no file was taken today, and it was
   * not alerted yet (then it is recorded as alerted before it is returned); else undefined.
   */
  async check(): Promise<MissingFileAlert | undefined> {
    const now = this.now();
    const day = localDay(now, this.timeZone);
    if (!this.expectedOn(day)) return undefined;
    const deadline = deadlineOn(day, this.minutes, this.timeZone);
    if (now < deadline) return undefined;
    const s = await this.read();
    if (s.alerted?.includes(day)) return undefined;
    if (s.lastFileAt !== undefined && localDay(s.lastFileAt, this.timeZone) === day) return undefined;
    await this.state.set(this.ledger, 'watchdog', { ...s, alerted: [...(s.alerted ?? []), day].slice(-14) });
    return {
      code: 'FILE_MISSING',
      day,
      expectedBy: this.expectation.time.trim().padStart(5, '0'),
      deadline: new Date(deadline).toISOString(),
      timeZone: this.timeZone,
      ...(s.lastFileAt !== undefined ? { lastFileAt: new Date(s.lastFileAt).toISOString() } : {}),
    };
  }

  /** The next deadline after `from` (default now), ms since the epoch: when to check next. */
  nextCheck(from = this.now()): number {
    let day = localDay(from, this.timeZone);
    for (let i = 0; i < 9; i++) {
      if (this.expectedOn(day)) {
        const deadline = deadlineOn(day, this.minutes, this.timeZone);
        if (deadline > from) return deadline;
      }
      day = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    }
    return from + 86_400_000;
  }
}
