/**
 * The person view of a GO stream: each person's rows together (PRA with its ASA/PHA/ADA/VHA/COA/... rows),
 * and among date-tracked rows the one current at a given date.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { CompiledLayout, CompiledRecordType } from './layout';
import type { EsrRecord } from './reader';
import { SpilledPeople } from './spill';

export interface PersonGroup {
  type: 'person';
  personId: string;
  /** The person's rows in file order (PRA, its children, and a PRD when the person is deleted). */
  records: EsrRecord[];
}

export interface OtherRecord {
  type: 'record';
  /** A row that belongs to no person: HDR, TRL, LCA, ORA, POA, child deletes (ASD ...), unknown types. */
  record: EsrRecord;
}

export interface GroupOptions {
  /**
   * 'blocks' (default, streaming): rows for one person are consecutive, as in the expenses (EXP) feed, where
   * each PRA is followed by its children. 'collect': rows may be anywhere (the GDW feed is grouped by record
   * type); every person is held in memory until the end of the file.
   */
  mode?: 'blocks' | 'collect';
  /**
   * 'collect' only: the most rows held at once (default: no bound). One more fails the stream with an Error of
   * code TOO_MANY_RECORDS (and `limit`), before memory runs short.
   */
  maxRecords?: number;
  /**
   * 'collect' only: past `afterRecords` rows held, the rows go to temporary files in a folder made under `dir`
   * (see spill.ts), removed at the end or when the stream is destroyed; memory then holds about 1/256 of the file
   * at the end. `maxRecords` no longer applies once rows are spilled. People then come out bucket by bucket, not
   * in the order they first appear.
   */
  spill?: { dir: string; afterRecords: number; buckets?: number };
}

/** Object-mode Transform: records in, PersonGroup / OtherRecord items out. */
export class PersonGrouper extends Transform {
  private readonly layout: CompiledLayout;
  private readonly mode: 'blocks' | 'collect';
  private current?: PersonGroup;
  private readonly all = new Map<string, PersonGroup>();
  private readonly maxRecords: number;
  private held = 0;

  constructor(layout: CompiledLayout, options: GroupOptions = {}) {
    super({ objectMode: true });
    this.layout = layout;
    this.mode = options.mode ?? 'blocks';
    this.maxRecords = options.maxRecords ?? Infinity;
    this.spillOptions = options.spill;
  }

  private readonly spillOptions?: { dir: string; afterRecords: number; buckets?: number };
  private spilled?: SpilledPeople;

  /** Moves what is held to disk; from then on every row of a person goes there. */
  private async startSpill(): Promise<void> {
    const spill = (this.spilled = new SpilledPeople(this.spillOptions!.dir, this.spillOptions!.buckets));
    for (const group of this.all.values()) for (const record of group.records) await spill.add(group.personId, record);
    this.all.clear();
  }

  override _transform(record: EsrRecord, _enc: BufferEncoding, callback: TransformCallback): void {
    const personId = personIdOf(this.layout, record);
    if (personId === undefined) {
      // The trailer closes the last person so that it comes out before the trailer.
      if (this.mode === 'blocks' && record.recordType === this.layout.trailer?.code) this.flushCurrent();
      this.push({ type: 'record', record } satisfies OtherRecord);
    } else if (this.mode === 'collect' && (this.spilled || (this.spillOptions && this.held >= this.spillOptions.afterRecords))) {
      const write = async () => {
        if (!this.spilled) await this.startSpill();
        await this.spilled!.add(personId, record);
      };
      write().then(() => callback(), callback);
      return;
    } else if (this.mode === 'collect') {
      if (++this.held > this.maxRecords) {
        this.all.clear();
        return callback(Object.assign(new Error(`more than ${this.maxRecords} rows to hold to group people`), { code: 'TOO_MANY_RECORDS', limit: this.maxRecords }));
      }
      let group = this.all.get(personId);
      if (!group) this.all.set(personId, (group = { type: 'person', personId, records: [] }));
      group.records.push(record);
    } else {
      if (this.current?.personId !== personId) {
        this.flushCurrent();
        this.current = { type: 'person', personId, records: [] };
      }
      this.current.records.push(record);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.flushCurrent();
    for (const group of this.all.values()) this.push(group);
    this.all.clear();
    if (!this.spilled) return callback();
    const spilled = this.spilled;
    (async () => {
      for await (const people of spilled.groups()) {
        for (const group of people) this.push(group);
        // One bucket at a time: the next is read only once the reader has taken this one.
        while (this.readableLength > 0 && !this.destroyed) await new Promise((r) => setTimeout(r, 2));
        if (this.destroyed) return;
      }
    })().then(() => callback(), callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.spilled) return callback(err);
    this.spilled.remove().then(
      () => callback(err),
      () => callback(err),
    );
  }

  private flushCurrent(): void {
    if (this.current) this.push(this.current);
    this.current = undefined;
  }
}

/**
 * The Person ID a row belongs to: its person field, or for a person delete (PRD) its ID; undefined for rows of
 * no person (HDR, TRL, LCA, child deletes, unknown lines) and where the field is empty.
 */
export function personIdOf(layout: CompiledLayout, record: EsrRecord): string | undefined {
  const rt = layout.byCode.get(record.recordType) ?? layout.byDeleteCode.get(record.recordType);
  if (!rt || rt === layout.header || rt === layout.trailer) return undefined;
  const isDelete = layout.byDeleteCode.get(record.recordType) === rt;
  // A delete row carries only its own ID: a person delete (PRD) belongs to that person; other deletes to none.
  const key = isDelete ? (rt.idField === rt.personField ? rt.idField : undefined) : rt.personField;
  const v = key ? record[key] : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export interface PersonView {
  personId: string;
  /** True when the file deletes the person (PRD). */
  deleted: boolean;
  /** For each record type: the rows current at the date (one per ID for date-tracked types), in file order. */
  current: Record<string, EsrRecord[]>;
}

function isCurrent(rt: CompiledRecordType, record: EsrRecord, date: string): boolean {
  const from = rt.effectiveFrom ? record[rt.effectiveFrom] : undefined;
  const to = rt.effectiveTo ? record[rt.effectiveTo] : undefined;
  if (typeof from === 'string' && from.slice(0, 10) > date) return false;
  if (typeof to === 'string' && to.slice(0, 10) < date) return false;
  return true;
}

/**
 * The rows of a person current at `date` (ISO YYYY-MM-DD): rows whose effective dates include the date; where
 * several rows of one ID are current (overlapping date-tracked rows), the later one in the file wins.
 * Rows of types without effective dates are all kept; delete rows are left out.
 */
export function currentAt(layout: CompiledLayout, group: PersonGroup, date: string): PersonView {
  const current: Record<string, EsrRecord[]> = {};
  const byId = new Map<string, number>();
  let deleted = false;
  for (const record of group.records) {
    const rt = layout.byCode.get(record.recordType);
    if (!rt) {
      if (layout.byDeleteCode.has(record.recordType)) deleted ||= layout.byDeleteCode.get(record.recordType)!.idField === layout.byDeleteCode.get(record.recordType)!.personField;
      continue;
    }
    if (!isCurrent(rt, record, date)) continue;
    const list = (current[rt.code] ??= []);
    const id = rt.idField ? record[rt.idField] : undefined;
    const slot = typeof id === 'string' ? `${rt.code}\u0000${id}` : undefined;
    if (slot !== undefined && byId.has(slot)) list[byId.get(slot)!] = record;
    else {
      if (slot !== undefined) byId.set(slot, list.length);
      list.push(record);
    }
  }
  return { personId: group.personId, deleted, current };
}
