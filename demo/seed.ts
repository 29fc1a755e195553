/**
 * Fills the demo: the hub's Out/ folders with the synthetic trust's GO files (and an invented OH file), and the
 * trust systems' export files (roster pay variations and absences, expense claims, OH results) that the example
 * flows send to ESR. All data is invented.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadLayout, writeToBuffer, buildFileName, type EsrRecord } from '../core/codec';
import { SyntheticTrust, writeGoFiles } from '../core/synthetic';

export const ROOT = path.join(__dirname, '..', '..');

/** Where each example polls: every system gets its own copy of the feed, as a trust subscribes each one. */
export const FEEDS = { rostering: 'Out/rostering', expenses: 'Out/expenses', oh: 'Out/occupational-health', identity: 'Out/identity' } as const;

/** The change-file days the hub holds (the full file is day 0). */
export const DAYS = 3;
/** The day whose change file never reached the identity system's copy of the feed: a sequence gap, on purpose. */
export const IDENTITY_LOST_DAY = 2;

export interface Seeded {
  trust: SyntheticTrust;
  /** the files in each feed folder, in ESR order (identity: without the lost day's change file) */
  goFiles: { rostering: string[]; expenses: string[]; oh: string[]; identity: string[] };
  exports: { rosterPay: string; rosterAbsences: string; expenseClaims: string; ohResults: string };
  /** the rows of each export (without the header), to check what reaches In/ */
  rows: { rosterPay: string[][]; rosterAbsences: string[][]; expenseClaims: string[][]; ohResults: string[][] };
}

const cell = (v: string | number) => (/[",\r\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
const csv = (rows: (string | number)[][]) => rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';

/** The full file is dated DAYS days ago and each day since has a change file, so the demo starts with DAYS + 1 files. */
export async function seedDemo(hubRoot: string, exportsDir: string, options: { staff?: number; seed?: number; today?: string } = {}): Promise<Seeded> {
  const today = options.today ?? new Date().toISOString().slice(0, 10);
  const full = new Date(`${today}T00:00:00Z`);
  full.setUTCDate(full.getUTCDate() - DAYS);
  const trust = new SyntheticTrust({ staff: options.staff ?? 200, seed: options.seed ?? 1, date: full.toISOString().slice(0, 10) });
  const gdw = await writeGoFiles(trust, path.join(hubRoot, FEEDS.rostering), { days: DAYS, subtypes: ['GDW'] });
  const exp = await writeGoFiles(trust, path.join(hubRoot, FEEDS.expenses), { days: DAYS, subtypes: ['EXP'] });
  fs.mkdirSync(path.join(hubRoot, FEEDS.oh), { recursive: true });
  for (const name of gdw) fs.copyFileSync(path.join(hubRoot, FEEDS.rostering, name), path.join(hubRoot, FEEDS.oh, name));
  // The identity system's copy lost a change file: esr-changes sees the gap and asks the hub for a full file (GDR).
  const identity = gdw.filter((_n, day) => day !== IDENTITY_LOST_DAY);
  fs.mkdirSync(path.join(hubRoot, FEEDS.identity), { recursive: true });
  for (const name of identity) fs.copyFileSync(path.join(hubRoot, FEEDS.rostering, name), path.join(hubRoot, FEEDS.identity, name));
  const oh = await writeOhFile(trust, path.join(hubRoot, FEEDS.oh), today);
  fs.mkdirSync(path.join(hubRoot, 'In'), { recursive: true });

  fs.mkdirSync(exportsDir, { recursive: true });
  const staff = [...trust.fullStaff()];
  const sample = (every: number) => staff.filter((_p, i) => i % every === 0);
  const yesterday = new Date(`${today}T00:00:00Z`);
  yesterday.setUTCDate(yesterday.getUTCDate() - 1);
  const worked = yesterday.toISOString().slice(0, 10);
  const codes = ['OT15', 'OT20', 'ENH_NIGHT', 'ENH_WKND', 'ONCALL'];
  const pay = sample(10).map((p, i) => [p.assignments[0].assignmentNumber, worked, codes[i % codes.length], i % 2 ? '7.5' : '4']);
  const absences = sample(25).map((p, i) => [p.personId, `R${p.personId}-${i + 1}`, 'Sickness', 'S13 Cold, Cough, Flu - Influenza', worked, worked, '1', '7.5']);
  const claims = sample(8).flatMap((p, i) => (i % 3 === 2 ? [[p.assignments[0].assignmentNumber, worked, 'fare', '', '12.40']] : [[p.assignments[0].assignmentNumber, worked, 'mileage', String(10 + i), '']]));
  const results = sample(20).map((p, i) =>
    i % 2 ? ['ASM', p.personId, p.employeeNumber, `RA${p.personId}`, '', '', 'Pre-placement', 'Fit', worked] : ['IMM', p.personId, p.employeeNumber, `RI${p.personId}`, 'Influenza', '1', '', '', worked],
  );
  const exportFiles = {
    rosterPay: path.join(exportsDir, 'roster-pay-variations.csv'),
    rosterAbsences: path.join(exportsDir, 'roster-absences.csv'),
    expenseClaims: path.join(exportsDir, 'expense-claims.csv'),
    ohResults: path.join(exportsDir, 'oh-results.csv'),
  };
  fs.writeFileSync(exportFiles.rosterPay, csv([['assignment', 'date', 'code', 'hours'], ...pay]));
  fs.writeFileSync(exportFiles.rosterAbsences, csv([['personId', 'absenceId', 'type', 'reason', 'start', 'end', 'days', 'hours'], ...absences]));
  fs.writeFileSync(exportFiles.expenseClaims, csv([['assignment', 'date', 'type', 'miles', 'amount'], ...claims]));
  fs.writeFileSync(exportFiles.ohResults, csv([['kind', 'personId', 'employeeNumber', 'id', 'immunisation', 'dose', 'assessment', 'outcome', 'date'], ...results]));
  return {
    trust,
    goFiles: { rostering: gdw, expenses: exp, oh: [...gdw, oh], identity },
    exports: exportFiles,
    rows: { rosterPay: pay, rosterAbsences: absences, expenseClaims: claims, ohResults: results },
  };
}

/** An OHO_ file in the invented example layout: a flu jab for every fifth person, a clearance for every seventh. */
async function writeOhFile(trust: SyntheticTrust, dir: string, today: string): Promise<string> {
  const layout = loadLayout(path.join(ROOT, 'layouts', 'oh-outbound.example.json'));
  const name = buildFileName(layout, { vpd: trust.vpd, date: today, sequence: 1 });
  const records: EsrRecord[] = [];
  const stamp = `${today}T01:00:00`;
  for (const p of trust.fullStaff()) {
    if (p.index % 5 === 0) records.push({ recordType: 'IMM', personId: p.personId, immunisationId: `I${p.personId}`, employeeNumber: p.employeeNumber, immunisationType: 'Hepatitis B', dose: '3', dateGiven: p.hireDate, status: 'Complete', lastUpdateDate: stamp });
    if (p.index % 7 === 0) records.push({ recordType: 'ASM', personId: p.personId, assessmentId: `A${p.personId}`, employeeNumber: p.employeeNumber, assessmentType: 'Pre-placement', outcome: 'Fit', assessmentDate: p.hireDate, lastUpdateDate: stamp });
  }
  const bytes = await writeToBuffer(layout, [{ recordType: 'HDR', filename: name, creationDate: stamp, trustIdentifier: trust.vpd }, ...records]);
  fs.writeFileSync(path.join(dir, name), bytes);
  return name;
}
