/**
 * The demo hub's answer to a refresh request: a GDR in In/ (written as esr-changes writes it) becomes a full GO file
 * of the synthetic trust's staff as they stand after the days the hub sent, in the feed folders; esr-changes takes
 * it and reconciles a snapshot that missed a change file. A request for another VPD, or one that is not sound, is
 * not answered.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadLayout, readAll } from '../../core/codec';
import { ChangeFeeds } from '../../core/changes';
import { refreshRequest } from '../../core/changes/refresh';
import { LocalStateStore } from '../../core/state';
import { SyntheticTrust, currentStaff, writeGoFiles } from '../../core/synthetic';
import { addDays } from '../../core/synthetic/random';
import { startGdrResponder } from '../../demo/hub/gdr-responder';
import { brief, runOf, takeAll } from '../support/changes';
import { waitFor } from '../support/node-red';

describe("the demo hub's answer to a refresh request (GDR)", () => {
  it('a GDR in In/ is answered with a full file of the current staff, which esr-changes reconciles after a lost change file', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-gdr-'));
    const trust = new SyntheticTrust({ staff: 40, date: '2026-11-20' });
    const feed = path.join(root, 'Out', 'identity');
    const names = await writeGoFiles(trust, feed, { days: 3 });
    fs.rmSync(path.join(feed, names[2])); // day 2's change file never came
    const answeredOn = new Date('2026-11-24T09:30:00Z');
    const responder = startGdrResponder({ root, trust, days: 3, feeds: ['Out/identity'], firstSequence: 5, intervalMs: 50, now: () => answeredOn });
    try {
      const feeds = new ChangeFeeds(new LocalStateStore({ folder: path.join(root, 'state') }), { today: () => '2026-11-24', refresh: 'onGap' });
      await takeAll(feeds, await runOf(path.join(feed, names[0])));
      await takeAll(feeds, await runOf(path.join(feed, names[1])));
      const [gap] = await takeAll(feeds, await runOf(path.join(feed, names[3])));
      assert.deepEqual(gap.alerts.map((a) => a.code), ['CHANGES_SEQUENCE_GAP', 'CHANGES_REFRESH_REQUESTED']);
      fs.mkdirSync(path.join(root, 'In'), { recursive: true });
      fs.writeFileSync(path.join(root, 'In', gap.refresh!.fileName), gap.refresh!.data);

      await waitFor(() => responder.answered.length === 1, 10_000);
      const full = 'GO_123_GDW_GOF_20261124_00000005.DAT';
      assert.deepEqual(responder.answered, [{ request: gap.refresh!.fileName, file: full }]);
      const read = await readAll(loadLayout('go-gdw'), path.join(feed, full), { fileName: full });
      assert.ok(read.summary.sound, 'the full file is sound');
      const people = read.records.filter((r) => r.recordType === 'PRA').map((r) => r.personId).sort();
      assert.deepEqual(people, [...currentStaff(trust, 3, '2026-11-24')].map((p) => p.personId).sort());
      assert.equal(people.length, 40 + 3, "day 0's staff and each day's joiner; the leavers leave in four weeks");

      // Reconciled: what day 2 held comes now (its joiner, leaver and movers), and nothing of day 3 again.
      const steps = await takeAll(feeds, await runOf(path.join(feed, full)));
      const lost = trust.changesOn(2);
      const got = brief(steps.flatMap((s) => s.events));
      for (const p of lost.joiners) assert.ok(got.some((e) => e.startsWith(`joiner ${p.personId} `)), `joiner ${p.personId}`);
      for (const p of lost.leavers) assert.ok(got.includes(`leaver ${p.personId}  ${addDays('2026-11-21', 28)}`), `leaver ${p.personId}`);
      for (const { person, kind } of lost.changed) if (kind !== 'address') assert.ok(got.some((e) => e.startsWith(`mover ${person.personId} `)), `mover ${person.personId}`);
      const day3 = trust.changesOn(3);
      for (const p of day3.joiners) assert.ok(!got.some((e) => e.includes(` ${p.personId} `)), `day 3's joiner ${p.personId} is not new again`);
    } finally {
      responder.close();
    }
  });

  it('a GDR for another VPD, or one that is not sound, is not answered', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-gdr-'));
    const trust = new SyntheticTrust({ staff: 5, date: '2026-11-20' });
    const responder = startGdrResponder({ root, trust, days: 0, feeds: ['Out/identity'], firstSequence: 2, intervalMs: 50 });
    try {
      fs.mkdirSync(path.join(root, 'In'), { recursive: true });
      const other = await refreshRequest('456', '2026-11-24', '2026-11-22T00:00:00');
      fs.writeFileSync(path.join(root, 'In', other.fileName), other.data);
      fs.writeFileSync(path.join(root, 'In', 'GO_123_GDW_GDR_20261124_00000001.DAT'), 'HDR~not a request');
      await waitFor(() => responder.refused.length === 2, 10_000);
      assert.deepEqual(responder.refused.map((r) => r.code).sort(), ['GDR_NOT_SOUND', 'GDR_OTHER_VPD']);
      assert.deepEqual(responder.answered, []);
      assert.ok(!fs.existsSync(path.join(root, 'Out', 'identity')), 'no full file');
    } finally {
      responder.close();
    }
  });
});
