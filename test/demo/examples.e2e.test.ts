/**
 * End to end: the demo (simulated hub, synthetic trust, stand-in trust systems, a real Node-RED 5 process) with
 * every example flow deployed. Checks what each example delivers: record counts, a known person's fields, and
 * the bytes of the files sent to ESR, read back with the codec.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadLayout, readAll, type EsrRecord } from '../../core/codec';
import { startDemo, type Demo } from '../../demo/demo';
import { DAYS } from '../../demo/seed';
import { changeFileRecords, goFileName, writeGoFile } from '../../core/synthetic';
import { freePort } from '../support/sshd';
import { NODE_RED_SKIP, waitFor } from '../support/node-red';

const MINUTE = 60_000;
const isoToDmy = (iso: string) => iso.split('-').reverse().join('/');

const EXAMPLES_DIR = path.join(__dirname, '..', '..', '..', 'examples');
const exampleNode = (file: string, id: string) => (JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as Record<string, string>[]).find((n) => n.id === id)!;

/** The TA_ name parts the examples compute with JSONata, on a given day instead of today. */
async function taNameParts(file: string, id: string, iso: string): Promise<{ taxYear: string; taxPeriod: string }> {
  const jsonata = require('@node-red/util/lib/jsonata') as (e: string) => { evaluate(input: unknown): unknown };
  const expression = exampleNode(file, id).nameParts.replace('$now()', `'${iso}T12:00:00.000Z'`);
  return (await jsonata(expression).evaluate({})) as { taxYear: string; taxPeriod: string };
}

it("the TA_ file name's tax year and period: the tax year starts on 6 April, each period on the 6th", async () => {
  // HMRC tax months: 6 April - 5 May is 01, ..., 6 March - 5 April is 12; the year is the one in which the tax year ends.
  const known: [string, string, string][] = [
    ['2026-04-05', '26', '12'], ['2026-04-06', '27', '01'], ['2026-05-05', '27', '01'], ['2026-11-22', '27', '08'],
    ['2026-12-20', '27', '09'], ['2027-01-05', '27', '09'], ['2027-01-20', '27', '10'], ['2027-03-10', '27', '12'],
  ];
  for (const [file, id] of [['rostering.json', 'r-ta-write'], ['expenses.json', 'e-ta-write']]) {
    for (const [day, year, period] of known) {
      const parts = await taNameParts(file, id, day);
      assert.deepEqual([parts.taxYear, parts.taxPeriod], [year, period], `${file} on ${day}`);
    }
  }
});

it('the demo refuses a port something else listens on, rather than deploying into it', async () => {
  const other = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  const port = (other.address() as net.AddressInfo).port;
  try {
    await assert.rejects(startDemo({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-demo-')), port, staff: 5 }), /port \d+ is in use/);
  } finally {
    other.close();
  }
});

describe('the example flows against the demo hub', { skip: NODE_RED_SKIP }, () => {
  let demo: Demo;
  const files = (dir: string, re: RegExp) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => re.test(n)).sort() : []);
  const inFolder = () => path.join(demo.hubRoot, 'In');

  before(async () => {
    demo = await startDemo({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-demo-')), port: await freePort(), staff: 120 });
  });
  after(async () => {
    await demo?.stop();
  });

  it('rostering: every GO file becomes a roster CSV import file and an API post, then is archived', async () => {
    const names = demo.seeded.goFiles.rostering;
    await waitFor(() => files(path.join(demo.hubRoot, 'Out', 'rostering', 'archive'), /\.DAT$/).length === names.length, MINUTE);
    assert.deepEqual(files(demo.rosterCsvDir, /\.csv$/), names.map((n) => `staff-${n.replace('.DAT', '.csv')}`).sort());
    const fullCsv = fs.readFileSync(path.join(demo.rosterCsvDir, `staff-${names[0].replace('.DAT', '.csv')}`), 'utf8').trim().split(/\r?\n/);
    assert.equal(fullCsv.length, 1 + 120, 'a header and a row per person');
    const known = [...demo.seeded.trust.fullStaff()][0];
    const row = fullCsv.find((l) => l.startsWith(`${known.employeeNumber},`))!;
    assert.equal(row, [known.employeeNumber, known.personId, 'full', 'false', known.lastName, known.firstName, isoToDmy(known.dateOfBirth), row.split(',')[7], known.assignments[0].assignmentNumber, known.assignments[0].job.job, known.assignments[0].job.grade, `O${known.assignments[0].unit}`, String(known.assignments[0].hours), isoToDmy(known.hireDate), ''].join(','));
    const posts = demo.standIns.received('roster/staff') as Record<string, string>[][];
    assert.equal(posts.length, names.length);
    const changes = Array.from({ length: DAYS }, (_, d) => demo.seeded.trust.changesOn(d + 1));
    const changed = (c: (typeof changes)[number]) => c.joiners.length + c.leavers.length + c.changed.length;
    // One file at a time, in ESR order: the full file first, then each day's changes.
    assert.deepEqual(posts.map((p) => [p.length, p[0].extract]), [[120, 'full'], ...changes.map((c) => [changed(c), 'changes'])]);
    const leaver = changes[0].leavers[0];
    assert.equal(posts[1].find((p) => p.staffNumber === leaver.employeeNumber)?.leavingDate, isoToDmy(leaver.terminationDate!));
  });

  it('rostering: pay variations arrive in In/ as a TA_ file and absences as a file in the trust layout', async () => {
    await waitFor(() => files(inFolder(), /^TA_/).length === 2 && files(inFolder(), /^ABS_/).length === 1, MINUTE);
    const today = await taNameParts('rostering.json', 'r-ta-write', new Date().toISOString().slice(0, 10));
    const ta = await Promise.all(files(inFolder(), /^TA_/).map(async (n) => ({ name: n, ...(await readAll(loadLayout('ta'), path.join(inFolder(), n))) })));
    for (const t of ta) {
      assert.match(t.name, new RegExp(`^TA_123_SEL_MN${today.taxYear}${today.taxPeriod}_\\d{8}\\.DAT$`));
      assert.equal(t.summary.errorCount, 0);
    }
    const roster = ta.find((t) => t.records.some((r) => r.elementName === 'Overtime Time and a Half'))!;
    assert.ok(roster, 'the roster TA_ file');
    const rows = roster.records.filter((r) => r.recordType === 'ATT');
    assert.equal(rows.length, demo.seeded.rows.rosterPay.length);
    const firstPay = demo.seeded.rows.rosterPay[0];
    assert.equal(rows[0].assignmentNumber, firstPay[0]);
    assert.equal(rows[0].inputValue1Value, firstPay[3]);
    // Once on the hub, the exports are removed: a restart never sends them twice.
    await waitFor(() => !fs.existsSync(demo.seeded.exports.rosterPay) && !fs.existsSync(demo.seeded.exports.rosterAbsences));
    const bytes = fs.readFileSync(path.join(inFolder(), roster.name));
    assert.ok(bytes.includes(Buffer.from('\r')) && !bytes.includes(Buffer.from('\n')), 'bare CR line endings');
    assert.ok(bytes.toString('latin1').endsWith(`FTR,${rows.length},0`));

    const [abs] = files(inFolder(), /^ABS_/);
    const absences = await readAll(loadLayout(path.join(__dirname, '..', '..', '..', 'layouts', 'absence-inbound.example.json')), path.join(inFolder(), abs));
    assert.equal(absences.summary.errorCount, 0);
    const aba = absences.records.filter((r) => r.recordType === 'ABA');
    assert.equal(aba.length, demo.seeded.rows.rosterAbsences.length);
    assert.equal(aba[0].absenceReason, 'S13 Cold, Cough, Flu - Influenza');
    assert.equal(aba[0]['3rdPartySystemReference'], aba[0].absenceAttendanceId);
  });

  it('expenses: people with address and car reach the expenses system; mileage and fares go back as a TA_ file', async () => {
    await waitFor(() => demo.standIns.received('expenses/staff').length === DAYS + 1, MINUTE);
    const people = (demo.standIns.received('expenses/staff') as Record<string, string>[][]).flat();
    const withCar = [...demo.seeded.trust.fullStaff()].find((p) => p.vehicle)!;
    const got = people.find((p) => p.employeeNumber === withCar.employeeNumber)!;
    assert.deepEqual([got.surname, got.homeAddress, got.postcode, got.vehicleRegistration, got.engineCc], [withCar.lastName, withCar.address.line1, withCar.address.postcode, withCar.vehicle!.registration, withCar.vehicle!.engineCc]);
    await waitFor(() => files(inFolder(), /^TA_/).length === 2, MINUTE);
    const all: EsrRecord[] = [];
    for (const n of files(inFolder(), /^TA_/)) all.push(...(await readAll(loadLayout('ta'), path.join(inFolder(), n))).records);
    const claims = all.filter((r) => r.elementName === 'Business Miles NR NHS' || r.elementName === 'Expenses NR NP NHS');
    assert.equal(claims.length, demo.seeded.rows.expenseClaims.length);
    const mileage = claims.find((r) => r.elementName === 'Business Miles NR NHS')!;
    assert.equal(mileage.inputValue1Name, 'Claim Start Date');
    assert.match(String(mileage.inputValue1Value), /^\d{2}-[A-Z][a-z]{2}-\d{4}$/);
    assert.equal(mileage.inputValue2Name, 'Claimed Mileage');
  });

  it('occupational health: esr-changes finds the starters, leavers and movers; clearance records in; results out in the trust layout', async () => {
    await waitFor(() => demo.standIns.received('oh/staff').length === DAYS + 1 && demo.standIns.received('oh/clearance').length === 1, MINUTE);
    const posts = demo.standIns.received('oh/staff') as Record<string, unknown>[][];
    const staff = posts.flat();
    const event = (id: string) => staff.filter((p) => p.personId === id).map((p) => p.event);
    // The first full file loads everyone as current, with their details.
    assert.deepEqual([posts[0].length, posts[0].every((p) => p.event === 'current' && p.extract === 'full')], [120, true]);
    const known = [...demo.seeded.trust.fullStaff()][0];
    assert.deepEqual((({ surname, forename, dateOfBirth, ward, startDate }) => ({ surname, forename, dateOfBirth, ward, startDate }))(posts[0].find((p) => p.personId === known.personId)!), {
      surname: known.lastName, forename: known.firstName, dateOfBirth: known.dateOfBirth, ward: `O${known.assignments[0].unit}`, startDate: known.hireDate,
    });
    // Each day: exactly that day's starters, leavers (with the leaving date) and movers (hours, grade, ward; the GDW feed has no address).
    for (let d = 1; d <= DAYS; d++) {
      const day = demo.seeded.trust.changesOn(d);
      const post = posts[d];
      assert.deepEqual(post.filter((p) => p.event === 'starter').map((p) => p.personId).sort(), day.joiners.map((p) => p.personId).sort(), `day ${d} starters`);
      assert.deepEqual(post.filter((p) => p.event === 'leaver').map((p) => [p.personId, p.leavingDate, p.future]).sort(), day.leavers.map((p) => [p.personId, p.terminationDate, true]).sort(), `day ${d} leavers`);
      const movers = day.changed.filter((c) => c.kind !== 'address').map((c) => c.person.personId);
      assert.deepEqual(post.filter((p) => p.event === 'mover').map((p) => p.personId).sort(), [...new Set(movers)].sort(), `day ${d} movers`);
    }
    const day1 = demo.seeded.trust.changesOn(1);
    assert.ok(event(day1.joiners[0].personId).includes('starter'));
    assert.ok(event(day1.leavers[0].personId).includes('leaver'));
    const clearance = demo.standIns.received('oh/clearance')[0] as Record<string, string>[];
    assert.equal(clearance.filter((r) => r.kind === 'IMM').length, Math.floor(120 / 5));
    assert.equal(clearance.filter((r) => r.kind === 'ASM').length, Math.floor(120 / 7));
    await waitFor(() => files(inFolder(), /^OHI_/).length === 1, MINUTE);
    const results = await readAll(loadLayout(path.join(__dirname, '..', '..', '..', 'layouts', 'oh-inbound.example.json')), path.join(inFolder(), files(inFolder(), /^OHI_/)[0]));
    assert.equal(results.summary.errorCount, 0);
    assert.equal(results.records.filter((r) => r.recordType === 'IMM' || r.recordType === 'ASM').length, demo.seeded.rows.ohResults.length);
  });

  it('a file cut short goes to the error folder, and nothing of it reaches the roster system', async () => {
    const name = 'GO_123_GDW_GOC_20991230_00000098.DAT';
    const source = path.join(demo.hubRoot, 'Out', 'rostering', 'archive', demo.seeded.goFiles.rostering[1]);
    const text = fs.readFileSync(source, 'latin1').replace(demo.seeded.goFiles.rostering[1], name);
    const posts = demo.standIns.received('roster/staff').length;
    fs.writeFileSync(path.join(demo.hubRoot, 'Out', 'rostering', name), Buffer.from(text.slice(0, text.indexOf('TRL~')), 'latin1'));
    await waitFor(() => fs.existsSync(path.join(demo.hubRoot, 'Out', 'rostering', 'error', name)), MINUTE);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(demo.standIns.received('roster/staff').length, posts, 'nothing posted');
    assert.ok(!fs.existsSync(path.join(demo.rosterCsvDir, `staff-${name.replace('.DAT', '.csv')}`)), 'no import file');
  });

  it('a junk file with a GO name (an HTML error page) goes to the error folder at once, not back to the claim folder', async () => {
    const name = 'GO_123_GDW_GOC_20991228_00000096.DAT';
    const posts = demo.standIns.received('roster/staff').length;
    fs.writeFileSync(path.join(demo.hubRoot, 'Out', 'rostering', name), '<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>\r\n');
    await waitFor(() => fs.existsSync(path.join(demo.hubRoot, 'Out', 'rostering', 'error', name)), MINUTE);
    assert.equal(demo.standIns.received('roster/staff').length, posts, 'nothing posted');
  });

  it('an OH file with a wrong trailer count goes to the error folder, and none of its records is posted', async () => {
    const oho = demo.seeded.goFiles.oh.find((n) => n.startsWith('OHO_'))!;
    const name = oho.replace(/_\d{8}\.DAT$/, '_00000099.DAT');
    const text = fs.readFileSync(path.join(demo.hubRoot, 'Out', 'occupational-health', 'archive', oho), 'latin1').replace(oho, name).replace(/TRL~\d+/, 'TRL~7');
    const posts = demo.standIns.received('oh/clearance').length;
    fs.writeFileSync(path.join(demo.hubRoot, 'Out', 'occupational-health', name), Buffer.from(text, 'latin1'));
    await waitFor(() => fs.existsSync(path.join(demo.hubRoot, 'Out', 'occupational-health', 'error', name)), MINUTE);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(demo.standIns.received('oh/clearance').length, posts, 'nothing posted');
  });

  it('OH: a person whose PRA was rejected (a bad date of birth) is not sent to the OH system; the rest of the file is', async () => {
    // The next day's change file (new changes, the next sequence), with one PRA spoilt.
    const trust = demo.seeded.trust;
    const name = goFileName(trust, 'GDW', DAYS + 1);
    const scratch = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'esr-oh-')), name);
    await writeGoFile(scratch, 'GDW', changeFileRecords(trust, 'GDW', DAYS + 1));
    const text = fs.readFileSync(scratch, 'latin1');
    const people = [...new Set(text.split('\n').filter((l) => l.startsWith('PRA~')).map((l) => l.split('~')[1]))];
    assert.ok(people.length >= 2, 'the change file has several people');
    const victim = people[0];
    // Date of Birth is the 14th field of PRA.
    const spoilt = text.split('\n').map((l) => (l.startsWith(`PRA~${victim}~`) ? l.split('~').map((v, i) => (i === 13 ? '20230230' : v)).join('~') : l)).join('\n');
    const posts = demo.standIns.received('oh/staff').length;
    fs.writeFileSync(path.join(demo.hubRoot, 'Out', 'occupational-health', name), Buffer.from(spoilt, 'latin1'));
    await waitFor(() => demo.standIns.received('oh/staff').length === posts + 1, MINUTE);
    const posted = demo.standIns.received('oh/staff').at(-1) as Record<string, string>[];
    assert.ok(!posted.some((p) => p.personId === victim), 'nothing for the person whose PRA was rejected');
    // Everyone else with a change the GDW feed shows (an address is not in it) is sent.
    const day = trust.changesOn(DAYS + 1);
    const shown = new Set([...day.joiners, ...day.leavers, ...day.changed.filter((c) => c.kind !== 'address').map((c) => c.person)].map((p) => p.personId));
    for (const other of people.slice(1).filter((id) => shown.has(id))) assert.ok(posted.some((p) => p.personId === other), `person ${other} is sent`);
    await waitFor(() => fs.existsSync(path.join(demo.hubRoot, 'Out', 'occupational-health', 'archive', name)), MINUTE);
  });

  it('a file the roster system refuses goes to the error folder, not the archive', async () => {
    const name = 'GO_123_GDW_GOC_20991231_00000099.DAT';
    const source = path.join(demo.hubRoot, 'Out', 'rostering', 'archive', demo.seeded.goFiles.rostering[1]);
    const text = fs.readFileSync(source, 'latin1').replace(demo.seeded.goFiles.rostering[1], name);
    demo.standIns.refuse('roster/staff');
    fs.writeFileSync(path.join(demo.hubRoot, 'Out', 'rostering', name), Buffer.from(text, 'latin1'));
    await waitFor(() => fs.existsSync(path.join(demo.hubRoot, 'Out', 'rostering', 'error', name)), MINUTE);
    assert.ok(!fs.existsSync(path.join(demo.hubRoot, 'Out', 'rostering', 'archive', name)));
    assert.ok(!fs.existsSync(path.join(demo.rosterCsvDir, `staff-${name.replace('.DAT', '.csv')}`)), 'no import file for a refused file');
  });
});
