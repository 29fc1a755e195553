/**
 * A synthetic NHS trust: its staff as on the day of the full file, then day by day joiners, leavers and changes
 * (hours, grade, a move to another ward, a new home address). Deterministic for a seed. All data is invented.
 */
import { addDays, between, pick, streamFor } from './random';
import { JOBS, makePerson, type Person } from './staff';

export interface TrustOptions {
  /** default 1 */
  seed?: number;
  /** staff in the full file (default 200) */
  staff?: number;
  /** the trust's VPD number (default '123') */
  vpd?: string;
  /** the date of the full file, YYYY-MM-DD (default 2026-11-20) */
  date?: string;
}

export type ChangeKind = 'hours' | 'grade' | 'move' | 'address';

export interface DayChanges {
  /** the date of the change file (its period is the day before) */
  date: string;
  joiners: Person[];
  leavers: Person[];
  changed: { person: Person; kind: ChangeKind }[];
}

export class SyntheticTrust {
  readonly seed: number;
  readonly staff: number;
  readonly vpd: string;
  readonly date: string;
  /** wards (each an organisation, a location and one position per job) */
  readonly units: number;
  private readonly changedPeople = new Map<number, Person>();
  private readonly left = new Set<number>();
  private readonly days: DayChanges[] = [];
  private headcount: number;

  constructor(options: TrustOptions = {}) {
    this.seed = options.seed ?? 1;
    this.staff = options.staff ?? 200;
    this.vpd = options.vpd ?? '123';
    this.date = options.date ?? '2026-11-20';
    if (!/^[A-Za-z0-9]{3}$/.test(this.vpd)) throw new Error('the VPD must be 3 letters or digits');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(this.date) || new Date(`${this.date}T00:00:00Z`).toISOString().slice(0, 10) !== this.date) {
      throw new Error('the date must be a real date, YYYY-MM-DD');
    }
    if (!Number.isInteger(this.staff) || this.staff < 1) throw new Error('staff must be a whole number above 0');
    this.units = Math.max(3, Math.min(200, Math.floor(this.staff / 20)));
    this.headcount = this.staff;
  }

  /** Person `index` as things stand after the days worked out so far. */
  person(index: number): Person {
    return this.changedPeople.get(index) ?? makePerson(this.seed, index, this.units, this.date);
  }

  /** Everyone in the full file, one at a time (a file of any size is never held in memory). */
  *fullStaff(): Generator<Person> {
    for (let i = 1; i <= this.staff; i++) yield makePerson(this.seed, i, this.units, this.date);
  }

  /** The changes of day `day` (1 = the day after the full file); earlier days are worked out first. */
  changesOn(day: number): DayChanges {
    if (!Number.isInteger(day) || day < 1) throw new Error('day must be 1 or more');
    while (this.days.length < day) this.days.push(this.nextDay(this.days.length + 1));
    return this.days[day - 1];
  }

  private nextDay(day: number): DayChanges {
    const r = streamFor(this.seed, 'day', day);
    const date = addDays(this.date, day);
    const effective = addDays(date, -1); // a change file covers the day before its date
    const size = Math.max(1, Math.round(this.staff * 0.01));
    const touched = new Set<number>();
    const someone = (): Person | undefined => {
      for (let tries = 0; tries < 20; tries++) {
        const i = between(r, 1, this.headcount);
        if (!this.left.has(i) && !touched.has(i)) {
          touched.add(i);
          return structuredClone(this.person(i));
        }
      }
      return undefined;
    };

    const joiners: Person[] = [];
    for (let j = 0; j < size; j++) {
      const p = makePerson(this.seed, ++this.headcount, this.units, this.date, effective);
      touched.add(p.index);
      joiners.push(p);
    }
    const leavers: Person[] = [];
    for (let j = 0; j < size; j++) {
      const p = someone();
      if (!p) continue;
      p.terminationDate = addDays(effective, 28); // notice given: leaves in four weeks
      this.left.add(p.index);
      leavers.push(p);
    }
    const changed: DayChanges['changed'] = [];
    for (let j = 0; j < size * 2; j++) {
      const p = someone();
      if (!p) continue;
      const kind = pick(r, ['hours', 'grade', 'move', 'address'] as const);
      const a = p.assignments[0];
      if (kind === 'address') {
        p.address = { ...p.address, line1: `${between(r, 1, 220)} Mill Lane`, since: effective };
      } else {
        a.previous = { hours: a.hours, job: a.job, unit: a.unit };
        a.changedOn = effective;
        if (kind === 'hours') a.hours = a.hours === 37.5 ? 30 : 37.5;
        if (kind === 'grade') a.job = JOBS[(JOBS.findIndex((j) => j.job === a.job.job) + 1) % JOBS.length]; // a copy: found by name
        if (kind === 'move') a.unit = (a.unit + 1) % this.units;
      }
      changed.push({ person: p, kind });
    }
    for (const p of [...joiners, ...leavers, ...changed.map((c) => c.person)]) this.changedPeople.set(p.index, p);
    return { date, joiners, leavers, changed };
  }
}
