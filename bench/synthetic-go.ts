/**
 * A deterministic synthetic Generic Outbound (GDW) file for benchmarks: reference rows (LCA, ORA, POA), then
 * per person a PRA with its ASA, COA, ABA, ELA, CMA, QLA and ETA rows. All data is invented.
 */
import * as fs from 'node:fs';
import { once } from 'node:events';
import { loadLayout, EsrWriter, buildFileName, type EsrRecord } from '../core/codec';

const LAST = ['Smith', 'Jones', "O'Brien", 'Müller', 'Patel', 'Nguyen', 'Evans', 'Okafor', 'Kowalski', 'Brontë'];
const FIRST = ['Amelia', 'Oliver', 'Zoë', 'José', 'Priya', 'Sean', 'Chloé', 'Tomasz', 'Aisha', 'Rhys'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function ymd(r: () => number, from: number, to: number): string {
  const y = from + Math.floor(r() * (to - from));
  const m = 1 + Math.floor(r() * 12);
  const d = 1 + Math.floor(r() * 28);
  return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function* records(targetBytes: number, seed: number, written: () => number): Generator<EsrRecord> {
  const r = rng(seed);
  const stamp = '2026-11-20T01:02:03';
  yield {
    recordType: 'HDR',
    filename: 'GO_123_GDW_GOF_20261120_00000042.DAT',
    creationDate: stamp,
    trustIdentifier: '123',
    previousRunDate: null,
    runDate: '2026-11-20T00:00:00',
    interfaceVersionNumber: '01',
  };
  for (let i = 0; i < 200; i++) {
    yield { recordType: 'LCA', locationId: `L${i}`, locationCode: `123 L${i}`, locationDescription: `Site ${i} "Main" Building`, town: 'Leeds', postcode: 'LS1 4AP', country: 'GB', lastUpdateDate: stamp };
    yield { recordType: 'ORA', organisationId: `O${i}`, organisationName: `123 Ward ${i}|Medicine`, organisationType: 'NHS_TM', effectiveFromDate: '2001-04-01', hierarchyVersionId: '1', defaultCostCentre: `123C${i}`, parentOrganisationId: 'O0', locationId: `L${i}`, lastUpdateDate: stamp };
    yield { recordType: 'POA', positionId: `P${i}`, effectiveFromDate: '2019-01-01', positionNumber: `P${i}`, positionName: `P${i}|Staff Nurse|N${i}|`, budgetedFte: '1', payscale: 'XR05', organisationId: `O${i}`, lastUpdateDate: stamp };
  }
  for (let p = 1; written() < targetBytes; p++) {
    const personId = String(1000000 + p);
    const last = LAST[Math.floor(r() * LAST.length)];
    const first = FIRST[Math.floor(r() * FIRST.length)];
    const start = ymd(r, 1990, 2025);
    const person: EsrRecord = {
      recordType: 'PRA', personId, effectiveStartDate: start, employeeNumber: String(20000000 + p), title: 'Ms.', lastName: last, firstName: first,
      gender: r() < 0.5 ? 'Female' : 'Male', dateOfBirth: ymd(r, 1955, 2004), nationalInsuranceNumber: `QQ${String(p % 1000000).padStart(6, '0')}C`,
      hireDate: start, employeeStatusFlag: 'E', ethnicOrigin: 'Not Stated', systemPersonType: 'EMP', userPersonType: 'Employee',
      officeEMailAddress: `${first.toLowerCase()}.${p}@example.nhs.uk`, nhsStartDate: start, lastUpdateDate: stamp, disabilityFlag: 'N',
    };
    yield person;
    const assignments = 1 + Math.floor(r() * 2);
    for (let a = 0; a < assignments; a++) {
      const assignmentId = `${personId}${a}`;
      yield {
        recordType: 'ASA', personId, assignmentId, effectiveStartDate: start, earliestAssignmentStartDate: start, assignmentType: 'E',
        assignmentNumber: `${20000000 + p}${a ? '-' + (a + 1) : ''}`, systemAssignmentStatus: 'ACTIVE_ASSIGN', userAssignmentStatus: 'Active Assignment',
        employeeStatusFlag: 'X', payrollName: '123 Monthly', payrollPeriodType: 'Calendar Month', assignmentLocationId: `L${p % 200}`,
        employeeCategory: 'PT', assignmentCategory: 'Permanent', primaryAssignment: a === 0 ? 'Y' : 'N', normalHoursSessions: '37.5', frequency: 'W',
        fte: '1', organisationId: `O${p % 200}`, positionId: `P${p % 200}`, positionName: `P${p % 200}|Staff Nurse|N${p % 200}|`, grade: 'XR05',
        annualSalaryValue: '31000', jobName: 'Staff Nurse', lastUpdateDate: stamp,
      };
      yield { recordType: 'COA', personId, assignmentId, costingAllocationId: `${assignmentId}9`, effectiveStartDate: start, entityCode: '123', costCentre: `123C${p % 200}`, subjective: '0702K161', percentageSplit: '100', lastUpdateDate: stamp };
      yield { recordType: 'ELA', personId, elementEntryId: `${assignmentId}7`, effectiveStartDate: start, elementEntryType: 'E', assignmentId, elementTypeId: '4321', elementTypeName: 'AfC Annual Leave Accrual 1NHS', entryValue1: '203', entryValue2: ' 218', lastUpdateDate: stamp };
    }
    const absences = Math.floor(r() * 3);
    for (let b = 0; b < absences; b++) {
      const d = ymd(r, 2024, 2026);
      yield {
        recordType: 'ABA', personId, absenceAttendanceId: `${personId}A${b}`, absenceType: 'Sickness', absenceReason: 'S12 Other musculoskeletal problems',
        status: 'Confirmed', notificationDate: d, actualStartDate: d, actualStartTime: '09:00', actualEndDate: d, actualEndTime: '17:00',
        absenceDurationDays: '1', absenceUnits: 'D', hoursLost: '7.5', workRelated: 'No', lastUpdateDate: stamp,
      };
    }
    yield { recordType: 'CMA', personId, competencyElementId: `${personId}C`, competencyType: 'PERSONAL', competencyStatus: 'ACHIEVED', competencyName: 'NHS|CSTF|Fire Safety - 2 Years|', dateFrom: '2024-01-01', proficiencyLevel: '1 - Level 1', vpdCode: '123', lastUpdateDate: stamp };
    yield { recordType: 'QLA', personId, qualificationId: `${personId}Q`, qualificationType: 'Bachelors Degree', title: 'Adult Nursing', status: 'ATTAIN', grade: '02:01', awardedDate: '2012-07-07', establishment: 'University of Leeds', country: 'UK', lastUpdateDate: stamp };
    yield { recordType: 'ETA', personId, personExtraInformationId: `${personId}E`, informationType: 'NHS Regs and Memships', peiInformationCategory: 'NHS Regs and Memships', peiInformation1: 'Nursing and Midwifery Council', peiInformation2: ` ${p}E`, peiInformation3: ' 31/08/2012 00:00:00', lastUpdateDate: stamp };
  }
}

/** Writes a synthetic GO file of about `targetBytes` (header and trailer included) and returns its name. */
export async function writeSyntheticGo(file: string, targetBytes: number, seed = 1): Promise<string> {
  const layout = loadLayout('go-gdw');
  const writer = new EsrWriter(layout);
  const out = fs.createWriteStream(file);
  let written = 0;
  writer.on('data', (chunk: Buffer) => (written += chunk.length));
  writer.pipe(out);
  for (const record of records(targetBytes, seed, () => written)) {
    if (!writer.write(record)) await once(writer, 'drain');
  }
  writer.end();
  await once(out, 'finish');
  return buildFileName(layout, { vpd: '123', subtype: 'GDW', extractType: 'F', date: '2026-11-20', sequence: 42 });
}
