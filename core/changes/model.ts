/**
 * What the snapshot keeps of a person, and the fields it watches. Only watched fields are kept (layout keys, as the
 * codec names them), so that a 50,000-staff snapshot stays small: the person (PRA), each assignment (ASA, the latest
 * date-tracked row), and the primary home address (ADA, expenses feed only: the GDW feed has no address rows).
 */

/** Text values by layout key; an empty field is left out, as the reader leaves it out. */
export type Fields = Record<string, string>;

export interface PersonState {
  /** Watched fields of the person row. */
  p: Fields;
  /** Watched fields of each assignment, by Assignment ID. */
  a: Record<string, Fields>;
  /** The primary home address (ADA), with its `addressId`. */
  ad?: Fields;
  /** The day the person leaves or left: a leaver event was handed on or is waiting for that day. */
  left?: string;
  /** True once the leaver event went out (not merely waiting for its day). */
  told?: true;
  /** No longer in the staff list: deleted (PRD) or absent from a full file. Kept for rehire matching. */
  gone?: true;
}

/** Kinds of event, one per person and change. */
export type ChangeKind = 'joiner' | 'leaver' | 'mover' | 'change' | 'rehire';

/** Mover categories and the assignment field each one watches. */
export const MOVER_FIELDS: Record<string, string> = {
  position: 'positionId',
  organisation: 'organisationId',
  location: 'assignmentLocationId',
  grade: 'grade',
  hours: 'normalHoursSessions',
  manager: 'supervisorPersonId',
};

/** Change categories and the person fields each watches (`address` is the ADA row). */
export const CHANGE_FIELDS: Record<string, string[]> = {
  name: ['title', 'firstName', 'lastName', 'middleNames', 'preferredName', 'previousLastName', 'maidenName'],
  email: ['officeEMailAddress', 'officeEMail'],
  address: ['address1stLine', 'address2ndLine', 'address3rdLine', 'addressTown', 'addressCounty', 'addressPostcode', 'addressCountry'],
  other: ['employeeNumber', 'gender', 'dateOfBirth', 'nationalInsuranceNumber', 'nhsUniqueId', 'hireDate', 'userPersonType'],
};

/** Person fields about leaving: part of a leaver event, not of a change. */
export const LEAVE_FIELDS = ['actualTerminationDate', 'terminationReason'];

/** Person fields kept for dating events only (never reported as a change). */
const PERSON_DATES = ['effectiveStartDate'];

/** Assignment fields kept for the life of an assignment (start, end), not reported as a move. */
export const ASSIGNMENT_LIFE = ['assignmentNumber', 'effectiveStartDate', 'effectiveEndDate', 'earliestAssignmentStartDate', 'primaryAssignment', 'systemAssignmentStatus', 'lastWorkingDay', 'assignmentEndDate'];

export const PERSON_KEEP = [...CHANGE_FIELDS.name, ...CHANGE_FIELDS.email, ...CHANGE_FIELDS.other, ...LEAVE_FIELDS, ...PERSON_DATES];
export const ASSIGNMENT_KEEP = [...ASSIGNMENT_LIFE, ...Object.values(MOVER_FIELDS)];
export const ADDRESS_KEEP = ['addressId', ...CHANGE_FIELDS.address, 'effectiveStartDate'];

/**
 * Oracle HR (on which ESR is built) closes open-ended rows with 31 Dec 4712; such an end date means "no end"
 * (inference: no ESR source states it, but it is harmless for real end dates).
 */
export const isOpenEnd = (date: string | undefined): boolean => !date || date >= '4712-12-31';

/**
 * A copy of a text that shares no memory with the line it was cut from. V8 keeps a longer substring as a view of
 * its parent string, so a value kept from a read line would keep the whole line (or the chunk it came in) alive:
 * for 50,000 staff that is the whole file.
 */
const own = (s: string): string => (s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8'));

/**
 * Values many staff share (grades, statuses, organisations, dates, first names) are kept once: a snapshot and a
 * file of 50,000 staff then share most of their text. Fields that are unique per person are not pooled.
 */
const pool = new Map<string, string>();
const POOL_MAX = 200_000;
const UNPOOLED = new Set(['nationalInsuranceNumber', 'employeeNumber', 'assignmentNumber', 'officeEMailAddress', 'officeEMail', 'nhsUniqueId', 'addressId', 'address1stLine', 'addressPostcode']);

/** A field's text as kept: its own copy, pooled where it is a value many share. */
export function keep(field: string, s: string): string {
  if (UNPOOLED.has(field) || s.length > 40) return own(s);
  const hit = pool.get(s);
  if (hit !== undefined) return hit;
  const mine = own(s);
  if (pool.size < POOL_MAX) pool.set(mine, mine);
  return mine;
}

/** The watched fields of a row, as text (the reader gives text for every field kind). */
export function pick(record: Record<string, unknown>, keys: readonly string[]): Fields {
  const out: Fields = {};
  for (const k of keys) {
    const v = record[k];
    if (v !== undefined && v !== null && v !== '') out[k] = keep(k, String(v));
  }
  return out;
}

/** ISO date part of a date or timestamp text. */
export const day = (v: string | undefined): string | undefined => (v ? v.slice(0, 10) : undefined);

/**
 * The day a person leaves (YYYY-MM-DD), or undefined while they stay: gone from the list (their recorded day, else
 * `fileDate`), an Actual Termination Date, or else the last end date once every assignment has one.
 */
export function leavingDate(s: PersonState, fileDate: string): string | undefined {
  if (s.gone) return s.left ?? fileDate;
  const term = day(s.p.actualTerminationDate);
  if (term) return term;
  const ids = Object.keys(s.a);
  if (ids.length === 0) return undefined;
  let last = '';
  for (const id of ids) {
    const end = day(s.a[id].assignmentEndDate) ?? day(s.a[id].effectiveEndDate);
    if (isOpenEnd(end)) return undefined;
    if (end! > last) last = end!;
  }
  return last;
}

/** The identity used to recognise a former leaver under a new Person ID: name, date of birth and NI number. */
export function identityOf(s: PersonState): string | undefined {
  const { lastName, firstName, dateOfBirth, nationalInsuranceNumber } = s.p;
  if (!lastName || !firstName || !dateOfBirth || !nationalInsuranceNumber) return undefined;
  return [lastName.toUpperCase(), firstName.toUpperCase(), dateOfBirth, nationalInsuranceNumber.toUpperCase().replace(/\s+/g, '')].join('\u0000');
}
