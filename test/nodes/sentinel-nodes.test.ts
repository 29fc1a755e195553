/**
 * No value in any message, in a real Node-RED runtime: sentinel files and records through esr-read, esr-map and
 * esr-write; no status text, done(err) text, log line or problem message holds a sentinel.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { sentinelFiles, sentinelRecords, Sentinels } from '../support/sentinels';
import { NODE_RED_SKIP, coreNode, helper, nodeFile, onTab, type HelperNode, type RedNode } from '../support/node-red';

type Msg = Record<string, any>;

describe('sentinels in Node-RED: no value reaches a status, an error or the log', { skip: NODE_RED_SKIP }, () => {
  before(async () => new Promise<void>((resolve) => helper.startServer(resolve)));
  afterEach(async () => helper.unload());
  after(async () => new Promise<void>((resolve) => helper.stopServer(resolve)));

  it('esr-read (every mode, strict and lenient) into esr-map and esr-write', async () => {
    const modes = ['record', 'person', 'batch', 'file'];
    const flow = [
      ...modes.flatMap((mode) =>
        [false, true].map((lenient) => ({
          id: `read-${mode}-${lenient}`, type: 'esr-read', layout: 'auto', lenient, fragment: lenient, input: 'payload', mode, batchSize: 3, grouping: 'collect', date: '', dateType: 'str', filename: 'filename', filenameType: 'msg',
          wires: [['map'], ['rejected'], ['summary']],
        })),
      ),
      {
        id: 'map', type: 'esr-map', rules: [{ target: 'born', template: '{{#ymdToIso}}{{lastName}}{{/ymdToIso}}' }, { target: 'grade', template: '{{#lookup.grades}}{{personId}}{{/lookup.grades}}' }],
        lookups: [{ name: 'grades', source: 'lines', text: 'A=B' }], recordTypes: '', condition: '', wires: [['write']],
      },
      { id: 'write', type: 'esr-write', layout: 'go-gdw', vpd: '123', vpdType: 'str', nameParts: '{}', namePartsType: 'json', header: '{}', headerType: 'json', skipInvalid: false, wires: [['written'], ['writeRejected']] },
      { id: 'write-ta', type: 'esr-write', layout: 'ta', vpd: '123', vpdType: 'str', nameParts: '{}', namePartsType: 'json', header: '{}', headerType: 'json', skipInvalid: false, wires: [['written'], ['writeRejected']] },
      { id: 'rejected', type: 'helper' },
      { id: 'summary', type: 'helper' },
      { id: 'written', type: 'helper' },
      { id: 'writeRejected', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
      { id: 'status', type: 'status', scope: null, wires: [['statuses']] },
      { id: 'statuses', type: 'helper' },
    ];
    await helper.load([nodeFile('esr-read'), nodeFile('esr-map'), nodeFile('esr-write'), coreNode('common/25-catch.js'), coreNode('common/25-status.js')], onTab(flow));
    const seen: Record<string, Msg[]> = { rejected: [], summary: [], caught: [], statuses: [], writeRejected: [] };
    for (const id of Object.keys(seen)) (helper.getNode(id) as HelperNode).on('input', (m: Msg) => seen[id].push(m));

    const files = sentinelFiles();
    for (const mode of modes) {
      for (const lenient of [false, true]) {
        for (const f of files) {
          const summaries = seen.summary.length;
          (helper.getNode(`read-${mode}-${lenient}`) as RedNode).receive({ payload: f.bytes, filename: f.name });
          const until = Date.now() + 10_000;
          while (seen.summary.length === summaries && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
        }
      }
    }
    for (const { layout, record } of sentinelRecords()) {
      (helper.getNode(layout === 'ta' ? 'write-ta' : 'write') as RedNode).receive({ payload: [record], filename: 'x' });
    }
    (helper.getNode('map') as RedNode).receive({ payload: { recordType: Sentinels.code(), lastName: Sentinels.next() }, esr: { layout: 'go-gdw' }, parts: { id: 'p', index: 0 } });
    (helper.getNode('map') as RedNode).receive({ payload: [{ recordType: Sentinels.code(), lastName: Sentinels.next() }], esr: { layout: 'go-gdw' } });
    await new Promise((r) => setTimeout(r, 500));

    assert.ok(seen.caught.length >= modes.length * 2 * 5 + sentinelRecords().length, `only ${seen.caught.length} errors reached Catch`);
    assert.ok(seen.caught.some((m) => m.error?.source?.type === 'esr-map') && seen.caught.some((m) => m.error?.source?.type === 'esr-write'));
    assert.ok(seen.rejected.length > 0, 'rejected lines');
    const texts = [
      ...seen.caught.map((m) => `${m.error?.message} ${m.error?.source?.type}`),
      ...seen.statuses.map((m) => String(m.status?.text ?? '')),
      ...seen.rejected.flatMap((m) => [m.topic, ...m.problems.map((p: Msg) => `${p.message} ${p.recordType ?? ''} ${p.field ?? ''}`)]),
      ...seen.writeRejected.flatMap((m) => [m.topic, ...m.problems.map((p: Msg) => `${p.message} ${p.recordType ?? ''} ${p.field ?? ''}`)]),
      ...seen.summary.flatMap((m) => [...m.payload.errors, ...m.payload.warnings].map((p: Msg) => `${p.message} ${p.recordType ?? ''}`).concat(Object.keys(m.payload.records))),
      ...helper.log().args.map((a) => JSON.stringify(a)),
    ];
    Sentinels.assertNoneIn(texts, 'Node-RED');
  });
});
