/**
 * One GO file as it arrives, record by record (or person by person), boiled down to what the snapshot watches:
 * per person the latest person row, the latest row of each assignment and the primary address, plus the deletes.
 * Rows may come in any order (the GDW feed is grouped by record type). Nothing else of a record is kept.
 */
import { createHash } from 'node:crypto';
import type { EsrRecord } from '../codec';
import { ADDRESS_KEEP, ASSIGNMENT_KEEP, PERSON_KEEP, pick, type Fields } from './model';

/** What is known about a file: from its name and header (esr-read gives these as msg.esr). */
export interface FileFacts {
  /** The file name (e.g. GO_123_GDW_GOC_20261121_00000002.DAT). */
  name: string;
  vpd: string;
  /** GO subtype, e.g. GDW or EXP. */
  subtype: string;
  extract: 'full' | 'changes';
  /** The file sequence from the name (8 digits), when it has one. */
  sequence?: number;
  /** Extract date from the name, ISO YYYY-MM-DD. */
  date?: string;
}

/** A person as one file gives them. */
export interface Incoming {
  /** Watched fields of the latest person row (PRA), when the file has one. */
  p?: Fields;
  /** Watched fields of the latest row of each assignment the file has. */
  a: Map<string, Fields>;
  /** The primary address row, when the file has one. */
  ad?: Fields;
  /** The file deletes the person (PRD). */
  deleted?: boolean;
}

/** The person view esr-read sends in person mode: the rows current at a date, grouped by record type. */
export interface PersonViewInput {
  personId: string;
  deleted?: boolean;
  person?: Record<string, unknown> | null;
  records?: Record<string, Record<string, unknown>[]>;
}

/** A later (or equal: later in the file) effective start wins among rows of one ID. */
const newer = (a: Fields | undefined, b: Fields) => !a || (b.effectiveStartDate ?? '') >= (a.effectiveStartDate ?? '');

export class FileRun {
  readonly people = new Map<string, Incoming>();
  /** Assignment IDs of ASD rows; address IDs of ADD rows (child deletes carry no Person ID). */
  readonly assignmentDeletes: string[] = [];
  readonly addressDeletes: string[] = [];
  /** The header's run end ("Run Date", HDR field 6) and previous run end, as the reader gives them. */
  runEnd?: string;
  previousRunEnd?: string;
  private readonly hash = createHash('sha256');
  private count = 0;

  /** `facts`: name, VPD, subtype, full or changes, sequence (see FileFacts). */
  constructor(public facts: FileFacts) {}

  /** Rows handed in so far. */
  get records(): number {
    return this.count;
  }

  private person(id: string): Incoming {
    let p = this.people.get(id);
    if (!p) this.people.set(id, (p = { a: new Map() }));
    return p;
  }

  /** Adds one record (as the codec reads it). Rows the snapshot does not watch only count towards the file's hash. */
  add(record: EsrRecord): void {
    this.count++;
    this.hash.update(JSON.stringify(record)).update('\n');
    const personId = typeof record.personId === 'string' ? record.personId : undefined;
    switch (record.recordType) {
      case 'HDR':
        if (typeof record.runDate === 'string') this.runEnd = record.runDate;
        if (typeof record.previousRunDate === 'string') this.previousRunEnd = record.previousRunDate;
        return;
      case 'PRA': {
        if (!personId) return;
        const p = this.person(personId);
        const fields = pick(record, PERSON_KEEP);
        if (newer(p.p, fields)) p.p = fields;
        return;
      }
      case 'PRD':
        if (personId) this.person(personId).deleted = true;
        return;
      case 'ASA': {
        const id = typeof record.assignmentId === 'string' ? record.assignmentId : undefined;
        if (!personId || !id) return;
        const p = this.person(personId);
        const fields = pick(record, ASSIGNMENT_KEEP);
        if (newer(p.a.get(id), fields)) p.a.set(id, fields);
        return;
      }
      case 'ASD':
        if (typeof record.assignmentId === 'string') this.assignmentDeletes.push(record.assignmentId);
        return;
      case 'ADA': {
        if (!personId) return;
        const p = this.person(personId);
        const fields = pick(record, ADDRESS_KEEP);
        const primary = record.primaryFlag === undefined || record.primaryFlag === 'Y';
        // A primary row wins over another kind; among rows of one kind the later start wins.
        const heldPrimary = p.ad?._primary === 'Y';
        if (primary) fields._primary = 'Y';
        if (!p.ad || (primary && !heldPrimary) || (primary === heldPrimary && newer(p.ad, fields))) p.ad = fields;
        return;
      }
      case 'ADD':
        if (typeof record.addressId === 'string') this.addressDeletes.push(record.addressId);
        return;
      default:
        return;
    }
  }

  /** Adds a person as esr-read's person mode gives them (rows current at a date). */
  addPerson(view: PersonViewInput): void {
    if (view.person) this.add({ ...(view.person as EsrRecord), recordType: 'PRA', personId: view.personId });
    for (const [code, rows] of Object.entries(view.records ?? {})) for (const row of rows) this.add({ ...(row as EsrRecord), recordType: code, personId: view.personId });
    if (view.deleted) this.add({ recordType: 'PRD', personId: view.personId });
    if (!this.people.has(view.personId)) this.person(view.personId);
  }

  /** SHA-256 (hex) of the records as read, in order: the same file read the same way gives the same hash. */
  sha256(): string {
    return this.hash.copy().digest('hex');
  }
}
