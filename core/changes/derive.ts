/**
 * From the snapshot and one file to the snapshot after it and the events between them. Pure: nothing is written
 * here, so the same snapshot and file always give the same events (with the same ids) — what makes a replay after
 * a crash safe to recognise downstream.
 */
import { createHash } from 'node:crypto';
import type { FileRun, Incoming } from './file-run';

/** A person the file touches, with the child deletes (ASD, ADD) that name them through the snapshot. */
type Touched = Incoming & { drop?: string[]; dropAddress?: boolean };
import { ASSIGNMENT_LIFE, CHANGE_FIELDS, LEAVE_FIELDS, MOVER_FIELDS, day, identityOf, leavingDate, type ChangeKind, type Fields, type PersonState } from './model';

/** One field that changed. Values go to downstream systems in the event; never into logs, status or errors. */
export interface FieldChange {
  /** The layout key, e.g. `grade`, `lastName`, `address1stLine`. */
  field: string;
  /** For assignment fields, the assignment. */
  assignmentId?: string;
  before: string | null;
  after: string | null;
}

export interface ChangeEvent {
  /** Stable for (file, person, kind): a replay of the same file gives the same id. */
  id: string;
  kind: ChangeKind;
  personId: string;
  /** For a rehire matched on name + date of birth + NI number: the Person ID the former leaver had. */
  formerPersonId?: string;
  employeeNumber?: string;
  /** The day the change takes effect (YYYY-MM-DD). */
  effectiveDate?: string;
  /** True when the effective date was after the day the event was found. */
  future: boolean;
  /**
   * Why: joiner `newPerson` | `firstAssignment`; leaver `terminated` | `assignmentsEnded` | `deleted` |
   * `absentFromFullFile`; rehire `samePersonId` | `sameIdentity`; change of a leaver's date `leaveDateChanged` |
   * `leaveWithdrawn`.
   */
  reason?: string;
  /** Mover: position, organisation, location, grade, hours, manager, assignment; change: name, email, address, other. */
  categories: string[];
  /** The names of the fields that changed (no values). */
  fields: string[];
  changes: FieldChange[];
  /** The file it came from. */
  file: { name: string; sequence?: number };
}

export interface DeriveContext {
  /** Today, YYYY-MM-DD: later effective dates are future. */
  today: string;
  /** The day a delete or an absence from a full file takes effect: the file's run end (else its date). */
  fileDate: string;
  /** The first full file into an empty snapshot: no joiner events (it is where the snapshot starts). */
  baseline: boolean;
  sha256: string;
  /** People whose joiner or rehire event still waits for its day: nothing was sent of them yet. */
  waitingToJoin?: ReadonlySet<string>;
}

export interface Derived {
  /** New state per Person ID (undefined never happens: people are kept, gone ones for rehire matching). */
  updates: Map<string, PersonState>;
  events: ChangeEvent[];
  /** People whose waiting leaver event is void (the leave was withdrawn or moved). */
  voidPending: Set<string>;
  /** People gone (deleted or absent from a full file): every event of theirs still waiting for its day is void. */
  dropPending: Set<string>;
  /** Leavers the file causes (given now or waiting for their day): for the safety stop. */
  leavers: number;
  /** Staff in the snapshot before the file who had not left. */
  activeBefore: number;
}

const eventId = (sha: string, personId: string, kind: string) => createHash('sha256').update(`${sha}\n${personId}\n${kind}`).digest('hex').slice(0, 32);

function diff(before: Fields | undefined, after: Fields | undefined, keys: readonly string[], assignmentId?: string): FieldChange[] {
  const out: FieldChange[] = [];
  for (const field of keys) {
    const b = before?.[field] ?? null;
    const a = after?.[field] ?? null;
    if (b !== a) out.push(assignmentId === undefined ? { field, before: b, after: a } : { field, assignmentId, before: b, after: a });
  }
  return out;
}

const maxDate = (dates: (string | undefined)[]) => dates.filter((d): d is string => !!d).map((d) => d.slice(0, 10)).sort().pop();
const minDate = (dates: (string | undefined)[]) => dates.filter((d): d is string => !!d).map((d) => d.slice(0, 10)).sort()[0];

/** When a person starts: their earliest assignment start, else their hire date. */
function startOf(s: PersonState): string | undefined {
  const starts = Object.values(s.a).map((a) => a.earliestAssignmentStartDate ?? a.effectiveStartDate);
  return minDate(starts) ?? day(s.p.hireDate);
}

/** Every watched value of a person, as changes from nothing (or from an earlier state), for joiners and rehires. */
function everything(before: PersonState | undefined, after: PersonState): FieldChange[] {
  const out = [...diff(before?.p, after.p, [...CHANGE_FIELDS.name, ...CHANGE_FIELDS.email, ...CHANGE_FIELDS.other, ...LEAVE_FIELDS]), ...diff(before?.ad, after.ad, CHANGE_FIELDS.address)];
  for (const [id, a] of Object.entries(after.a)) out.push(...diff(before?.a[id], a, [...Object.values(MOVER_FIELDS), ...ASSIGNMENT_LIFE], id));
  return out;
}

function sameFields(a: Fields | undefined, b: Fields | undefined): boolean {
  if (!a || !b) return a === b;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

function sameState(a: PersonState, b: PersonState): boolean {
  if (a.left !== b.left || !!a.told !== !!b.told || !!a.gone !== !!b.gone || !sameFields(a.p, b.p) || !sameFields(a.ad, b.ad)) return false;
  const ids = Object.keys(a.a);
  if (ids.length !== Object.keys(b.a).length) return false;
  for (const id of ids) if (!sameFields(a.a[id], b.a[id])) return false;
  return true;
}

class Builder {
  readonly events: ChangeEvent[] = [];
  constructor(
    private readonly ctx: DeriveContext,
    private readonly file: { name: string; sequence?: number },
  ) {}

  add(kind: ChangeKind, personId: string, s: PersonState, date: string | undefined, changes: FieldChange[], extra: Partial<ChangeEvent> = {}): void {
    const categories = extra.categories ?? [];
    this.events.push({
      id: eventId(this.ctx.sha256, personId, kind),
      kind,
      personId,
      ...(extra.formerPersonId ? { formerPersonId: extra.formerPersonId } : {}),
      ...(s.p.employeeNumber ? { employeeNumber: s.p.employeeNumber } : {}),
      ...(date ? { effectiveDate: date } : {}),
      future: !!date && date > this.ctx.today,
      ...(extra.reason ? { reason: extra.reason } : {}),
      categories,
      fields: [...new Set(changes.map((c) => c.field))],
      changes,
      file: this.file,
    });
  }
}

/** Joins what the file says about a person onto what the snapshot has (a change file carries only some rows). */
function merge(old: PersonState | undefined, inc: Incoming, full: boolean): PersonState {
  const base = full || !old || old.gone ? undefined : old;
  const next: PersonState = { p: inc.p ?? base?.p ?? (full ? {} : old?.p ?? {}), a: { ...(base?.a ?? {}) } };
  for (const [id, a] of inc.a) next.a[id] = a;
  const ad = inc.ad ? (({ _primary: _, ...rest }) => rest)(inc.ad) : full ? undefined : base?.ad;
  if (ad) next.ad = ad;
  if (inc.deleted) next.gone = true;
  return next;
}

/**
 * The snapshot after `run` and the events it gives. `people`: the snapshot before (not changed here).
 * Rules (see the README's esr-changes section): joiner, leaver, rehire, mover, change; a full file replaces each
 * person it has and makes leavers of active staff it lacks.
 */
export function derive(people: ReadonlyMap<string, PersonState>, run: FileRun, ctx: DeriveContext): Derived {
  const full = run.facts.extract === 'full';
  const out = new Builder(ctx, { name: run.facts.name, sequence: run.facts.sequence });
  const updates = new Map<string, PersonState>();
  const voidPending = new Set<string>();
  const dropPending = new Set<string>();
  let leavers = 0;
  let activeBefore = 0;
  const touched: string[] = [];

  // Former leavers by identity (name + date of birth + NI number), for a rehire under a new Person ID.
  const formerByIdentity = new Map<string, string>();
  for (const [id, s] of people) {
    if (!s.gone && !s.left) activeBefore++;
    if (s.left && s.told) {
      const key = identityOf(s);
      if (key) formerByIdentity.set(key, id);
    }
  }

  // Child deletes name an assignment or address, not a person: found through the snapshot and the file.
  const incoming = new Map<string, Touched>(run.people);
  if (run.assignmentDeletes.length || run.addressDeletes.length) {
    const owner = new Map<string, string>();
    const addressOwner = new Map<string, string>();
    for (const [id, s] of people) {
      for (const a of Object.keys(s.a)) owner.set(a, id);
      if (s.ad?.addressId) addressOwner.set(s.ad.addressId, id);
    }
    for (const [id, inc] of run.people) for (const a of inc.a.keys()) owner.set(a, id);
    const touch = (id: string): Touched => {
      let inc = incoming.get(id);
      if (!inc) incoming.set(id, (inc = { a: new Map() }));
      return inc;
    };
    for (const a of run.assignmentDeletes) {
      const id = owner.get(a);
      if (id) (touch(id).drop ??= []).push(a);
    }
    for (const ad of run.addressDeletes) {
      const id = addressOwner.get(ad);
      if (id) touch(id).dropAddress = true;
    }
  }

  const leaver = (id: string, s: PersonState, old: PersonState | undefined, date: string, reason: string) => {
    const changes = [...diff(old?.p, s.p, LEAVE_FIELDS)];
    for (const [aid, a] of Object.entries(s.a)) changes.push(...diff(old?.a[aid], a, ['effectiveEndDate', 'lastWorkingDay', 'assignmentEndDate'], aid));
    out.add('leaver', id, s, date, changes, { reason });
    s.left = date;
    delete s.told; // set when the event goes out (at once or on the day): see the feed
    leavers++;
  };

  /**
   * Deleted (PRD) or absent from a full file: gone on the file's day. Someone on notice to leave later leaves
   * now: a leaver waiting for its day is replaced by one today; one already told gets its new day as a change.
   */
  const goneNow = (id: string, next: PersonState, old: PersonState, reason: string) => {
    dropPending.add(id);
    if (ctx.waitingToJoin?.has(id)) {
      // Never sent as a joiner (it waited for its day): downstream never knew them, so no leaver either.
      delete next.left;
      delete next.told;
      return;
    }
    if (!old.left) return leaver(id, next, old, ctx.fileDate, reason);
    if (old.left <= ctx.fileDate) {
      next.left = old.left; // left already: kept, for a rehire by identity
      return;
    }
    if (!old.told) {
      voidPending.add(id);
      leaver(id, next, old, ctx.fileDate, reason);
      leavers--; // on notice already: not a leaver this file causes (the safety stop counts those)
      return;
    }
    next.left = ctx.fileDate;
    out.add('change', id, next, ctx.fileDate, [], { reason: 'leaveDateChanged', categories: ['leave'] });
  };

  for (const [id, inc] of incoming) {
    const old = people.get(id);
    const next = merge(old, inc, full);
    for (const a of inc.drop ?? []) delete next.a[a];
    if (inc.dropAddress && !inc.ad) delete next.ad;
    if (old?.left && !next.gone) next.left = old.left;
    if (old?.told) next.told = true;
    updates.set(id, next);
    touched.push(id);

    const oldActive = old && !old.gone;
    const hadAssignments = oldActive && Object.keys(old.a).length > 0;
    // The last assignment deleted (ASD) is the last assignment ended, on the file's day.
    const leaving = leavingDate(next, ctx.fileDate) ?? (hadAssignments && Object.keys(next.a).length === 0 ? ctx.fileDate : undefined);
    const isNew = !oldActive || (!hadAssignments && !old.left);

    if (isNew) {
      delete next.left;
      delete next.told;
      if (next.gone) continue; // deleted before we knew them
      const identity = old ? undefined : identityOf(next);
      const former = old?.left && old.told ? id : identity ? formerByIdentity.get(identity) : undefined;
      if (Object.keys(next.a).length === 0 && !former) continue; // a joiner comes with a first assignment
      if (leaving && leaving <= ctx.today) {
        next.left = leaving; // gone already when first heard of: no joiner, no leaver
        next.told = true;
        continue;
      }
      if (former) {
        out.add('rehire', id, next, startOf(next), everything(former === id ? old : undefined, next), { reason: former === id ? 'samePersonId' : 'sameIdentity', formerPersonId: former === id ? undefined : former });
      } else if (!ctx.baseline) {
        out.add('joiner', id, next, startOf(next), everything(undefined, next), { reason: old ? 'firstAssignment' : 'newPerson' });
      }
      if (leaving) leaver(id, next, undefined, leaving, next.p.actualTerminationDate ? 'terminated' : 'assignmentsEnded');
      continue;
    }

    // Known and active before this file.
    if (next.gone) {
      goneNow(id, next, old, 'deleted');
      continue;
    }
    if (!old.left && leaving) {
      leaver(id, next, old, leaving, next.p.actualTerminationDate ? 'terminated' : 'assignmentsEnded');
    } else if (old.left && !leaving) {
      delete next.left;
      delete next.told;
      voidPending.add(id);
      if (old.told && old.left <= ctx.today) {
        out.add('rehire', id, next, startOf(next), everything(old, next), { reason: 'samePersonId' });
        continue;
      }
      out.add('change', id, next, ctx.today, diff(old.p, next.p, LEAVE_FIELDS), { reason: 'leaveWithdrawn', categories: ['leave'] });
    } else if (old.left && leaving && leaving !== old.left) {
      next.left = leaving;
      if (!old.told) {
        voidPending.add(id);
        leaver(id, next, old, leaving, next.p.actualTerminationDate ? 'terminated' : 'assignmentsEnded');
        leavers--; // not a new leaver
      } else out.add('change', id, next, ctx.today, diff(old.p, next.p, LEAVE_FIELDS), { reason: 'leaveDateChanged', categories: ['leave'] });
    }

    // Movers: the watched fields of each assignment both states have; assignments that came or went.
    const moves: FieldChange[] = [];
    const categories = new Set<string>();
    const dates: (string | undefined)[] = [];
    for (const [aid, a] of Object.entries(next.a)) {
      const before = old.a[aid];
      if (!before) {
        moves.push({ field: 'assignmentId', assignmentId: aid, before: null, after: aid });
        categories.add('assignment');
        dates.push(a.earliestAssignmentStartDate ?? a.effectiveStartDate);
        continue;
      }
      for (const [category, field] of Object.entries(MOVER_FIELDS)) {
        const b = before[field] ?? null;
        const v = a[field] ?? null;
        if (b === v) continue;
        moves.push({ field, assignmentId: aid, before: b, after: v });
        categories.add(category);
        dates.push(a.effectiveStartDate);
      }
    }
    for (const aid of Object.keys(old.a)) {
      if (next.a[aid] || !Object.keys(next.a).length) continue;
      moves.push({ field: 'assignmentId', assignmentId: aid, before: aid, after: null });
      categories.add('assignment');
      dates.push(ctx.fileDate);
    }
    if (moves.length) out.add('mover', id, next, maxDate(dates), moves, { categories: [...categories] });

    // Changes: name, e-mail, other person fields; the primary address.
    const changes: FieldChange[] = [];
    const changed = new Set<string>();
    for (const [category, keys] of Object.entries(CHANGE_FIELDS)) {
      const found = category === 'address' ? diff(old.ad, next.ad, keys) : diff(old.p, next.p, keys);
      if (found.length) changed.add(category);
      changes.push(...found);
    }
    if (changes.length) {
      const when = maxDate([changed.has('address') ? next.ad?.effectiveStartDate : undefined, [...changed].some((c) => c !== 'address') ? next.p.effectiveStartDate : undefined]);
      out.add('change', id, next, when, changes, { categories: [...changed] });
    }
  }

  // Unchanged people keep their old state object: a full file of 50,000 then holds only what changed twice.
  for (const id of touched) {
    const old = people.get(id);
    if (old && sameState(old, updates.get(id)!)) updates.delete(id);
  }

  // A full file lists everyone: active staff it lacks have left (on the file's day).
  if (full) {
    for (const [id, old] of people) {
      if (old.gone || incoming.has(id)) continue;
      const next: PersonState = { ...old, gone: true };
      updates.set(id, next);
      goneNow(id, next, old, 'absentFromFullFile');
    }
  }
  return { updates, events: out.events, voidPending, dropPending, leavers, activeBefore };
}
