/**
 * The synthetic trust as Generic Outbound files: a full file (GOF) and daily change files (GOC), for the
 * data-warehouse (GDW) or the expenses (EXP) subtype, with HDR, TRL and file sequences as ESR numbers them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import { buildFileName, EsrWriter, loadLayout, type EsrRecord } from '../codec';
import { addDays } from './random';
import { JOBS, type Assignment, type Person } from './staff';
import type { SyntheticTrust } from './trust';

export type GoSubtype = 'GDW' | 'EXP';

const layoutId = (subtype: GoSubtype) => (subtype === 'GDW' ? 'go-gdw' : 'go-exp');
const JOB_LIST = [...JOBS];
/** A job's index, by name: people of later days are copies (structuredClone), so their job is not one of JOBS. */
const jobIndex = (job: Assignment['job']) => JOB_LIST.findIndex((j) => j.job === job.job);
/** One position per ward and job. */
const positionId = (unit: number, job: number) => `P${unit}-${job}`;

/** The file name of the full file (day 0) or of day `day`'s change file; sequences count from 1 at the full file. */
export function goFileName(trust: SyntheticTrust, subtype: GoSubtype, day: number): string {
  return buildFileName(loadLayout(layoutId(subtype)), {
    vpd: trust.vpd,
    subtype,
    extractType: day === 0 ? 'F' : 'C',
    date: addDays(trust.date, day),
    sequence: day + 1,
  });
}

function header(trust: SyntheticTrust, subtype: GoSubtype, day: number): EsrRecord {
  const date = addDays(trust.date, day);
  return {
    recordType: 'HDR',
    filename: goFileName(trust, subtype, day),
    creationDate: `${date}T02:15:00`,
    trustIdentifier: trust.vpd,
    // A full file has no previous run; a change file covers the day before its date.
    previousRunDate: day === 0 ? null : `${addDays(date, -1)}T00:00:00`,
    runDate: `${date}T00:00:00`,
    interfaceVersionNumber: '01',
  };
}

function* referenceRecords(trust: SyntheticTrust, subtype: GoSubtype, stamp: string): Generator<EsrRecord> {
  const exp = subtype === 'EXP';
  for (let u = 0; u < trust.units; u++) {
    yield {
      recordType: 'LCA', locationId: `L${u}`, locationCode: `${trust.vpd} L${u}`, locationDescription: `Ward ${u + 1}, "Main" Building`,
      assignmentAddress1stLine: 'Beckett Street', town: 'Leeds', postcode: 'LS9 7TF', country: 'GB', lastUpdateDate: stamp,
    };
  }
  for (let u = 0; u < trust.units; u++) {
    const org = {
      recordType: 'ORA', organisationId: `O${u}`, effectiveFromDate: '2001-04-01', hierarchyVersionId: '1', defaultCostCentre: `${trust.vpd}C${u}`,
      locationId: `L${u}`, lastUpdateDate: stamp, costCentreDescription: `Ward ${u + 1}`,
    };
    // Ward 1 is the top of the hierarchy (its own parent).
    const name = `${trust.vpd} Ward ${u + 1}|Medicine`;
    yield exp
      ? { ...org, orgName: name, orgType: 'NHS_TM', parentOrgId: 'O0' }
      : { ...org, organisationName: name, organisationType: 'NHS_TM', parentOrganisationId: 'O0' };
  }
  for (let u = 0; u < trust.units; u++) {
    for (const [j, job] of JOB_LIST.entries()) {
      yield {
        recordType: 'POA', positionId: positionId(u, j), effectiveFromDate: '2019-01-01', positionNumber: positionId(u, j),
        positionName: `${positionId(u, j)}|${job.job}|${job.staffGroup}|`, budgetedFte: '4', payscale: job.grade, organisationId: `O${u}`, lastUpdateDate: stamp,
      };
    }
  }
}

function assignmentRows(p: Person, a: Assignment, stamp: string): EsrRecord[] {
  const row = (from: string, to: string | undefined, hours: number, job: Assignment['job'], unit: number): EsrRecord => ({
    recordType: 'ASA', personId: p.personId, assignmentId: a.assignmentId, effectiveStartDate: from, effectiveEndDate: to,
    earliestAssignmentStartDate: a.start, assignmentType: 'E', assignmentNumber: a.assignmentNumber,
    systemAssignmentStatus: 'ACTIVE_ASSIGN', userAssignmentStatus: 'Active Assignment', employeeStatusFlag: 'X',
    payrollName: 'Monthly', payrollPeriodType: 'Calendar Month', assignmentLocationId: `L${unit}`,
    employeeCategory: hours < 37.5 ? 'Part Time' : 'Full Time', assignmentCategory: a.primary ? 'Permanent' : 'Bank',
    primaryAssignment: a.primary ? 'Y' : 'N', normalHoursSessions: String(hours), frequency: 'W',
    fte: (hours / 37.5).toFixed(4).replace(/0+$/, '').replace(/\.$/, ''), organisationId: `O${unit}`,
    positionId: positionId(unit, jobIndex(job)), positionName: `${positionId(unit, jobIndex(job))}|${job.job}|${job.staffGroup}|`,
    grade: job.grade, annualSalaryValue: String(Math.round((job.salary * hours) / 37.5)), jobName: job.job,
    lastUpdateDate: stamp, lastWorkingDay: p.terminationDate ?? undefined,
  });
  const end = p.terminationDate ?? undefined;
  if (!a.changedOn || !a.previous) return [row(a.start, end, a.hours, a.job, a.unit)];
  // A date-tracked change: the old row ends the day before the new one starts.
  return [row(a.start, addDays(a.changedOn, -1), a.previous.hours, a.previous.job, a.previous.unit), row(a.changedOn, end, a.hours, a.job, a.unit)];
}

function* personRecords(trust: SyntheticTrust, p: Person, subtype: GoSubtype, stamp: string, withHistory: boolean): Generator<EsrRecord> {
  const exp = subtype === 'EXP';
  const person: EsrRecord = {
    recordType: 'PRA', personId: p.personId, effectiveStartDate: p.hireDate, effectiveEndDate: undefined, employeeNumber: p.employeeNumber,
    title: p.title, lastName: p.lastName, firstName: p.firstName, gender: p.gender, dateOfBirth: p.dateOfBirth,
    nationalInsuranceNumber: p.nationalInsuranceNumber, hireDate: p.hireDate, actualTerminationDate: p.terminationDate ?? undefined,
    terminationReason: p.terminationDate ? 'Voluntary Resignation - Relocation' : undefined, employeeStatusFlag: 'E',
    systemPersonType: 'EMP', userPersonType: 'Employee', nhsStartDate: p.hireDate, lastUpdateDate: stamp, disabilityFlag: 'N',
    [exp ? 'officeEMail' : 'officeEMailAddress']: `${p.firstName.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase()}.${p.personId}@example.nhs.uk`,
  };
  yield person;
  for (const a of p.assignments) {
    yield* assignmentRows(p, a, stamp);
    if (exp && p.vehicle && a.primary) {
      yield { recordType: 'VHA', personId: p.personId, assignmentId: a.assignmentId, vehicleAllocationId: p.vehicle.id, effectiveStartDate: a.start, registrationNumber: p.vehicle.registration, make: p.vehicle.make, model: p.vehicle.model, ownership: 'Private', lastUpdateDate: stamp, engineCc: p.vehicle.engineCc, userRatesTable: 'AfC Mileage', fuelType: p.vehicle.engineCc === '0' ? 'Electric' : 'Petrol' };
    }
    yield { recordType: 'COA', personId: p.personId, assignmentId: a.assignmentId, costingAllocationId: `${a.assignmentId}C`, effectiveStartDate: a.start, entityCode: trust.vpd, costCentre: `${trust.vpd}C${a.unit}`, subjective: '0702K161', percentageSplit: '100', lastUpdateDate: stamp };
  }
  if (exp) {
    yield { recordType: 'PHA', personId: p.personId, phoneId: p.phone.id, phoneType: 'Mobile', phoneNumber: p.phone.number, effectiveStartDate: p.hireDate, lastUpdateDate: stamp };
    yield {
      recordType: 'ADA', personId: p.personId, addressId: p.address.id, addressType: 'Home', addressStyle: 'United Kingdom', primaryFlag: 'Y',
      address1stLine: p.address.line1, addressTown: p.address.town, addressPostcode: p.address.postcode, addressCountry: 'GB',
      effectiveStartDate: p.address.since, lastUpdateDate: stamp,
    };
  } else if (withHistory) {
    for (const b of p.absences) {
      yield {
        recordType: 'ABA', personId: p.personId, absenceAttendanceId: b.id, absenceType: 'Sickness', absenceReason: b.reason, status: 'Confirmed',
        notificationDate: b.start, actualStartDate: b.start, actualStartTime: '08:00', actualEndDate: b.end, actualEndTime: '16:00',
        absenceDurationDays: String(b.days), absenceUnits: 'D', hoursLost: String(b.days * 7.5), workRelated: 'No', lastUpdateDate: stamp,
      };
    }
  }
}

/** The full file's records, header first (the writer adds the trailer). */
export function* fullFileRecords(trust: SyntheticTrust, subtype: GoSubtype): Generator<EsrRecord> {
  const stamp = `${trust.date}T01:30:00`;
  yield header(trust, subtype, 0);
  yield* referenceRecords(trust, subtype, stamp);
  for (const p of trust.fullStaff()) yield* personRecords(trust, p, subtype, stamp, true);
}

/** Day `day`'s change file: every person who joined, gave notice or changed, with all their current rows. */
export function* changeFileRecords(trust: SyntheticTrust, subtype: GoSubtype, day: number): Generator<EsrRecord> {
  const changes = trust.changesOn(day);
  const stamp = `${addDays(changes.date, -1)}T17:45:00`;
  yield header(trust, subtype, day);
  for (const p of [...changes.joiners, ...changes.leavers, ...changes.changed.map((c) => c.person)]) yield* personRecords(trust, p, subtype, stamp, false);
}

/** Writes records with the subtype's layout; stops adding records once `stopAtBytes` are written (benchmarks). */
export async function writeGoFile(file: string, subtype: GoSubtype, records: Iterable<EsrRecord>, stopAtBytes = Infinity): Promise<number> {
  const writer = new EsrWriter(loadLayout(layoutId(subtype)));
  const out = fs.createWriteStream(file);
  let written = 0;
  writer.on('data', (chunk: Buffer) => (written += chunk.length));
  writer.pipe(out);
  for (const record of records) {
    if (written >= stopAtBytes && record.recordType === 'PRA') break; // whole people only
    if (!writer.write(record)) await once(writer, 'drain');
  }
  writer.end();
  await once(out, 'finish');
  return written;
}

/** Writes the full file and `days` change files for each subtype into `dir`; returns the file names in order. */
export async function writeGoFiles(trust: SyntheticTrust, dir: string, options: { days?: number; subtypes?: GoSubtype[] } = {}): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (const subtype of options.subtypes ?? ['GDW']) {
    for (let day = 0; day <= (options.days ?? 0); day++) {
      const name = goFileName(trust, subtype, day);
      await writeGoFile(path.join(dir, name), subtype, day === 0 ? fullFileRecords(trust, subtype) : changeFileRecords(trust, subtype, day));
      names.push(name);
    }
  }
  return names;
}

/**
 * Everyone on the staff after day `day` (0: the full file's staff), one at a time: the day-0 staff and every joiner
 * since, as they stand after the changes of days 1..`day`, without those whose termination date is before `asOf`
 * (YYYY-MM-DD). What a full file made on `asOf` lists.
 */
export function* currentStaff(trust: SyntheticTrust, day: number, asOf: string): Generator<Person> {
  let headcount = trust.staff;
  for (let d = 1; d <= day; d++) headcount += trust.changesOn(d).joiners.length;
  for (let i = 1; i <= headcount; i++) {
    const p = trust.person(i);
    if (!p.terminationDate || p.terminationDate >= asOf) yield p;
  }
}

/**
 * A full file (GOF) of the staff as they stand after day `day`: what the hub sends in answer to a refresh request
 * (GDR). `name` is its file name; `runDate` (ISO date-time) its run end; people who left before that day are absent.
 */
export function* currentFileRecords(trust: SyntheticTrust, subtype: GoSubtype, day: number, name: string, runDate: string): Generator<EsrRecord> {
  const stamp = runDate;
  yield { recordType: 'HDR', filename: name, creationDate: runDate, trustIdentifier: trust.vpd, previousRunDate: null, runDate, interfaceVersionNumber: '01' };
  yield* referenceRecords(trust, subtype, stamp);
  for (const p of currentStaff(trust, day, runDate.slice(0, 10))) yield* personRecords(trust, p, subtype, stamp, true);
}
