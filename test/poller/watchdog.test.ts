/**
 * The missing-file watchdog over a real local state store, with an injected clock: it fires at the deadline (Europe/
 * London local time) and not before, not when a file came that day, not on days not listed, once per day also across
 * a restart, and at the right instant on the days the clocks change.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { deadlineOn, localDay, parseDays, Watchdog } from '../../core/poller';
import { tempState } from '../support/temp-state';

const at = (iso: string) => Date.parse(iso);

function clock(start: string) {
  let now = at(start);
  return { now: () => now, set: (iso: string) => (now = at(iso)) };
}

describe('missing-file watchdog', () => {
  it('fires at the set time on an expected day, not a minute before, and only once', async () => {
    const c = clock('2026-11-23T06:59:00Z'); // Monday, GMT: local = UTC
    const store = tempState();
    const w = new Watchdog(store, 'feed', { time: '07:00', days: parseDays('mon-fri') }, c.now);
    assert.equal(await w.check(), undefined, 'before the deadline');
    assert.equal(w.nextCheck(), at('2026-11-23T07:00:00Z'));
    c.set('2026-11-23T07:00:00Z');
    const alert = await w.check();
    assert.deepEqual(alert, { code: 'FILE_MISSING', day: '2026-11-23', expectedBy: '07:00', deadline: '2026-11-23T07:00:00.000Z', timeZone: 'Europe/London' });
    c.set('2026-11-23T09:00:00Z');
    assert.equal(await w.check(), undefined, 'a day is alerted once');
    // After a restart (a new watchdog over the same store) the day is not alerted again.
    const again = new Watchdog(store, 'feed', { time: '07:00', days: parseDays('mon-fri') }, c.now);
    assert.equal(await again.check(), undefined, 'not again after a restart');
    c.set('2026-11-24T07:01:00Z');
    assert.equal((await again.check())?.day, '2026-11-24', 'the next day is a day of its own');
    await store.close();
  });

  it('is quiet when a file was taken that day, also one taken before a restart', async () => {
    const c = clock('2026-11-24T05:30:00Z');
    const store = tempState();
    const w = new Watchdog(store, 'feed', { time: '07:00', days: [2] }, c.now);
    await w.fileTaken();
    c.set('2026-11-24T12:00:00Z');
    const restarted = new Watchdog(store, 'feed', { time: '07:00', days: [2] }, c.now);
    assert.equal(await restarted.check(), undefined);
    // A file of yesterday does not count for today.
    c.set('2026-12-01T07:00:00Z');
    const alert = await restarted.check();
    assert.equal(alert?.day, '2026-12-01');
    assert.equal(alert?.lastFileAt, '2026-11-24T05:30:00.000Z');
    await store.close();
  });

  it('days not listed are quiet', async () => {
    const c = clock('2026-11-28T23:00:00Z'); // Saturday night
    const store = tempState();
    const w = new Watchdog(store, 'feed', { time: '07:00', days: parseDays('mon-fri') }, c.now);
    assert.equal(await w.check(), undefined, 'Saturday');
    c.set('2026-11-29T23:59:00Z');
    assert.equal(await w.check(), undefined, 'Sunday');
    assert.equal(w.nextCheck(), at('2026-11-30T07:00:00Z'), 'next: Monday 07:00');
    assert.deepEqual(parseDays('daily'), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(parseDays('sat,sun'), [0, 6]);
    assert.deepEqual(parseDays('fri-mon'), [0, 1, 5, 6]);
    assert.throws(() => parseDays('funday'), /WATCHDOG_INVALID/);
    assert.throws(() => new Watchdog(store, 'feed', { time: '25:00', days: [1] }), /WATCHDOG_INVALID/);
    await store.close();
  });

  it('uses the trust clock: BST in summer, GMT in winter, and the days the clocks change', async () => {
    // Summer: 07:00 BST is 06:00 UTC.
    const c = clock('2026-06-15T05:59:59Z');
    const store = tempState();
    const w = new Watchdog(store, 'summer', { time: '07:00', days: [1] }, c.now);
    assert.equal(await w.check(), undefined);
    c.set('2026-06-15T06:00:00Z');
    assert.equal((await w.check())?.deadline, '2026-06-15T06:00:00.000Z');
    // 2026-03-29 the clocks go forward at 01:00 GMT: 07:00 that day is 06:00 UTC, 07:00 the day before is 07:00 UTC.
    assert.equal(deadlineOn('2026-03-28', 7 * 60, 'Europe/London'), at('2026-03-28T07:00:00Z'));
    assert.equal(deadlineOn('2026-03-29', 7 * 60, 'Europe/London'), at('2026-03-29T06:00:00Z'));
    // 01:30 never shows that night: the deadline is the moment the clocks change (01:00 UTC).
    assert.equal(deadlineOn('2026-03-29', 90, 'Europe/London'), at('2026-03-29T01:00:00Z'));
    // 2026-10-25 the clocks go back at 01:00 UTC: 01:30 shows twice; the first (00:30 UTC) counts. 07:00 is 07:00 UTC.
    assert.equal(deadlineOn('2026-10-25', 90, 'Europe/London'), at('2026-10-25T00:30:00Z'));
    assert.equal(deadlineOn('2026-10-25', 7 * 60, 'Europe/London'), at('2026-10-25T07:00:00Z'));
    assert.equal(deadlineOn('2026-10-24', 7 * 60, 'Europe/London'), at('2026-10-24T06:00:00Z'));
    // Just after midnight BST is still the day before in UTC: the local day decides.
    assert.equal(localDay(at('2026-06-15T23:30:00Z'), 'Europe/London'), '2026-06-16');
    // A watchdog over the change: Sunday 2026-03-29 07:00 BST.
    const d = clock('2026-03-29T05:59:00Z');
    const dst = new Watchdog(store, 'dst', { time: '07:00', days: [0] }, d.now);
    assert.equal(await dst.check(), undefined, 'a minute before 07:00 BST');
    assert.equal(dst.nextCheck(), at('2026-03-29T06:00:00Z'));
    d.set('2026-03-29T06:00:00Z');
    assert.equal((await dst.check())?.day, '2026-03-29');
    // A file taken at 00:30 local on a BST day (23:30 UTC the day before) counts for that local day.
    const e = clock('2026-06-14T23:30:00Z');
    const late = new Watchdog(store, 'late', { time: '07:00', days: [1] }, e.now);
    await late.fileTaken();
    e.set('2026-06-15T08:00:00Z');
    assert.equal(await late.check(), undefined);
    await store.close();
  });
});
