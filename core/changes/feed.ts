/**
 * The changes of GO feeds (one per VPD + subtype) over a durable staff snapshot in the state store.
 *
 * Each feed's snapshot is ONE state document (see StateStore.putDocument; format in codec.ts): the people, the last sequence taken,
 * the run end of the last file, the identities (name, sequence, SHA-256) of the files taken lately and the events
 * waiting for their day. One document means one atomic write: the snapshot and "file X was taken" can never
 * disagree, whatever moment the process dies.
 *
 * Order of work per file (the rule for a crash): the events are derived (nothing written), handed on by the
 * caller, then `step.commit()` writes the document, then the caller confirms the file. A kill -9 after the events
 * were handed on and before the commit leaves the old snapshot and the file unconfirmed: the file comes again and
 * gives the same events with the same ids (at-least-once; downstream can drop an id it has seen). A kill after the
 * commit and before the confirmation: the file comes again and is recognised by name and SHA-256 — no events.
 *
 * One call at a time: take, next, accept and discard must not overlap (the node runs them one after another).
 */
import type { StateStore } from '../state';
import type { FileFacts, FileRun } from './file-run';
import { derive, type ChangeEvent, type Derived } from './derive';
import { day, type PersonState } from './model';
import { refreshRequest, type RefreshRequest } from './refresh';
import { AsciiLines, asciiJson, decodePerson, encodePerson, FORMAT } from './codec';
import { StateError } from '../state';

export type AlertCode =
  | 'CHANGES_SEQUENCE_GAP'
  | 'CHANGES_GAP_TIMEOUT'
  | 'CHANGES_SAFETY_STOP'
  | 'CHANGES_OUT_OF_ORDER'
  | 'CHANGES_FILE_CHANGED'
  | 'CHANGES_NO_BASELINE'
  | 'CHANGES_WAITING_FOR_ANALYST'
  | 'CHANGES_REFRESH_REQUESTED'
  | 'CHANGES_REFRESH_UNSUPPORTED'
  | 'CHANGES_REFRESH_SKIPPED'
  | 'CHANGES_SUPERSEDED';

/** An alert: names, numbers and codes only — never a field value. */
export interface Alert {
  code: AlertCode;
  message: string;
  feed: string;
  file?: string;
  /** Gaps: the sequence expected, the one that came, the ones missing. */
  expected?: number;
  got?: number;
  missing?: number[];
  /** Safety stop: leavers the full file would make, active staff before it, and the share (0..1). */
  leavers?: number;
  active?: number;
  share?: number;
}

export type Outcome =
  /** applied: events derived; commit() makes it durable, then confirm the file. */
  | 'applied'
  /** repeat: the same file (name and SHA-256) was taken before: no events; confirm it. */
  | 'repeat'
  /** held: a later change file waits for a missing one (or the time limit): do not confirm it yet. */
  | 'held'
  /** stopped: the safety stop: nothing sent; waits for accept() or discard(). */
  | 'stopped'
  /** refused: not taken (out of order, changed, no baseline, discarded): fail the file. */
  | 'refused'
  /** skipped: a held file a full file made unnecessary: no events; confirm it. */
  | 'skipped'
  /** released: events that waited for their day; no file. */
  | 'released';

export interface Step<Tag = unknown> {
  feed: string;
  outcome: Outcome;
  /** The file, with its SHA-256 (of the records as read); none for `released`. */
  file?: FileFacts & { sha256: string };
  /** What the caller gave with the file (e.g. the message that confirms it). */
  tag?: Tag;
  events: ChangeEvent[];
  alerts: Alert[];
  /** A refresh request (GDR) to put in the hub's In/ folder. */
  refresh?: RefreshRequest;
  /** Makes the step durable (one document write); nothing to do for repeat, stopped, refused and skipped. */
  commit(): Promise<void>;
}

export interface ChangeOptions {
  /** The safety stop: the largest share (0..1) of active staff a full file may make leave (default 0.05). */
  maxLeaverShare?: number;
  /** Future-dated events: 'now' (at once, with their date; default) or 'onTheDay' (held until that day). */
  future?: 'now' | 'onTheDay';
  /** A sequence gap: 'alert' (take the file anyway; default) or 'hold' (wait for the missing file or the limit). */
  gaps?: 'alert' | 'hold';
  /** How long a held file waits for a missing one, in ms (default 6 hours). */
  holdMs?: number;
  /** Write a refresh request (GDR): 'never' (default), 'onGap', or 'onTimeout' (when a hold gives up). */
  refresh?: 'never' | 'onGap' | 'onTimeout';
  /** The first full file into an empty snapshot: 'baseline' (no joiner events; default) or 'joiners'. */
  firstFull?: 'baseline' | 'joiners';
  /**
   * Whose snapshots these are: each consumer of a feed (the OH system, the identity system, …) keeps its own, as each
   * takes the feed's files on its own and in its own reading (default '': one per store).
   */
  snapshot?: string;
  /** Today, YYYY-MM-DD (default: the local date). */
  today?: () => string;
  /** Clock in ms (default Date.now), for hold limits. */
  now?: () => number;
}

interface FileId {
  name: string;
  sequence?: number;
  sha256: string;
}

interface Meta {
  /** The document format (codec.ts). */
  v: number;
  vpd: string;
  subtype: string;
  lastSequence?: number;
  /** The run end (HDR field 6) of the last file taken, as the reader gives it. */
  lastRunEnd?: string;
  /** The last file taken was a full file: the next change file is taken whatever its sequence. */
  afterFull?: boolean;
  /** The latest files taken, newest last. */
  files: FileId[];
  /** Events waiting for their day (future: 'onTheDay'). */
  pending: ChangeEvent[];
  /** The day of the last refresh request (one a day: the GDR name carries the day). */
  refreshed?: string;
}

interface Feed<Tag> {
  key: string;
  meta: Meta;
  people: Map<string, PersonState>;
  held: { run: FileRun; tag?: Tag; since: number }[];
  stopped?: { run: FileRun; tag?: Tag; derived: Derived };
}

const KEEP_FILES = 60;

function localToday(): string {
  const d = new Date();
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
}

/** The state document name of a feed. */
/** The state document of a feed's snapshot: `changes:[<snapshot>:]<vpd>:<subtype>`. */
export const documentName = (vpd: string, subtype: string, snapshot = '') => `changes:${snapshot ? `${snapshot}:` : ''}${vpd}:${subtype}`;

export class ChangeFeeds<Tag = unknown> {
  private readonly feeds = new Map<string, Feed<Tag>>();
  private readonly o: Required<ChangeOptions>;

  /** `store`: where the snapshots live (local folder or Redis). */
  constructor(
    private readonly store: StateStore,
    options: ChangeOptions = {},
  ) {
    this.o = {
      maxLeaverShare: options.maxLeaverShare ?? 0.05,
      future: options.future ?? 'now',
      gaps: options.gaps ?? 'alert',
      holdMs: options.holdMs ?? 6 * 3600_000,
      refresh: options.refresh ?? 'never',
      firstFull: options.firstFull ?? 'baseline',
      snapshot: options.snapshot ?? '',
      today: options.today ?? localToday,
      now: options.now ?? Date.now,
    };
  }

  private async feed(vpd: string, subtype: string): Promise<Feed<Tag>> {
    const key = `${vpd}:${subtype}`;
    let feed = this.feeds.get(key);
    if (feed) return feed;
    const text = await this.store.getDocument(documentName(vpd, subtype, this.o.snapshot));
    let meta: Meta = { v: FORMAT, vpd, subtype, files: [], pending: [] };
    const people = new Map<string, PersonState>();
    if (text !== undefined) {
      // Line 1 the meta, then one person a line: parsed a line at a time, so that memory holds the people once.
      let at = text.indexOf('\n');
      try {
        meta = JSON.parse(at === -1 ? text : text.slice(0, at)) as Meta;
      } catch {
        throw new StateError(`the snapshot of feed ${key} is not JSON`, 'STATE_CORRUPT');
      }
      if (meta?.v !== FORMAT) throw new StateError(`the snapshot of feed ${key} has format ${String(meta?.v)}; this version reads ${FORMAT}`, 'STATE_INVALID');
      while (at !== -1 && at < text.length - 1) {
        const end = text.indexOf('\n', at + 1);
        const line = text.slice(at + 1, end === -1 ? text.length : end);
        at = end;
        let entry: [string, ...Parameters<typeof decodePerson>[0]];
        try {
          entry = JSON.parse(line);
        } catch {
          throw new StateError(`the snapshot of feed ${key} has a line that is not JSON`, 'STATE_CORRUPT');
        }
        const [id, ...rest] = entry;
        people.set(id, decodePerson(rest as Parameters<typeof decodePerson>[0]));
      }
    }
    feed = { key, meta, people, held: [] };
    this.feeds.set(key, feed);
    return feed;
  }

  /** Writes the feed's document: the snapshot with `updates` over it, and `meta`. Only then is memory changed. */
  private async write(feed: Feed<Tag>, meta: Meta, updates?: Map<string, PersonState>): Promise<void> {
    const out = new AsciiLines();
    out.add(asciiJson(meta));
    for (const [id, s] of feed.people) out.add(encodePerson(id, updates?.get(id) ?? s));
    if (updates) for (const [id, s] of updates) if (!feed.people.has(id)) out.add(encodePerson(id, s));
    await this.store.putDocument(documentName(meta.vpd, meta.subtype, this.o.snapshot), out.done());
    feed.meta = meta;
    if (updates) for (const [id, s] of updates) feed.people.set(id, s);
  }

  private step(feed: Feed<Tag>, outcome: Outcome, run: FileRun | undefined, tag: Tag | undefined, alerts: Alert[] = [], events: ChangeEvent[] = [], commit: () => Promise<void> = async () => undefined): Step<Tag> {
    return { feed: feed.key, outcome, ...(run ? { file: { ...run.facts, sha256: run.sha256() } } : {}), ...(tag !== undefined ? { tag } : {}), events, alerts, commit };
  }

  private alert(feed: Feed<Tag>, code: AlertCode, message: string, extra: Partial<Alert> = {}): Alert {
    return { code, message: `${message} [${code}]`, feed: feed.key, ...extra };
  }

  /** A refresh request, at most one a day per feed; undefined (with an alert saying why) when none can be made. */
  private async refresh(feed: Feed<Tag>, alerts: Alert[]): Promise<{ request?: RefreshRequest; meta?: Meta }> {
    const today = this.o.today();
    if (feed.meta.refreshed === today) {
      alerts.push(this.alert(feed, 'CHANGES_REFRESH_SKIPPED', `no refresh request for feed ${feed.key}: one was written today already (the GDR file name carries the day, so one a day)`));
      return {};
    }
    if (feed.meta.subtype !== 'GDW' || !feed.meta.lastRunEnd) {
      alerts.push(this.alert(feed, 'CHANGES_REFRESH_UNSUPPORTED', feed.meta.subtype !== 'GDW' ? `no refresh request for feed ${feed.key}: the GDR file is known for the GDW subtype only` : `no refresh request for feed ${feed.key}: no file taken yet, so no run end to start from`));
      return {};
    }
    const request = await refreshRequest(feed.meta.vpd, today, feed.meta.lastRunEnd);
    alerts.push(this.alert(feed, 'CHANGES_REFRESH_REQUESTED', `refresh request ${request.fileName} written for feed ${feed.key}, from the run end of the last file taken`, { file: request.fileName }));
    return { request, meta: { ...feed.meta, refreshed: today } };
  }

  /**
   * Takes one whole file (all its records added to `run`). `tag`: anything the caller needs back with the step
   * (e.g. the message that confirms the file). Throws StateError when the store cannot be read.
   */
  async take(run: FileRun, tag?: Tag): Promise<Step<Tag>> {
    const feed = await this.feed(run.facts.vpd, run.facts.subtype);
    const { name, sequence, extract } = run.facts;
    const sha = run.sha256();
    const seen = feed.meta.files.find((f) => f.name === name);
    if (seen && seen.sha256 === sha) return this.step(feed, 'repeat', run, tag);
    if (seen) return this.step(feed, 'refused', run, tag, [this.alert(feed, 'CHANGES_FILE_CHANGED', `file ${name} was taken before with other content; not taken again`, { file: name })]);
    if (feed.stopped) {
      feed.held.push({ run, tag, since: this.o.now() });
      return this.step(feed, 'held', run, tag, [this.alert(feed, 'CHANGES_WAITING_FOR_ANALYST', `file ${name} waits: the safety stop on feed ${feed.key} waits for an analyst`, { file: name })]);
    }
    if (extract === 'changes') {
      if (feed.meta.lastSequence === undefined && feed.meta.files.length === 0) {
        return this.step(feed, 'refused', run, tag, [this.alert(feed, 'CHANGES_NO_BASELINE', `change file ${name} refused: feed ${feed.key} has no full file yet to start from`, { file: name })]);
      }
      const last = feed.meta.lastSequence;
      if (sequence !== undefined && last !== undefined && !feed.meta.afterFull) {
        if (sequence <= last) {
          return this.step(feed, 'refused', run, tag, [this.alert(feed, 'CHANGES_OUT_OF_ORDER', `change file ${name} refused: sequence ${sequence} is not after ${last}, the last taken`, { file: name, expected: last + 1, got: sequence })]);
        }
        if (sequence > last + 1) {
          const missing = Array.from({ length: Math.min(sequence - last - 1, 100) }, (_, i) => last + 1 + i);
          const alerts = [this.alert(feed, 'CHANGES_SEQUENCE_GAP', `change file ${name} has sequence ${sequence}; expected ${last + 1}`, { file: name, expected: last + 1, got: sequence, missing })];
          const { request, meta } = this.o.refresh === 'onGap' ? await this.refresh(feed, alerts) : {};
          if (this.o.gaps === 'hold') {
            feed.held.push({ run, tag, since: this.o.now() });
            feed.held.sort((a, b) => (a.run.facts.sequence ?? 0) - (b.run.facts.sequence ?? 0));
            const s = this.step(feed, 'held', run, tag, alerts, [], meta ? () => this.write(feed, meta) : undefined);
            return request ? { ...s, refresh: request } : s;
          }
          const s = await this.apply(feed, run, tag, alerts, meta);
          return request ? { ...s, refresh: request } : s;
        }
      }
    }
    return this.apply(feed, run, tag);
  }

  private async apply(feed: Feed<Tag>, run: FileRun, tag: Tag | undefined, alerts: Alert[] = [], metaIn?: Meta, derivedIn?: Derived): Promise<Step<Tag>> {
    const today = this.o.today();
    const base = metaIn ?? feed.meta;
    const full = run.facts.extract === 'full';
    const baseline = full && feed.people.size === 0 && this.o.firstFull === 'baseline';
    const waitingToJoin = new Set(base.pending.filter((e) => e.kind === 'joiner' || e.kind === 'rehire').map((e) => e.personId));
    const derived = derivedIn ?? derive(feed.people, run, { today, fileDate: day(run.runEnd) ?? run.facts.date ?? today, baseline, sha256: run.sha256(), waitingToJoin });
    run.people.clear(); // what is left of the file is in `derived`: the rest can go
    if (!derivedIn && full && derived.activeBefore > 0 && derived.leavers / derived.activeBefore > this.o.maxLeaverShare) {
      feed.stopped = { run, tag, derived };
      const share = derived.leavers / derived.activeBefore;
      return this.step(feed, 'stopped', run, tag, [
        ...alerts,
        this.alert(feed, 'CHANGES_SAFETY_STOP', `full file ${run.facts.name} would make ${derived.leavers} of ${derived.activeBefore} staff leave (${(share * 100).toFixed(1)} %, more than ${(this.o.maxLeaverShare * 100).toFixed(1)} %): nothing sent; an analyst must accept or discard it`, {
          file: run.facts.name,
          leavers: derived.leavers,
          active: derived.activeBefore,
          share,
        }),
      ]);
    }
    const waiting = (e: ChangeEvent) => this.o.future === 'onTheDay' && !!e.effectiveDate && e.effectiveDate > today;
    const events = derived.events.filter((e) => !waiting(e));
    const pending = [...base.pending.filter((e) => !derived.dropPending.has(e.personId) && !(derived.voidPending.has(e.personId) && e.kind === 'leaver')), ...derived.events.filter(waiting)];
    for (const e of events) {
      const s = e.kind === 'leaver' ? derived.updates.get(e.personId) : undefined;
      if (s) s.told = true;
    }
    const sha256 = run.sha256();
    const meta: Meta = {
      ...base,
      lastSequence: run.facts.sequence ?? base.lastSequence,
      lastRunEnd: run.runEnd ?? base.lastRunEnd,
      afterFull: full,
      files: [...base.files, { name: run.facts.name, sequence: run.facts.sequence, sha256 }].slice(-KEEP_FILES),
      pending,
    };
    return this.step(feed, 'applied', run, tag, alerts, events, async () => {
      await this.write(feed, meta, derived.updates);
      if (feed.stopped?.run === run) feed.stopped = undefined;
    });
  }

  /**
   * What is ready next, after the last step was committed: a held file whose turn has come (the missing one came,
   * or the hold time passed, or a full file made it unnecessary), else events whose day has come. Undefined when
   * nothing is ready. Call it after each commit and from a timer.
   */
  async next(): Promise<Step<Tag> | undefined> {
    for (const feed of this.feeds.values()) {
      if (feed.stopped || !feed.held.length) continue;
      const first = feed.held[0];
      const seq = first.run.facts.sequence;
      const last = feed.meta.lastSequence;
      if (seq !== undefined && last !== undefined && seq <= last && !feed.meta.afterFull) {
        feed.held.shift();
        const seen = feed.meta.files.find((f) => f.name === first.run.facts.name);
        return this.step(feed, seen ? 'repeat' : 'skipped', first.run, first.tag, seen ? [] : [this.alert(feed, 'CHANGES_SUPERSEDED', `held file ${first.run.facts.name} is older than the last taken; not taken`, { file: first.run.facts.name })]);
      }
      const due = seq === undefined || last === undefined || feed.meta.afterFull || seq === last + 1;
      if (due) {
        feed.held.shift();
        return this.take(first.run, first.tag);
      }
      if (this.o.now() - first.since >= this.o.holdMs) {
        feed.held.shift();
        const alerts = [this.alert(feed, 'CHANGES_GAP_TIMEOUT', `the files missing before ${first.run.facts.name} did not come in time; it is taken with the gap`, { file: first.run.facts.name, expected: last! + 1, got: seq })];
        const { request, meta } = this.o.refresh === 'onTimeout' ? await this.refresh(feed, alerts) : {};
        const s = await this.apply(feed, first.run, first.tag, alerts, meta);
        return request ? { ...s, refresh: request } : s;
      }
    }
    const today = this.o.today();
    for (const feed of this.feeds.values()) {
      const due = feed.meta.pending.filter((e) => !e.effectiveDate || e.effectiveDate <= today);
      if (!due.length) continue;
      const meta: Meta = { ...feed.meta, pending: feed.meta.pending.filter((e) => !due.includes(e)) };
      const updates = new Map<string, PersonState>();
      for (const e of due) {
        const s = feed.people.get(e.personId);
        if (e.kind === 'leaver' && s) updates.set(e.personId, { ...s, told: true });
      }
      return this.step(feed, 'released', undefined, undefined, [], due, () => this.write(feed, meta, updates));
    }
    return undefined;
  }

  /** Loads the snapshots of these feeds (`vpd:subtype`), so that next() sees their waiting events after a restart. */
  async open(feeds: { vpd: string; subtype: string }[]): Promise<void> {
    for (const f of feeds) await this.feed(f.vpd, f.subtype);
  }

  /** The analyst accepts the full file the safety stop holds (of `feed`, or of any feed): its events go out. */
  async accept(feed?: string): Promise<Step<Tag> | undefined> {
    const f = [...this.feeds.values()].find((x) => x.stopped && (!feed || x.key === feed));
    if (!f?.stopped) return undefined;
    const { run, tag, derived } = f.stopped;
    return this.apply(f, run, tag, [], undefined, derived);
  }

  /** The analyst discards the full file the safety stop holds: refused (to be failed), the snapshot unchanged. */
  async discard(feed?: string): Promise<Step<Tag> | undefined> {
    const f = [...this.feeds.values()].find((x) => x.stopped && (!feed || x.key === feed));
    if (!f?.stopped) return undefined;
    const { run, tag } = f.stopped;
    f.stopped = undefined;
    return this.step(f, 'refused', run, tag);
  }

  /** Per feed: files held (sequence gap or safety stop), the file stopped, events waiting for their day. */
  waiting(): { feed: string; held: string[]; stopped?: string; pending: number; lastSequence?: number }[] {
    return [...this.feeds.values()].map((f) => ({ feed: f.key, held: f.held.map((h) => h.run.facts.name), ...(f.stopped ? { stopped: f.stopped.run.facts.name } : {}), pending: f.meta.pending.length, lastSequence: f.meta.lastSequence }));
  }

  /** Forgets what is in memory (held and stopped files); the store stays open (its owner closes it). */
  forget(): void {
    this.feeds.clear();
  }
}
