/** The person view: grouping a GO stream into people and picking the rows current at a date. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { currentAt, loadLayout, PersonGrouper, type EsrRecord, type OtherRecord, type PersonGroup } from '../core/codec';

const layout = loadLayout('go-exp');

async function group(records: EsrRecord[], mode?: 'blocks' | 'collect') {
  const out: (PersonGroup | OtherRecord)[] = [];
  await pipeline(Readable.from(records), new PersonGrouper(layout, { mode }), new Writable({ objectMode: true, write: (x, _e, cb) => (out.push(x), cb()) }));
  return out;
}

const HDR = { recordType: 'HDR', filename: 'GO_123_EXP_GOC_20261120_00000001.DAT' };
const LCA = { recordType: 'LCA', locationId: 'L1', locationDescription: 'Ward' };
const pra = (personId: string, start: string, end?: string) => ({ recordType: 'PRA', personId, effectiveStartDate: start, ...(end ? { effectiveEndDate: end } : {}), lastName: 'X' });
const asa = (personId: string, assignmentId: string, start: string, end?: string) => ({ recordType: 'ASA', personId, assignmentId, effectiveStartDate: start, ...(end ? { effectiveEndDate: end } : {}) });

describe('person view', () => {
  it('groups each PRA with the child rows that follow it (EXP order)', async () => {
    const out = await group([
      HDR, LCA,
      pra('1', '2020-01-01'), asa('1', 'A1', '2020-01-01'), { recordType: 'PHA', personId: '1', phoneId: 'P1' },
      pra('2', '2021-01-01'), { recordType: 'ASD', assignmentId: 'A9' }, asa('2', 'A2', '2021-01-01'),
      { recordType: 'PRD', personId: '3' },
      { recordType: 'TRL', recordCount: '10' },
    ]);
    assert.deepEqual(out.map((x) => (x.type === 'person' ? `person ${x.personId}:${x.records.map((r) => r.recordType).join(',')}` : x.record.recordType)), [
      'HDR', 'LCA', 'person 1:PRA,ASA,PHA', 'ASD', 'person 2:PRA,ASA', 'person 3:PRD', 'TRL',
    ]);
  });

  it('collects rows of one person from anywhere in the file in collect mode (GDW order)', async () => {
    const out = await group([pra('1', '2020-01-01'), pra('2', '2020-01-01'), asa('1', 'A1', '2020-01-01'), asa('2', 'A2', '2020-01-01')], 'collect');
    const people = out.filter((x): x is PersonGroup => x.type === 'person');
    assert.deepEqual(people.map((p) => [p.personId, p.records.map((r) => r.assignmentId ?? r.recordType)]), [['1', ['PRA', 'A1']], ['2', ['PRA', 'A2']]]);
  });

  it('picks the date-tracked rows current at a date', () => {
    const person: PersonGroup = {
      type: 'person', personId: '1',
      records: [pra('1', '2017-05-01', '2020-05-01'), pra('1', '2020-05-02'), asa('1', 'A1', '2011-06-01', '2012-12-31'), asa('1', 'A1', '2013-01-01', '2013-12-31'), asa('1', 'A2', '2013-01-01')],
    };
    const in2019 = currentAt(layout, person, '2019-01-01');
    assert.equal(in2019.current.PRA.length, 1);
    assert.equal(in2019.current.PRA[0].effectiveStartDate, '2017-05-01');
    assert.deepEqual(in2019.current.ASA.map((r) => r.assignmentId), ['A2']);
    const in2013 = currentAt(layout, person, '2013-06-30');
    assert.deepEqual(in2013.current.ASA.map((r) => `${r.assignmentId} ${r.effectiveStartDate}`), ['A1 2013-01-01', 'A2 2013-01-01']);
    assert.equal(currentAt(layout, person, '2021-01-01').current.PRA[0].effectiveStartDate, '2020-05-02');
    assert.equal(currentAt(layout, { type: 'person', personId: '3', records: [{ recordType: 'PRD', personId: '3' }] }, '2021-01-01').deleted, true);
  });
});
