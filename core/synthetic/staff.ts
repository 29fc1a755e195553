/**
 * The invented staff of a synthetic trust: people with one or two assignments, a home address, a phone, sometimes
 * a car, and some absences. Person i depends only on (seed, i), so a file of any size is made without holding it.
 */
import { addDays, between, pick, streamFor, type Random } from './random';

// Latin-1 only: GO files are ISO-8859-1. Accents and apostrophes on purpose, as real staff lists have them.
const FIRST_F = ['Amelia', 'Zoë', 'Chloé', 'Siân', 'Aoife', 'Renée', 'Priya', 'Aisha', 'Ngozi', 'Olivia', 'Freya', 'Inés', 'Mária', 'Grace', 'Fatima'];
const FIRST_M = ['Oliver', 'José', 'Seán', 'Rhys', 'François', 'Björn', 'Mohammed', 'Tomás', 'Oluwaseun', 'Harry', 'Jørgen', 'Kwame', 'Arjun', 'Noah', 'Dónal'];
const LAST = [
  "O'Brien", "D'Souza", 'Müller', 'Brontë', 'Núñez', 'Ó Súilleabháin', 'Lefèvre', 'Smith', 'Jones', 'Williams', 'Taylor', 'Davies',
  'Evans', 'Patel', 'Khan', 'Okafor', 'Nguyen', 'Kowalski', 'MacDonald', 'Fitzgerald-Hughes', "N'Diaye", 'García', 'Öztürk', 'Hughes',
];
const STREETS = ['High Street', "St John's Road", 'Church Lane', 'Station Road', 'Mill Lane', "Queen's Drive", 'Park Avenue', 'Brontë Close'];
const TOWNS: [string, string][] = [['Leeds', 'LS'], ['Bradford', 'BD'], ['Wakefield', 'WF'], ['Harrogate', 'HG'], ['York', 'YO']];
const CARS: [string, string, string][] = [['Ford', 'Focus', '1596'], ['Toyota', 'Yaris', '1490'], ['Nissan', 'Leaf', '0'], ['Vauxhall', 'Corsa', '1199']];

export const JOBS = [
  { job: 'Staff Nurse', grade: 'XR05', salary: 31049, staffGroup: 'Nursing and Midwifery Registered' },
  { job: 'Healthcare Assistant', grade: 'XR03', salary: 24625, staffGroup: 'Additional Clinical Services' },
  { job: 'Physiotherapist', grade: 'XR06', salary: 37338, staffGroup: 'Allied Health Professionals' },
  { job: 'Ward Sister', grade: 'XR07', salary: 46148, staffGroup: 'Nursing and Midwifery Registered' },
  { job: 'Medical Secretary', grade: 'XR04', salary: 26530, staffGroup: 'Administrative and Clerical' },
  { job: 'Porter', grade: 'XR02', salary: 23615, staffGroup: 'Estates and Ancillary' },
] as const;

const ABSENCE_REASONS = ['S12 Other musculoskeletal problems', 'S13 Cold, Cough, Flu - Influenza', 'S25 Gastrointestinal problems', 'S10 Anxiety/stress/depression/other psychiatric illnesses'];

export interface Assignment {
  assignmentId: string;
  assignmentNumber: string;
  /** index into the trust's organisations, positions and locations */
  unit: number;
  job: (typeof JOBS)[number];
  hours: number;
  primary: boolean;
  start: string;
  /** the day an hours or grade change took effect (a new date-tracked row from then) */
  changedOn?: string;
  previous?: { hours: number; job: (typeof JOBS)[number]; unit: number };
  endDate?: string;
}

export interface Absence {
  id: string;
  reason: string;
  start: string;
  end: string;
  days: number;
}

export interface Person {
  index: number;
  personId: string;
  employeeNumber: string;
  title: string;
  firstName: string;
  lastName: string;
  gender: 'Female' | 'Male';
  dateOfBirth: string;
  nationalInsuranceNumber: string;
  hireDate: string;
  terminationDate?: string;
  address: { id: string; line1: string; town: string; postcode: string; since: string };
  phone: { id: string; number: string };
  vehicle?: { id: string; registration: string; make: string; model: string; engineCc: string };
  assignments: Assignment[];
  absences: Absence[];
}

const earliest = (a: string, b: string) => (a < b ? a : b);

function isoDate(r: Random, fromYear: number, toYear: number): string {
  return `${between(r, fromYear, toYear)}-${String(between(r, 1, 12)).padStart(2, '0')}-${String(between(r, 1, 28)).padStart(2, '0')}`;
}

function postcode(r: Random, area: string): string {
  const letters = 'ABDEFGHJLNPQRSTUWXYZ';
  return `${area}${between(r, 1, 29)} ${between(r, 1, 9)}${letters[between(r, 0, 19)]}${letters[between(r, 0, 19)]}`;
}

/** Person `index` of the trust, as on the day of the full file; `hiredOn` makes a joiner of a later day. */
export function makePerson(seed: number, index: number, units: number, fullFileDate: string, hiredOn?: string): Person {
  const r = streamFor(seed, 'person', index);
  const female = r() < 0.7; // about the NHS workforce's split
  const firstName = pick(r, female ? FIRST_F : FIRST_M);
  const lastName = pick(r, LAST);
  const personId = String(100000 + index);
  const employeeNumber = String(20000000 + index);
  const hireDate = hiredOn ?? isoDate(r, 1995, Number(fullFileDate.slice(0, 4)) - 1);
  const [town, area] = pick(r, TOWNS);
  const assignments: Assignment[] = [];
  const count = r() < 0.15 && !hiredOn ? 2 : 1; // some staff hold a second (bank) assignment
  for (let a = 0; a < count; a++) {
    assignments.push({
      assignmentId: `${personId}${a + 1}`,
      assignmentNumber: a === 0 ? employeeNumber : `${employeeNumber}-${a + 1}`,
      unit: between(r, 0, units - 1),
      job: pick(r, JOBS),
      hours: pick(r, [37.5, 37.5, 37.5, 30, 22.5, 15]),
      primary: a === 0,
      start: a === 0 ? hireDate : earliest(addDays(hireDate, between(r, 30, 900)), fullFileDate),
    });
  }
  const absences: Absence[] = [];
  for (let b = 0, n = between(r, 0, 2); b < n; b++) {
    const start = addDays(fullFileDate, -between(r, 5, 300));
    const days = between(r, 1, 5);
    absences.push({ id: `${personId}A${b + 1}`, reason: pick(r, ABSENCE_REASONS), start, end: addDays(start, days - 1), days });
  }
  const car = r() < 0.3 ? pick(r, CARS) : undefined;
  return {
    index,
    personId,
    employeeNumber,
    title: female ? pick(r, ['Ms', 'Mrs', 'Miss', 'Dr']) : pick(r, ['Mr', 'Dr']),
    firstName,
    lastName,
    gender: female ? 'Female' : 'Male',
    dateOfBirth: isoDate(r, 1960, 2004),
    // QQ is a prefix never issued: a synthetic NI number can never be a real person's.
    nationalInsuranceNumber: `QQ${String(index % 1000000).padStart(6, '0')}${pick(r, ['A', 'B', 'C', 'D'])}`,
    hireDate,
    address: { id: `${personId}H`, line1: `${between(r, 1, 220)} ${pick(r, STREETS)}`, town, postcode: postcode(r, area), since: hireDate },
    phone: { id: `${personId}P`, number: `07700 9${String(between(r, 0, 99999)).padStart(5, '0')}` }, // Ofcom's drama range
    vehicle: car && { id: `${personId}V`, registration: `YX${between(r, 10, 24)} ${'ABCDEFGH'[between(r, 0, 7)]}${'KLMNPRST'[between(r, 0, 7)]}Z`, make: car[0], model: car[1], engineCc: car[2] },
    assignments,
    absences,
  };
}
