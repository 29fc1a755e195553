/**
 * End to end: the identity example against the demo (simulated hub, synthetic trust, the SCIM bulk-upload stand-in,
 * a real Node-RED 5 process). The demo is played as of 60 days ago, so that the leavers' leaving days (four weeks
 * after notice) have come: the example sends events on the day. The identity feed lost a change file: esr-changes
 * sees the gap, writes a refresh request (GDR) into In/, the hub answers with a full file, and the snapshot is
 * reconciled from it. The stand-in then holds every joiner, each leaver as active: false, each move's department;
 * the AD CSV files have a row per event. The stand-in refuses the first request (400 invalidValue): the example keeps it
 * in IDENTITY_REFUSED_DIR and reports the status and scimType on the failures debug node (codes, never a value);
 * replaying the kept requests as the README says (a POST with the bearer token) completes the directory. The
 * esr-audit node writes the audit log, and `esr audit` tells a file's story from it.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { loadLayout, readAll } from '../../core/codec';
import { startDemo, type Demo } from '../../demo/demo';
import { PassThrough } from 'node:stream';
import { main } from '../../core/cli/esr';
import { BULK_REQUEST, ENTERPRISE_USER, MAX_OPERATIONS } from '../../demo/scim-stand-in';
import { watchSidebar, type SidebarWatch } from '../../demo/sidebar';
import { DAYS, IDENTITY_LOST_DAY } from '../../demo/seed';
import { freePort } from '../support/sshd';
import { NODE_RED_SKIP, waitFor } from '../support/node-red';

const MINUTE = 60_000;
const STAFF = 60;
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const email = (p: { firstName: string; personId: string }) => `${p.firstName.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase()}.${p.personId}@example.nhs.uk`;

describe('the identity example against the demo', { skip: NODE_RED_SKIP }, () => {
  let demo: Demo;
  let sidebar: SidebarWatch;
  const kept = () => (fs.existsSync(demo.identityRefusedDir) ? fs.readdirSync(demo.identityRefusedDir).filter((n) => n.endsWith('.json')) : []);
  const identityDir = () => path.join(demo.hubRoot, 'Out', 'identity');
  const archived = () => (fs.existsSync(path.join(identityDir(), 'archive')) ? fs.readdirSync(path.join(identityDir(), 'archive')).sort() : []);
  const csvRows = (file: string) => parse(fs.readFileSync(path.join(demo.identityCsvDir, file), 'utf8'), { columns: true }) as Record<string, string>[];

  before(async () => {
    demo = await startDemo({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-demo-identity-')), port: await freePort(), staff: STAFF, today: daysAgo(60), examples: ['identity.json'], identityRefusals: ['invalid'] });
    sidebar = await watchSidebar(demo.nodeRed.url);
  });
  after(async () => {
    sidebar?.close();
    await demo?.stop();
  });

  it('a lost change file: a gap, a refresh request (a sound GDR) in In/, and the hub answers with a full file that is taken', async () => {
    const seeded = demo.seeded.goFiles.identity;
    assert.equal(seeded.length, DAYS, 'the full file and every change file but the lost one');
    await waitFor(() => demo.gdr.answered.length === 1 && archived().length === DAYS + 1, 2 * MINUTE);
    const [{ request, file }] = demo.gdr.answered;
    assert.match(request, new RegExp(`^GO_123_GDW_GDR_${daysAgo(0).replace(/-/g, '')}_00000001\\.DAT$`));
    const gdr = await readAll(loadLayout('gdr'), path.join(demo.hubRoot, 'In', request), { fileName: request });
    assert.ok(gdr.summary.sound, 'esr inspect passes the GDR');
    assert.deepEqual(archived(), [...seeded, file].sort());
    assert.deepEqual(fs.existsSync(path.join(identityDir(), 'error')) ? fs.readdirSync(path.join(identityDir(), 'error')) : [], []);
  });

  it('a refused request is kept to replay and reported with its codes only; replayed, it is taken', async () => {
    await waitFor(() => kept().length > 0, MINUTE);
    assert.equal(demo.standIns.identity.refused[0].status, 400);
    // The story settles (every file archived, nothing sent for a few seconds) before the kept requests are replayed.
    await waitFor(() => archived().length === DAYS + 1, MINUTE);
    const seen = () => demo.standIns.identity.requests.length + demo.standIns.identity.refused.length;
    for (let last = -1; seen() !== last; ) {
      last = seen();
      await new Promise((r) => setTimeout(r, 3000));
    }
    const files = kept().sort((a, b) => fs.statSync(path.join(demo.identityRefusedDir, a)).mtimeMs - fs.statSync(path.join(demo.identityRefusedDir, b)).mtimeMs);
    const first = files.find((n) => n.startsWith(`refused-${demo.seeded.goFiles.identity[0].replace('.DAT', '')}-part`));
    assert.ok(first, `the full file's refused request is kept: ${files.join(', ')}`);
    // The failures debug node names the file, the status and the SCIM error type, and where the request is kept.
    const failures = sidebar.messages.filter((m) => m.name === 'failures — identity staff list').map((m) => m.msg);
    assert.ok(failures.some((m) => m.includes(demo.seeded.goFiles.identity[0]) && m.includes('refused the request (HTTP 400 invalidValue)') && m.includes(first)), failures.join('\n'));
    // Never a value: no name, e-mail or employee number of anyone in the story reaches the debug sidebar.
    const trust = demo.seeded.trust;
    const people = [...trust.fullStaff(), ...Array.from({ length: DAYS }, (_, i) => trust.changesOn(i + 1).joiners).flat()];
    const values = people.flatMap((p) => [p.firstName, p.lastName, p.employeeNumber, email(p)]).filter((v) => v.length >= 3);
    const shown = sidebar.messages.map((m) => m.msg).join('\n');
    assert.deepEqual(values.filter((v) => shown.includes(v)), [], 'personal data in the debug sidebar');
    // Each kept file is the BulkRequest as sent; replayed (oldest first) as the README's curl does, each is taken.
    for (const name of files) {
      const body = fs.readFileSync(path.join(demo.identityRefusedDir, name));
      assert.ok((JSON.parse(body.toString('utf8')) as { schemas: string[] }).schemas.includes(BULK_REQUEST));
      const res = await fetch(demo.standIns.identity.url, { method: 'POST', headers: { authorization: `Bearer ${demo.standIns.identity.token}`, 'content-type': 'application/scim+json' }, body });
      assert.equal(res.status, 202, `${name}: ${await res.text()}`);
    }
  });

  it('the audit log has a line per step of each file; esr audit tells a file its story', async () => {
    const file = demo.seeded.goFiles.identity[0];
    const lines = () => (fs.existsSync(demo.auditLog) ? fs.readFileSync(demo.auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { file: string; outcome: string }) : []);
    await waitFor(() => lines().some((e) => e.file === file && e.outcome === 'done'), MINUTE);
    assert.deepEqual(lines().filter((e) => e.file === file).map((e) => e.outcome), ['taken', 'done']);
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d) => (out += d));
    const code = await main(['audit', demo.auditLog, '--file', file], { stdin: new PassThrough(), stdout, stderr: new PassThrough() });
    assert.equal(code, 0);
    assert.match(out, new RegExp(`^${file}\\n  polled by: GO staff list — identity\\n`));
    assert.match(out, /outcome: done \(now Out\/identity\/archive\//);
  });

  it('the SCIM stand-in holds every joiner, leavers as active: false and movers in their new department; the refused request replayed', async () => {
    const trust = demo.seeded.trust;
    const days = Array.from({ length: DAYS }, (_, i) => trust.changesOn(i + 1));
    const lost = days[IDENTITY_LOST_DAY - 1];
    const users = demo.standIns.identity.users;
    await waitFor(() => lost.leavers.every((p) => users.get(p.employeeNumber)?.active === false), MINUTE);
    assert.equal(demo.standIns.identity.refused[0].status, 400, 'the first request was refused (and replayed above)');
    assert.ok(demo.standIns.identity.requests.every((r) => r.Operations.length <= MAX_OPERATIONS));
    // Everyone of the first full file (an initial load), and every joiner since, the lost day's included.
    for (const p of [...trust.fullStaff(), ...days.flatMap((d) => d.joiners)]) {
      const u = users.get(p.employeeNumber);
      assert.ok(u, `user ${p.employeeNumber}`);
      assert.equal(u.userName, email(p));
      assert.deepEqual(u.name, { givenName: p.firstName, familyName: p.lastName });
      assert.equal((u[ENTERPRISE_USER] as Record<string, string>).employeeNumber, p.employeeNumber);
    }
    for (const d of days) {
      for (const p of d.joiners) assert.equal(users.get(p.employeeNumber)!.active, true, `joiner ${p.employeeNumber} active`);
      for (const p of d.leavers) assert.equal(users.get(p.employeeNumber)!.active, false, `leaver ${p.employeeNumber} disabled`);
    }
    // The last move of each person moved is their department now (a person may be moved on two days).
    const moved = new Map<string, number>();
    for (const d of days) for (const { person, kind } of d.changed) if (kind === 'move') moved.set(person.employeeNumber, person.assignments[0].unit);
    assert.ok(moved.size > 0, 'the story has moves');
    for (const [employeeNumber, unit] of moved) {
      if (days.some((d) => d.leavers.some((p) => p.employeeNumber === employeeNumber))) continue;
      assert.equal((users.get(employeeNumber)![ENTERPRISE_USER] as Record<string, string>).department, `O${unit}`, `mover ${employeeNumber}`);
    }
    const leaverOps = demo.standIns.identity.requests.flatMap((r) => r.Operations).filter((o) => o.data.active === false);
    assert.equal(leaverOps.length, days.reduce((n, d) => n + d.leavers.length, 0), 'one disabling operation per leaver');
  });

  it('the AD CSV has a row per event: joiners enabled, leavers disabled, with the file they came from', async () => {
    const trust = demo.seeded.trust;
    const [full, ...changes] = [...demo.seeded.goFiles.identity, demo.gdr.answered[0].file];
    const csv = (name: string) => `jml-${name.replace('.DAT', '')}.csv`;
    await waitFor(() => [full, ...changes].every((n) => fs.existsSync(path.join(demo.identityCsvDir, csv(n)))), MINUTE);
    const first = csvRows(csv(full));
    assert.equal(first.length, STAFF, 'the first full file makes everyone a joiner');
    const known = [...trust.fullStaff()][0];
    assert.deepEqual(
      (({ action, employeeNumber, personId, firstName, lastName, email: e, enabled }) => ({ action, employeeNumber, personId, firstName, lastName, email: e, enabled }))(first.find((r) => r.employeeNumber === known.employeeNumber)!),
      { action: 'joiner', employeeNumber: known.employeeNumber, personId: known.personId, firstName: known.firstName, lastName: known.lastName, email: email(known), enabled: 'true' },
    );
    assert.equal(first[0].department, `O${known.assignments[0].unit}`);
    // The lost day's events come from the full file the hub sent.
    const lost = trust.changesOn(IDENTITY_LOST_DAY);
    const answered = csvRows(csv(demo.gdr.answered[0].file));
    for (const p of lost.joiners) assert.ok(answered.some((r) => r.action === 'joiner' && r.employeeNumber === p.employeeNumber && r.enabled === 'true'), `joiner ${p.employeeNumber}`);
    for (const p of lost.leavers) assert.ok(answered.some((r) => r.action === 'leaver' && r.employeeNumber === p.employeeNumber && r.enabled === 'false'), `leaver ${p.employeeNumber}`);
    const last = trust.changesOn(DAYS);
    const lastRows = csvRows(csv(demo.seeded.goFiles.identity.at(-1)!));
    for (const p of last.leavers) assert.ok(lastRows.some((r) => r.action === 'leaver' && r.employeeNumber === p.employeeNumber && r.effectiveDate === p.terminationDate), `leaver ${p.employeeNumber}`);
  });
});
