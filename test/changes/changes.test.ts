/**
 * core/changes over the synthetic trust, on both state backends: the known joiners, leavers, movers and address
 * changes day by day; a repeat delivery; the safety stop; sequence gaps (alert, hold, refresh request); events
 * waiting for their day.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EsrReader, loadLayout } from '../../core/codec';
import { ChangeFeeds, documentName, type ChangeEvent, type Step } from '../../core/changes';
import { LocalStateStore, RedisStateStore, type StateStore } from '../../core/state';
import { changeFileRecords, fullFileRecords, SyntheticTrust, writeGoFiles } from '../../core/synthetic';
import { addDays } from '../../core/synthetic/random';
import { REDIS_SKIP, startRedis, type TestRedis } from '../support/redis';
import { brief, expectedOn, runOf, runOfRecords, takeAll } from '../support/changes';

const DAYS = 6;
let redis: TestRedis | undefined;
let prefixes = 0;

const BACKENDS: { name: string; skip: string | false; make(): StateStore }[] = [
  { name: 'local', skip: false, make: () => new LocalStateStore({ folder: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-')) }) },
  { name: 'redis', skip: REDIS_SKIP, make: () => new RedisStateStore({ url: redis!.url, password: redis!.password, prefix: `c${++prefixes}` }) },
];

const eventsOf = (steps: Step[]) => steps.flatMap((s) => s.events);

describe('esr changes (core)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-files-'));
  const trust = new SyntheticTrust({ staff: 300, seed: 7 });
  let names: string[] = [];
  before(async () => {
    if (!REDIS_SKIP) redis = await startRedis();
    names = await writeGoFiles(trust, dir, { days: DAYS, subtypes: ['GDW', 'EXP'] });
  });
  after(async () => {
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip }, () => {
      for (const subtype of ['GDW', 'EXP'] as const) {
        it(`finds exactly the synthetic trust's joiners, leavers, movers and changes, day by day (${subtype})`, async () => {
          const store = backend.make();
          let today = trust.date;
          const feeds = new ChangeFeeds(store, { today: () => today });
          try {
            const files = names.filter((n) => n.includes(`_${subtype}_`));
            const baseline = await takeAll(feeds, await runOf(path.join(dir, files[0])));
            assert.deepEqual(baseline.map((s) => s.outcome), ['applied']);
            assert.equal(eventsOf(baseline).length, 0, 'the first full file is the baseline');
            for (let d = 1; d <= DAYS; d++) {
              today = addDays(trust.date, d);
              const steps = await takeAll(feeds, await runOf(path.join(dir, files[d])));
              assert.deepEqual(brief(eventsOf(steps)), expectedOn(trust, subtype, d), `day ${d}`);
              for (const e of eventsOf(steps).filter((x) => x.kind === 'leaver')) {
                assert.equal(e.future, true, 'notice given: the leaver leaves in four weeks');
                assert.equal(e.reason, 'terminated');
                assert.ok(e.fields.includes('actualTerminationDate'));
              }
              for (const e of eventsOf(steps).filter((x) => x.kind === 'mover')) {
                for (const c of e.changes) assert.notEqual(c.before, c.after);
              }
            }
            // A new ChangeFeeds on the same store (a restart) has the same snapshot: a repeat gives nothing.
            const again = new ChangeFeeds(store, { today: () => today });
            const repeat = await takeAll(again, await runOf(path.join(dir, files[DAYS])));
            assert.deepEqual(repeat.map((s) => s.outcome), ['repeat']);
            assert.equal(eventsOf(repeat).length, 0);
          } finally {
            await store.close();
          }
        });
      }

      it('a repeat delivery of the same file produces no events', async () => {
        const store = backend.make();
        const feeds = new ChangeFeeds(store, { today: () => addDays(trust.date, 1) });
        try {
          const files = names.filter((n) => n.includes('_GDW_'));
          await takeAll(feeds, await runOf(path.join(dir, files[0])));
          const first = await takeAll(feeds, await runOf(path.join(dir, files[1])));
          assert.ok(eventsOf(first).length > 0);
          const second = await takeAll(feeds, await runOf(path.join(dir, files[1])));
          assert.deepEqual(second.map((s) => s.outcome), ['repeat']);
          assert.deepEqual(eventsOf(second), []);
          const full = await takeAll(feeds, await runOf(path.join(dir, files[0])));
          assert.deepEqual(full.map((s) => s.outcome), ['repeat'], 'the full file again, too');
        } finally {
          await store.close();
        }
      });

      it('a full file with 10 % of staff missing trips the safety stop: nothing sent until an analyst accepts', async () => {
        const store = backend.make();
        const feeds = new ChangeFeeds(store, { today: () => trust.date });
        try {
          const files = names.filter((n) => n.includes('_GDW_'));
          await takeAll(feeds, await runOf(path.join(dir, files[0])));
          const missing = (id: unknown) => typeof id === 'string' && Number(id) % 10 === 3; // 10 % of Person IDs
          const cut = [...fullFileRecords(trust, 'GDW')].filter((r) => !missing(r.personId));
          const name = 'GO_123_GDW_GOF_20261125_00000009.DAT';
          const run = runOfRecords(cut, { name, vpd: '123', subtype: 'GDW', extract: 'full', sequence: 9, date: '2026-11-25' });
          const step = await feeds.take(run);
          assert.equal(step.outcome, 'stopped');
          assert.deepEqual(step.events, []);
          assert.equal(step.alerts[0].code, 'CHANGES_SAFETY_STOP');
          assert.equal(step.alerts[0].leavers, 30);
          assert.equal(step.alerts[0].active, 300);
          await step.commit();
          assert.equal(await feeds.next(), undefined, 'nothing goes out while the stop waits');
          // The snapshot is unchanged: a fresh ChangeFeeds on the store sees no file 9.
          const meta = JSON.parse((await store.getDocument(documentName('123', 'GDW')))!.split('\n')[0]) as { files: { name: string }[] };
          assert.ok(!meta.files.some((f) => f.name === name));
          const accepted = (await feeds.accept())!;
          assert.equal(accepted.outcome, 'applied');
          assert.equal(accepted.events.filter((e) => e.kind === 'leaver' && e.reason === 'absentFromFullFile').length, 30);
          await accepted.commit();
          assert.equal(await feeds.accept(), undefined);
        } finally {
          await store.close();
        }
      });

      it('a gap (41 then 43) alerts; hold mode waits for 42; a refresh request is a sound GDR from the last run end', async () => {
        const store = backend.make();
        let now = 1_000_000;
        const today = addDays(trust.date, 3);
        const feeds = new ChangeFeeds(store, { today: () => today, now: () => now, gaps: 'hold', holdMs: 60_000, refresh: 'onGap' });
        try {
          const fullRun = runOfRecords(fullFileRecords(trust, 'GDW'), { name: 'GO_123_GDW_GOF_20261120_00000040.DAT', vpd: '123', subtype: 'GDW', extract: 'full', sequence: 40 });
          await takeAll(feeds, fullRun);
          const change = (day: number, seq: number) =>
            runOfRecords(changeFileRecords(trust, 'GDW', day), { name: `GO_123_GDW_GOC_${addDays(trust.date, day).replace(/-/g, '')}_000000${seq}.DAT`, vpd: '123', subtype: 'GDW', extract: 'changes', sequence: seq });
          const s41 = await takeAll(feeds, change(1, 41));
          assert.deepEqual(brief(eventsOf(s41)), expectedOn(trust, 'GDW', 1));
          const s43 = await feeds.take(change(3, 43));
          assert.equal(s43.outcome, 'held');
          assert.deepEqual(s43.events, []);
          assert.deepEqual(s43.alerts.map((a) => a.code), ['CHANGES_SEQUENCE_GAP', 'CHANGES_REFRESH_REQUESTED']);
          assert.deepEqual(s43.alerts[0].missing, [42]);
          await s43.commit();
          assert.equal(await feeds.next(), undefined, 'held: 42 has not come');
          // The refresh request: the GDR layout, sound, from the run end of file 41 (the last change file taken).
          const gdr = s43.refresh!;
          assert.equal(gdr.fileName, `GO_123_GDW_GDR_${today.replace(/-/g, '')}_00000001.DAT`);
          assert.equal(gdr.data.toString('latin1'), `HDR~${gdr.fileName}~20261121 000000`);
          const reader = new EsrReader(loadLayout('gdr'), { fileName: gdr.fileName });
          reader.resume();
          reader.end(gdr.data);
          await new Promise((r) => reader.on('end', r));
          assert.equal(reader.summary().sound, true);
          assert.equal(reader.summary().valid, true);
          // 42 comes: it is taken, then 43 after it, in order.
          const after42 = await takeAll(feeds, change(2, 42));
          assert.deepEqual(after42.map((s) => `${s.outcome} ${s.file?.sequence}`), ['applied 42', 'applied 43']);
          assert.deepEqual(brief(eventsOf([after42[0]])), expectedOn(trust, 'GDW', 2));
          assert.deepEqual(brief(eventsOf([after42[1]])), expectedOn(trust, 'GDW', 3));
          // Another gap: 45 is held until the time limit, then taken with an alert.
          const s45 = await feeds.take(change(5, 45));
          assert.equal(s45.outcome, 'held');
          assert.equal(s45.refresh, undefined, 'one refresh request a day');
          assert.ok(s45.alerts.some((a) => a.code === 'CHANGES_REFRESH_SKIPPED'), 'and an alert says why there is none');
          await s45.commit();
          now += 60_000;
          const late = (await feeds.next())!;
          assert.equal(late.outcome, 'applied');
          assert.deepEqual(late.alerts.map((a) => a.code), ['CHANGES_GAP_TIMEOUT']);
          await late.commit();
        } finally {
          await store.close();
        }
      });

      it('alert mode takes a file after a gap at once, with the alert; an older file is refused', async () => {
        const store = backend.make();
        const feeds = new ChangeFeeds(store, { today: () => trust.date });
        try {
          await takeAll(feeds, runOfRecords(fullFileRecords(trust, 'GDW'), { name: 'F40', vpd: '123', subtype: 'GDW', extract: 'full', sequence: 40 }));
          const c = (day: number, seq: number) => runOfRecords(changeFileRecords(trust, 'GDW', day), { name: `C${seq}`, vpd: '123', subtype: 'GDW', extract: 'changes', sequence: seq });
          await takeAll(feeds, c(1, 41));
          const gap = await takeAll(feeds, c(2, 43));
          assert.equal(gap[0].outcome, 'applied');
          assert.deepEqual(gap[0].alerts.map((a) => a.code), ['CHANGES_SEQUENCE_GAP']);
          const old = await feeds.take(c(3, 42));
          assert.equal(old.outcome, 'refused');
          assert.equal(old.alerts[0].code, 'CHANGES_OUT_OF_ORDER');
        } finally {
          await store.close();
        }
      });

      it("'on the day': a future-dated leaver waits in the snapshot and goes out on its day", async () => {
        const store = backend.make();
        let today = trust.date;
        const feeds = new ChangeFeeds(store, { today: () => today, future: 'onTheDay' });
        try {
          const files = names.filter((n) => n.includes('_GDW_'));
          await takeAll(feeds, await runOf(path.join(dir, files[0])));
          today = addDays(trust.date, 1);
          const day1 = eventsOf(await takeAll(feeds, await runOf(path.join(dir, files[1]))));
          const leavers = trust.changesOn(1).leavers;
          assert.equal(day1.filter((e) => e.kind === 'leaver').length, 0, 'not yet');
          assert.equal(day1.length, expectedOn(trust, 'GDW', 1).length - leavers.length);
          // After a restart, on the day the leavers leave:
          const later = new ChangeFeeds(store, { today: () => today, future: 'onTheDay' });
          await later.open([{ vpd: '123', subtype: 'GDW' }]);
          assert.equal(await later.next(), undefined);
          today = leavers[0].terminationDate!;
          const released = (await later.next())!;
          assert.equal(released.outcome, 'released');
          assert.deepEqual(released.events.map((e: ChangeEvent) => e.personId).sort(), leavers.map((p) => p.personId).sort());
          await released.commit();
          assert.equal(await later.next(), undefined, 'once');
        } finally {
          await store.close();
        }
      });
    });
  }
});

describe('esr changes (core): deletes and rehires', () => {
  const pra = (id: string, extra: Record<string, string> = {}) => ({ recordType: 'PRA', personId: id, effectiveStartDate: '2020-01-01', firstName: 'Siân', lastName: "O'Brien", dateOfBirth: '1980-02-03', nationalInsuranceNumber: `QQ${id}A`, hireDate: '2020-01-01', ...extra });
  const asa = (id: string, a: string, extra: Record<string, string> = {}) => ({ recordType: 'ASA', personId: id, assignmentId: a, effectiveStartDate: '2020-01-01', earliestAssignmentStartDate: '2020-01-01', grade: 'XR05', organisationId: 'O1', ...extra });
  const facts = (seq: number, extract: 'full' | 'changes') => ({ name: `F${seq}`, vpd: '123', subtype: 'GDW', extract, sequence: seq, date: '2026-11-2' + seq });
  const hdr = (seq: number) => ({ recordType: 'HDR', runDate: `2026-11-2${seq}T00:00:00` });

  it('PRD and the last ASD make leavers on the file day; a former leaver back is a rehire, by Person ID or by name, date of birth and NI number', async () => {
    const store = new LocalStateStore({ folder: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-')) });
    let today = '2026-11-21';
    const feeds = new ChangeFeeds(store, { today: () => today });
    const people = ['201', '202', '203', '204'];
    await takeAll(feeds, runOfRecords([hdr(1), ...people.flatMap((id) => [pra(id), asa(id, `${id}1`)])], facts(1, 'full')));
    today = '2026-11-22';
    const day2 = eventsOf(await takeAll(feeds, runOfRecords([hdr(2), { recordType: 'PRD', personId: '201' }, { recordType: 'ASD', assignmentId: '2021' }, pra('203', { actualTerminationDate: '2026-11-21', terminationReason: 'Retirement' })], facts(2, 'changes'))));
    assert.deepEqual(brief(day2), ['leaver 201  2026-11-22', 'leaver 202  2026-11-22', 'leaver 203  2026-11-21']);
    assert.deepEqual(day2.map((e) => e.reason).sort(), ['assignmentsEnded', 'deleted', 'terminated']);
    today = '2026-11-23';
    // 203 back under the same Person ID (termination gone, a new assignment); 201 back under a new one, 205.
    const day3 = eventsOf(await takeAll(feeds, runOfRecords([hdr(3), pra('203'), asa('203', '2032', { effectiveStartDate: '2026-11-23', earliestAssignmentStartDate: '2026-11-23' }), pra('205', { nationalInsuranceNumber: 'QQ201A', hireDate: '2026-11-23' }), asa('205', '2051', { effectiveStartDate: '2026-11-23', earliestAssignmentStartDate: '2026-11-23' })], facts(3, 'changes'))));
    assert.deepEqual(day3.map((e) => `${e.kind} ${e.personId} ${e.reason} ${e.formerPersonId ?? ''}`).sort(), ['rehire 203 samePersonId ', 'rehire 205 sameIdentity 201']);
    // Values travel in the event (for downstream systems), under field names.
    const rehire = day3.find((e) => e.personId === '205')!;
    assert.ok(rehire.fields.includes('lastName'));
    assert.equal(rehire.changes.find((c) => c.field === 'lastName')!.after, "O'Brien");
    await store.close();
  });
});

describe('esr changes (core): a leaver on notice who is gone sooner', () => {
  const pra = (id: string, extra: Record<string, string> = {}) => ({ recordType: 'PRA', personId: id, effectiveStartDate: '2020-01-01', firstName: 'Siân', lastName: 'Jones', dateOfBirth: '1980-02-03', nationalInsuranceNumber: `QQ${id}B`, hireDate: '2020-01-01', ...extra });
  const asa = (id: string, a: string) => ({ recordType: 'ASA', personId: id, assignmentId: a, effectiveStartDate: '2020-01-01', earliestAssignmentStartDate: '2020-01-01', grade: 'XR05' });
  const facts = (seq: number, extract: 'full' | 'changes') => ({ name: `N${seq}`, vpd: '123', subtype: 'GDW', extract, sequence: seq, date: '2026-11-2' + seq });
  const hdr = (seq: number) => ({ recordType: 'HDR', runDate: `2026-11-2${seq}T00:00:00` });
  const staff = ['301', '302', '303', '304', '305'];
  const notice = { actualTerminationDate: '2026-12-31', terminationReason: 'Resignation' };

  it('someone who left and was then deleted (PRD) is still known when rehired under a new Person ID', async () => {
    const store = new LocalStateStore({ folder: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-')) });
    let today = '2026-11-21';
    const feeds = new ChangeFeeds(store, { today: () => today });
    try {
      await takeAll(feeds, runOfRecords([hdr(1), ...staff.flatMap((id) => [pra(id), asa(id, `${id}1`)])], facts(1, 'full')));
      today = '2026-11-22';
      await takeAll(feeds, runOfRecords([hdr(2), pra('303', { actualTerminationDate: '2026-11-21', terminationReason: 'Retirement' })], facts(2, 'changes')));
      today = '2026-11-23';
      assert.deepEqual(eventsOf(await takeAll(feeds, runOfRecords([hdr(3), { recordType: 'PRD', personId: '303' }], facts(3, 'changes')))), []);
      today = '2026-11-24';
      const back = eventsOf(await takeAll(feeds, runOfRecords([hdr(4), pra('306', { nationalInsuranceNumber: 'QQ303B' }), asa('306', '3061')], facts(4, 'changes'))));
      assert.deepEqual(back.map((e) => `${e.kind} ${e.personId} ${e.reason} ${e.formerPersonId}`), ['rehire 306 sameIdentity 303']);
    } finally {
      await store.close();
    }
  });

  it("a starter whose joiner still waits for its day, then missing from a full file: no leaver (they were never told of) and no joiner on the day; a waiting move of someone gone is dropped too", async () => {
    const store = new LocalStateStore({ folder: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-')) });
    let today = '2026-11-21';
    const feeds = new ChangeFeeds(store, { today: () => today, future: 'onTheDay', maxLeaverShare: 1 });
    const starts = '2026-12-01';
    try {
      await takeAll(feeds, runOfRecords([hdr(1), ...staff.flatMap((id) => [pra(id), asa(id, `${id}1`)])], facts(1, 'full')));
      today = '2026-11-22';
      // 306 starts on 1 December; 305 moves grade on 1 December.
      const day2 = eventsOf(await takeAll(feeds, runOfRecords([hdr(2), pra('306', { hireDate: starts }), { ...asa('306', '3061'), effectiveStartDate: starts, earliestAssignmentStartDate: starts }, { ...asa('305', '3051'), effectiveStartDate: starts, grade: 'XR06' }], facts(2, 'changes'))));
      assert.deepEqual(brief(day2), [], 'both wait for their day');
      today = '2026-11-23';
      // The offer withdrawn and 305 gone: a full file without either.
      const day3 = eventsOf(await takeAll(feeds, runOfRecords([hdr(3), ...['301', '302', '303', '304'].flatMap((id) => [pra(id), asa(id, `${id}1`)])], facts(3, 'full'))));
      assert.deepEqual(brief(day3), ['leaver 305  2026-11-23']);
      today = starts;
      assert.equal(await feeds.next(), undefined, 'no joiner for 306 and no move for 305 on the day');
    } finally {
      await store.close();
    }
  });

  for (const future of ['onTheDay', 'now'] as const) {
    it(`absent from a full file or deleted (PRD) before the notice ends: gone now, and nothing more on the day (${future})`, async () => {
      const store = new LocalStateStore({ folder: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-')) });
      let today = '2026-11-21';
      const feeds = new ChangeFeeds(store, { today: () => today, future });
      try {
        await takeAll(feeds, runOfRecords([hdr(1), ...staff.flatMap((id) => [pra(id), asa(id, `${id}1`)])], facts(1, 'full')));
        today = '2026-11-22';
        // 301 and 302 hand in their notice: they leave on 31 December.
        const day2 = eventsOf(await takeAll(feeds, runOfRecords([hdr(2), pra('301', notice), pra('302', notice)], facts(2, 'changes'))));
        assert.deepEqual(brief(day2), future === 'onTheDay' ? [] : ['leaver 301  2026-12-31', 'leaver 302  2026-12-31']);
        today = '2026-11-23';
        // Then 301 is deleted, and a full file comes without 302: both are gone on the file's day.
        const day3 = eventsOf(await takeAll(feeds, runOfRecords([hdr(3), { recordType: 'PRD', personId: '301' }], facts(3, 'changes'))));
        today = '2026-11-24';
        const day4 = eventsOf(await takeAll(feeds, runOfRecords([hdr(4), ...staff.filter((id) => id !== '302' && id !== '301').flatMap((id) => [pra(id), asa(id, `${id}1`)])], facts(4, 'full'))));
        const gone = [...day3, ...day4];
        if (future === 'onTheDay') {
          assert.deepEqual(brief(gone), ['leaver 301  2026-11-23', 'leaver 302  2026-11-24']);
          assert.deepEqual(gone.map((e) => e.reason), ['deleted', 'absentFromFullFile']);
        } else {
          // Told already that they leave on 31 December: told now that the day moved.
          assert.deepEqual(gone.map((e) => `${e.kind} ${e.personId} ${e.reason} ${e.effectiveDate}`), ['change 301 leaveDateChanged 2026-11-23', 'change 302 leaveDateChanged 2026-11-24']);
        }
        today = '2026-12-31';
        assert.equal(await feeds.next(), undefined, 'no second leaver on the day the notice would have ended');
      } finally {
        await store.close();
      }
    });
  }
});
