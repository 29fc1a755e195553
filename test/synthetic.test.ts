/** The synthetic trust: deterministic, valid GO files, realistic names, and day-by-day changes with sequences. */
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { currentAt, EsrReader, loadLayout, PersonGrouper, readAll, type EsrRecord, type PersonGroup } from '../core/codec';
import { SyntheticTrust, writeGoFiles } from '../core/synthetic';
import { ROOT } from './helpers';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'esr-synthetic-'));

it('the same seed gives the same bytes; another seed gives other people', async () => {
  const [a, b, c] = [tmp(), tmp(), tmp()];
  const names = await writeGoFiles(new SyntheticTrust({ staff: 40 }), a, { days: 2, subtypes: ['GDW', 'EXP'] });
  await writeGoFiles(new SyntheticTrust({ staff: 40 }), b, { days: 2, subtypes: ['GDW', 'EXP'] });
  await writeGoFiles(new SyntheticTrust({ staff: 40, seed: 2 }), c, { days: 2, subtypes: ['GDW', 'EXP'] });
  assert.equal(names.length, 6);
  for (const n of names) assert.ok(fs.readFileSync(path.join(a, n)).equals(fs.readFileSync(path.join(b, n))), n);
  assert.ok(!fs.readFileSync(path.join(a, names[0])).equals(fs.readFileSync(path.join(c, names[0]))));
});

it('writes a valid full file and change files, numbered in sequence, each covering the day before', async () => {
  const dir = tmp();
  const names = await writeGoFiles(new SyntheticTrust({ staff: 100, vpd: '456', date: '2026-03-30' }), dir, { days: 3, subtypes: ['GDW', 'EXP'] });
  assert.deepEqual(names.slice(0, 4), [
    'GO_456_GDW_GOF_20260330_00000001.DAT',
    'GO_456_GDW_GOC_20260331_00000002.DAT',
    'GO_456_GDW_GOC_20260401_00000003.DAT',
    'GO_456_GDW_GOC_20260402_00000004.DAT',
  ]);
  for (const name of names) {
    const { records, summary } = await readAll(loadLayout(name.includes('_EXP_') ? 'go-exp' : 'go-gdw'), path.join(dir, name));
    assert.equal(summary.errorCount, 0, `${name}: ${JSON.stringify(summary.errors[0])}`);
    assert.equal(summary.warningCount, 0, name);
    const hdr = records[0];
    assert.equal(hdr.filename, name);
    assert.equal(hdr.trustIdentifier, '456');
    if (name.includes('_GOC_')) {
      // A change file's period is the day before its date.
      const date = `${name.slice(15, 19)}-${name.slice(19, 21)}-${name.slice(21, 23)}`;
      assert.equal(String(hdr.runDate).slice(0, 10), date);
      assert.ok(String(hdr.previousRunDate) < String(hdr.runDate));
    } else assert.ok(!hdr.previousRunDate);
  }
  const full = (await readAll(loadLayout('go-gdw'), path.join(dir, names[0]))).summary.records;
  assert.equal(full.PRA, 100);
  for (const t of ['LCA', 'ORA', 'POA', 'ASA', 'COA', 'ABA']) assert.ok(full[t] > 0, t);
  const exp = (await readAll(loadLayout('go-exp'), path.join(dir, names[4]))).summary.records;
  for (const t of ['PRA', 'ASA', 'PHA', 'ADA', 'VHA', 'COA']) assert.ok(exp[t] > 0, t);
});

it('has names with accents and apostrophes that survive the file (ISO-8859-1)', async () => {
  const dir = tmp();
  const [name] = await writeGoFiles(new SyntheticTrust({ staff: 300 }), dir);
  const { records } = await readAll(loadLayout(name.includes('_EXP_') ? 'go-exp' : 'go-gdw'), path.join(dir, name));
  const lastNames = records.filter((r) => r.recordType === 'PRA').map((r) => String(r.lastName));
  assert.ok(lastNames.some((n) => n.includes("'")), 'an apostrophe');
  assert.ok(lastNames.some((n) => /[À-ÿ]/.test(n)), 'an accent');
  assert.deepEqual(lastNames, [...new SyntheticTrust({ staff: 300 }).fullStaff()].map((p) => p.lastName), 'every name exactly as generated');
  assert.ok(fs.readFileSync(path.join(dir, name)).some((byte) => byte >= 0xc0), 'written as ISO-8859-1 bytes');
});

it('change files carry joiners (hired the day before), leavers (with a termination date) and date-tracked changes', async () => {
  const dir = tmp();
  const trust = new SyntheticTrust({ staff: 200 });
  const names = await writeGoFiles(trust, dir, { days: 1 });
  const changes = trust.changesOn(1);
  assert.equal(changes.joiners.length, 2);
  assert.equal(changes.leavers.length, 2);
  assert.ok(changes.changed.length >= 3);
  const layout = loadLayout('go-gdw');
  const groups: PersonGroup[] = [];
  const reader = new EsrReader(layout);
  const grouper = new PersonGrouper(layout);
  grouper.on('data', (g: PersonGroup) => g.type === 'person' && groups.push(g));
  reader.pipe(grouper);
  reader.end(fs.readFileSync(path.join(dir, names[1])));
  await new Promise((resolve) => grouper.on('end', resolve));
  const view = (id: string) => currentAt(layout, groups.find((g) => g.personId === id)!, '2026-11-21');
  const joiner = view(changes.joiners[0].personId).current.PRA![0] as EsrRecord;
  assert.equal(joiner.hireDate, '2026-11-20');
  const leaver = view(changes.leavers[0].personId).current.PRA![0] as EsrRecord;
  assert.equal(leaver.actualTerminationDate, '2026-12-18');
  const moved = changes.changed.find((c) => c.kind !== 'address')!;
  const rows = groups.find((g) => g.personId === moved.person.personId)!.records.filter((r) => r.recordType === 'ASA');
  assert.equal(rows.length, moved.person.assignments.length + 1, 'the old row, end-dated, and the new one');
  // The leavers of day 1 are not chosen again; day 2 builds on day 1.
  const day2 = trust.changesOn(2);
  for (const p of day2.leavers) assert.ok(!changes.leavers.some((l) => l.index === p.index));
});

it('`esr generate` writes the files and prints their paths; bad options are usage errors', () => {
  const dir = tmp();
  const run = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin', 'esr.js'), 'generate', ...args], { encoding: 'utf8' });
  const ok = run('--out', dir, '--staff', '20', '--days', '1', '--subtype', 'exp');
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(ok.stdout.trim().split('\n').map((l) => path.basename(l)), ['GO_123_EXP_GOF_20261120_00000001.DAT', 'GO_123_EXP_GOC_20261121_00000002.DAT']);
  assert.equal(run('--staff', '20').status, 2);
  assert.match(run('--out', dir, '--staff', 'lots').stderr, /--staff must be a whole number/);
  assert.match(run('--out', dir, '--vpd', 'TOOLONG').stderr, /VPD must be 3/);
  const impossible = run('--out', dir, '--date', '2026-02-30');
  assert.equal(impossible.status, 2);
  assert.match(impossible.stderr, /real date/);
  assert.match(run('--out', dir, '--staff', '99999999999').stderr, /--staff is at most 1000000/);
});
