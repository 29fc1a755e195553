/** esr-read, esr-map and esr-write in a real Node-RED runtime, and a full SFTP -> read -> map -> write -> SFTP flow. */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { loadLayout, readAll } from '../../core/codec';
import { goFile, goLine } from '../helpers';
import { SSHD_SKIP, startSshd, type TestSshd } from '../support/sshd';
import { collect, NODE_RED_SKIP, coreNode, helper, nodeFile, onTab, waitFor, type FlowNode, type RedNode } from '../support/node-red';

const readNode = nodeFile('esr-read');
const mapNode = nodeFile('esr-map');
const writeNode = nodeFile('esr-write');
const serverNode = nodeFile('esr-sftp-server');
const inNode = nodeFile('esr-sftp-in');
const outNode = nodeFile('esr-sftp-out');

const NAME = 'GO_123_GDW_GOC_20261120_00000007.DAT';
const PRA = (id: string, last: string, extra: Record<number, string> = {}) => goLine('PRA', 44, { 2: id, 3: '20200101', 5: `E${id}`, 7: last, 8: 'Ann', ...extra });
const ASA = (id: string, a: string) => goLine('ASA', 51, { 2: id, 3: a, 4: '20200101', 8: `${a}-1` });
const FILE = goFile([PRA('1001', 'Müller'), ASA('1001', 'A1'), PRA('1002', "O'Brien & Sons"), ASA('1002', 'A2'), 'PRD~1003'], '\n', NAME);

describe('ESR nodes in Node-RED', { skip: NODE_RED_SKIP }, () => {
  before(async () => new Promise<void>((resolve) => helper.startServer(resolve)));
  afterEach(async () => helper.unload());
  after(async () => new Promise<void>((resolve) => helper.stopServer(resolve)));

  const readFlow = (extra: Record<string, unknown> = {}): FlowNode[] => [
    { id: 'read', type: 'esr-read', layout: 'auto', lenient: false, input: 'payload', mode: 'record', batchSize: 2, grouping: 'blocks', date: '', dateType: 'str', filename: 'filename', filenameType: 'msg', wires: [['records'], ['rejected'], ['summary']], ...extra },
    { id: 'records', type: 'helper' },
    { id: 'rejected', type: 'helper' },
    { id: 'summary', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  it('esr-read: one message per record with msg.parts and the file facts, then a summary', async () => {
    await helper.load([readNode], onTab(readFlow()));
    const records = collect('records');
    const summary = collect('summary');
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(FILE, 'latin1'), filename: NAME, esrClaim: { node: 'x' } });
    await waitFor(() => summary.length === 1);
    assert.deepEqual(records.map((m) => m.payload.recordType), ['HDR', 'PRA', 'ASA', 'PRA', 'ASA', 'PRD', 'TRL']);
    assert.equal(records[1].payload.lastName, 'Müller');
    assert.deepEqual(records.map((m) => m.parts.index), [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(records.at(-1)!.parts.count, 7);
    assert.ok(records.slice(0, -1).every((m) => m.parts.count === undefined));
    assert.ok(new Set(records.map((m) => m.parts.id)).size === 1);
    assert.deepEqual({ vpd: records[0].esr.vpd, subtype: records[0].esr.subtype, extract: records[0].esr.extract, date: records[0].esr.date, sequence: records[0].esr.sequence, layout: records[0].esr.layout }, {
      vpd: '123', subtype: 'GDW', extract: 'changes', date: '2026-11-20', sequence: 7, layout: 'go-gdw',
    });
    assert.equal(summary[0].payload.valid, true);
    assert.deepEqual(summary[0].payload.records, { HDR: 1, PRA: 2, ASA: 2, PRD: 1, TRL: 1 });
    assert.deepEqual(summary[0].esrClaim, { node: 'x' }, 'the summary carries the original message, to confirm the file');
    assert.ok(records.every((m) => m.esrClaim?.node === 'x'), 'records carry the claim, so that a join at the end can confirm');
  });

  it('esr-read: one message per person with the rows current at the chosen date', async () => {
    await helper.load([readNode], onTab(readFlow({ mode: 'person', date: 'day', dateType: 'msg' })));
    const records = collect('records');
    const summary = collect('summary');
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(FILE, 'latin1'), filename: NAME, day: '2026-01-01' });
    await waitFor(() => summary.length === 1);
    const people = records.filter((m) => m.topic === 'person');
    assert.deepEqual(people.map((m) => [m.payload.personId, m.payload.deleted, m.payload.person?.lastName, m.payload.records.ASA?.[0].assignmentId]), [
      ['1001', false, 'Müller', 'A1'],
      ['1002', false, "O'Brien & Sons", 'A2'],
      ['1003', true, undefined, undefined],
    ]);
    assert.deepEqual(records.filter((m) => m.topic !== 'person').map((m) => m.topic), ['HDR', 'TRL']);
  });

  it('esr-read: a "current at" date that is not YYYY-MM-DD is an error, not today', async () => {
    await helper.load([readNode], onTab(readFlow({ mode: 'person', date: 'day', dateType: 'msg' })));
    const caught = collect('caught');
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(FILE, 'latin1'), filename: NAME, day: '20260101' });
    await waitFor(() => caught.length === 1);
    assert.match(caught[0].error.message, /Current at/);
  });

  it('esr-read: batches, and the whole file as one array', async () => {
    await helper.load([readNode], onTab(readFlow({ mode: 'batch' })));
    let records = collect('records');
    let summary = collect('summary');
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(FILE, 'latin1'), filename: NAME });
    await waitFor(() => summary.length === 1);
    assert.deepEqual(records.map((m) => m.payload.length), [2, 2, 2, 1]);
    await helper.unload();
    await helper.load([readNode], onTab(readFlow({ mode: 'file' })));
    records = collect('records');
    summary = collect('summary');
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(FILE, 'latin1'), filename: NAME });
    await waitFor(() => summary.length === 1);
    assert.equal(records.length, 1);
    assert.equal(records[0].payload.length, 7);
    // type 'array' and a len over 1: a core join (automatic) puts the arrays' records together, as for a split array.
    assert.deepEqual(records[0].parts, { id: records[0].parts.id, index: 0, count: 1, type: 'array', len: 7 });
  });

  it('esr-read: a bad record goes to the rejected output; a cut file fails through done(err) to Catch', async () => {
    await helper.load([readNode], onTab(readFlow({ layout: 'go-gdw' })));
    const records = collect('records');
    const rejected = collect('rejected');
    const caught = collect('caught');
    const summary = collect('summary');
    const bad = goFile([PRA('1001', 'Zebedee', { 14: '20230230' }), PRA('1002', 'Ann')], '\n', NAME);
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(bad, 'latin1'), filename: NAME });
    await waitFor(() => summary.length === 1);
    assert.deepEqual(rejected.map((m) => [m.line, m.topic, m.problems[0].code, m.problems[0].field]), [[2, 'PRA', 'INVALID_DATE', 'Date of Birth']]);
    assert.equal(records.filter((m) => m.payload.recordType === 'PRA').length, 1);
    assert.equal(caught.length, 0, 'a rejected record alone does not fail the file');
    const cut = bad.slice(0, bad.indexOf('TRL'));
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(cut, 'latin1'), filename: NAME, esrClaim: { node: 'n' } });
    await waitFor(() => caught.length === 1);
    assert.match(caught[0].error.message, /MISSING_TRAILER/);
    assert.ok(!caught[0].error.message.includes('Zebedee'));
    assert.deepEqual(caught[0].esrClaim, { node: 'n' }, 'the Catch node gets the original message, to fail the file');
    await waitFor(() => summary.length === 2);
    assert.equal(summary[1].payload.valid, false);
    assert.equal(summary[1].esrClaim, undefined, 'the summary of a failed file cannot confirm it');
  });

  it('esr-read: reads a stream and a local file path', async () => {
    await helper.load([readNode], onTab(readFlow()));
    const summary = collect('summary');
    (helper.getNode('read') as RedNode).receive({ payload: Readable.from([Buffer.from(FILE, 'latin1')]), filename: NAME });
    await waitFor(() => summary.length === 1);
    assert.equal(summary[0].payload.records.PRA, 2);
    // a stream with no usable name: the layout comes from its first line
    const bytes = Buffer.from(FILE, 'latin1');
    (helper.getNode('read') as RedNode).receive({ payload: Readable.from([bytes.subarray(0, 10), bytes.subarray(10)]), filename: 'download.tmp' });
    await waitFor(() => summary.length === 2);
    assert.equal(summary[1].payload.layout, 'go-gdw');
    assert.equal(summary[1].payload.records.PRA, 2);
    await helper.unload();
    // Inside Node-RED's user directory: local paths are confined to it (see local-path.test.ts).
    const userDir = String((helper as unknown as { settings(): Record<string, unknown> }).settings().userDir);
    const file = path.join(fs.mkdtempSync(path.join(userDir, 'esr-read-')), NAME);
    fs.writeFileSync(file, Buffer.from(FILE, 'latin1'));
    await helper.load([readNode], onTab(readFlow({ input: 'path' })));
    const s2 = collect('summary');
    (helper.getNode('read') as RedNode).receive({ payload: file });
    await waitFor(() => s2.length === 1);
    assert.equal(s2[0].payload.file.name, NAME);
    assert.equal(s2[0].payload.records.PRA, 2);
  });

  it('esr-read: a missing local file is an error for Catch, not a crash', async () => {
    await helper.load([readNode], onTab(readFlow({ input: 'path', layout: 'go-gdw' })));
    const caught = collect('caught');
    const userDir = String((helper as unknown as { settings(): Record<string, unknown> }).settings().userDir);
    (helper.getNode('read') as RedNode).receive({ payload: path.join(userDir, 'no-such-dir', NAME) });
    await waitFor(() => caught.length === 1);
    assert.match(caught[0].error.message, /ENOENT/);
  });

  it('esr-read: the whole file goes on only when the file as a whole is sound', async () => {
    await helper.load([readNode], onTab(readFlow({ mode: 'file', layout: 'go-gdw' })));
    const records = collect('records');
    const caught = collect('caught');
    const cut = FILE.slice(0, FILE.indexOf('TRL'));
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(cut, 'latin1'), filename: NAME });
    await waitFor(() => caught.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(records, [], 'nothing of a file cut short');
  });

  it('a file that fails at its end ends its sequence with msg.reset: a join drops what it holds, esr-write makes no file', async () => {
    const flow: FlowNode[] = [
      { id: 'read', type: 'esr-read', layout: 'go-gdw', lenient: false, input: 'payload', mode: 'record', filename: 'filename', filenameType: 'msg', wires: [['map', 'join', 'records'], [], []] },
      { id: 'map', type: 'esr-map', recordTypes: 'ASA', rules: [{ target: 'recordType', template: 'ATT' }, { target: 'effectiveDate', template: '2026-11-20' }, { target: 'assignmentNumber', template: '{{assignmentNumber}}' }, { target: 'elementName', template: 'Overtime' }], wires: [['write']] },
      { id: 'write', type: 'esr-write', layout: 'ta', vpd: '555', vpdType: 'str', nameParts: '{"sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', wires: [['file'], []] },
      { id: 'join', type: 'join', mode: 'auto', build: 'object', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', timeout: '', count: '', wires: [['joined']] },
      { id: 'records', type: 'helper' },
      { id: 'file', type: 'helper' },
      { id: 'joined', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ];
    await helper.load([readNode, mapNode, writeNode, coreNode('sequence/17-split.js')], onTab(flow));
    const [records, files, joined, caught] = [collect('records'), collect('file'), collect('joined'), collect('caught')];
    const cut = FILE.slice(0, FILE.indexOf('TRL'));
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(cut, 'latin1'), filename: NAME });
    await waitFor(() => caught.length === 1);
    await new Promise((r) => setTimeout(r, 200));
    const last = records[records.length - 1];
    assert.equal(last.parts.count, records.length);
    assert.equal(last.reset, true, 'the last message tells a join to drop the file');
    assert.equal(records.slice(0, -1).filter((m) => 'reset' in m).length, 0);
    assert.deepEqual(joined, [], 'the join sent nothing of the failed file');
    assert.deepEqual(files, [], 'no TA file from a failed file');
    // The next, sound file goes through whole.
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(FILE, 'latin1'), filename: NAME });
    await waitFor(() => joined.length === 1 && files.length === 1);
    assert.ok(Object.keys((joined[0] as Record<string, any>).payload).length > 0);
  });

  it('a read that breaks off ends its sequence once with msg.reset, and sends no record twice', async () => {
    await helper.load([readNode, mapNode], onTab([...readFlow({ layout: 'go-gdw', wires: [['records', 'map'], ['rejected'], ['summary']] }), { id: 'map', type: 'esr-map', rules: [{ target: 'id', template: '{{personId}}' }], wires: [['mapped']] }, { id: 'mapped', type: 'helper' }]));
    const [records, caught, mapped] = [collect('records'), collect('caught'), collect('mapped')];
    const bytes = Buffer.from(FILE, 'latin1');
    for (let run = 0; run < 5; run++) {
      // A download that fails after its first lines, at a different moment each run.
      const broken = new Readable({ read() {} });
      broken.push(bytes.subarray(0, bytes.indexOf('PRD')));
      setTimeout(() => broken.destroy(new Error('download failed')), run);
      (helper.getNode('read') as RedNode).receive({ payload: broken, filename: NAME });
      await waitFor(() => caught.length === run + 1);
    }
    await new Promise((r) => setTimeout(r, 100));
    const byFile = new Map<string, Record<string, any>[]>();
    for (const m of records) byFile.set(m.parts.id, [...(byFile.get(m.parts.id) ?? []), m]);
    for (const messages of byFile.values()) {
      const indexes = messages.map((m) => m.parts.index);
      assert.deepEqual(indexes, [...indexes.keys()], 'each index once, in order');
      const last = messages[messages.length - 1];
      assert.equal(last.reset, true);
      assert.equal(last.parts.count, messages.length);
    }
    assert.equal(mapped.every((m) => m.payload !== null && typeof m.payload === 'object'), true, 'esr-map ends a sequence with a mapped record, never an empty payload');
    assert.equal(mapped.filter((m) => m.reset).length, byFile.size);
  });

  it('record messages filtered by esr-map still close esr-write\'s file', async () => {
    const flow: FlowNode[] = [
      { id: 'read', type: 'esr-read', layout: 'go-gdw', lenient: false, input: 'payload', mode: 'record', filename: 'filename', filenameType: 'msg', wires: [['map'], [], []] },
      { id: 'map', type: 'esr-map', recordTypes: 'ASA', rules: [{ target: 'recordType', template: 'ATT' }, { target: 'effectiveDate', template: '2026-11-20' }, { target: 'assignmentNumber', template: '{{assignmentNumber}}' }, { target: 'elementName', template: 'Overtime' }], wires: [['write']] },
      { id: 'write', type: 'esr-write', layout: 'ta', vpd: '555', vpdType: 'str', nameParts: '{"sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', wires: [['file'], []] },
      { id: 'file', type: 'helper' },
    ];
    await helper.load([readNode, mapNode, writeNode], onTab(flow));
    const files = collect('file');
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(FILE, 'latin1'), filename: NAME });
    await waitFor(() => files.length === 1);
    const { records } = await readAll(loadLayout('ta'), files[0].payload as Buffer);
    assert.deepEqual(records.filter((r) => r.recordType === 'ATT').map((r) => r.assignmentNumber), ['A1-1', 'A2-1']);
  });

  it('esr-write: numbers files per VPD of the file name, also when the name parts set it', async () => {
    const node = (id: string, vpd: string, parts: string): FlowNode => ({ id, type: 'esr-write', layout: 'ta', vpd, vpdType: 'str', nameParts: parts, namePartsType: 'json', header: '{}', headerType: 'json', wires: [['file'], []] });
    await helper.load([writeNode], onTab([
      node('w1', '777', '{"sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}'),
      node('w2', '000', '{"vpd":"777","sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}'),
      { id: 'file', type: 'helper' },
    ]));
    const files = collect('file');
    const att = [{ recordType: 'ATT', effectiveDate: '2026-11-20', assignmentNumber: '1', elementName: 'Overtime' }];
    (helper.getNode('w1') as RedNode).receive({ payload: att });
    await waitFor(() => files.length === 1);
    (helper.getNode('w2') as RedNode).receive({ payload: att });
    await waitFor(() => files.length === 2);
    assert.deepEqual(files.map((f) => f.filename), ['TA_777_SEL_MN2708_00000001.DAT', 'TA_777_SEL_MN2708_00000002.DAT']);
  });

  it('esr-map: maps records without HTML escaping; a broken rule fails at deploy', async () => {
    const flow: FlowNode[] = [
      { id: 'map', type: 'esr-map', rules: [{ target: 'surname', template: '{{lastName}}' }, { target: 'staffNo', template: '{{#zeroPad.8}}{{employeeNumber}}{{/zeroPad.8}}' }], recordTypes: 'PRA', wires: [['mapped']] },
      { id: 'mapped', type: 'helper' },
    ];
    await helper.load([mapNode], onTab(flow));
    const mapped = collect('mapped');
    (helper.getNode('map') as RedNode).receive({ payload: { recordType: 'PRA', lastName: "O'Brien & Sons", employeeNumber: '42' } });
    (helper.getNode('map') as RedNode).receive({ payload: { recordType: 'ASA' } });
    (helper.getNode('map') as RedNode).receive({ payload: [{ recordType: 'PRA', lastName: 'A' }, { recordType: 'ASA' }] });
    await waitFor(() => mapped.length === 2);
    assert.deepEqual(mapped[0].payload, { surname: "O'Brien & Sons", staffNo: '00000042' });
    assert.deepEqual(mapped[1].payload, [{ surname: 'A' }]);
    await helper.unload();
    await helper.load([mapNode], onTab([{ id: 'map', type: 'esr-map', rules: [{ target: 'x', template: '{{#lookup.nope}}{{a}}{{/lookup.nope}}' }], wires: [[]] }, { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' }]));
    // at deploy: logged as an error, before any message
    assert.ok(helper.log().args.some((a) => String((a[0] as { msg?: unknown })?.msg).includes('lookup table "nope" is not defined')), 'reported at deploy');
    const caught = collect('caught');
    (helper.getNode('map') as RedNode).receive({ payload: { a: 1 } });
    await waitFor(() => caught.length === 1);
    assert.match(caught[0].error.message, /lookup table "nope" is not defined/);
  });

  it('esr-map: a value a helper cannot take fails the message, naming file, record and rule but not the value', async () => {
    await helper.load([mapNode], onTab([
      { id: 'map', type: 'esr-map', rules: [{ target: 'dob', template: '{{#isoToYmd}}{{dateOfBirth}}{{/isoToYmd}}' }], wires: [[]] },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]));
    const caught = collect('caught');
    const esr = { layout: 'go-gdw' }; // as esr-read sets it: record types are named only as the layout knows them
    (helper.getNode('map') as RedNode).receive({ payload: { recordType: 'PRA', dateOfBirth: 'Zebedee' }, filename: NAME, esr, parts: { id: 'p', index: 4 } });
    (helper.getNode('map') as RedNode).receive({ payload: [{ recordType: 'PRA', dateOfBirth: '2020-01-01' }, { recordType: 'ASA', dateOfBirth: 'Zebedee' }], filename: NAME, esr });
    (helper.getNode('map') as RedNode).receive({ payload: { recordType: 'KHAN', dateOfBirth: 'Zebedee' }, filename: NAME, esr, parts: { id: 'q', index: 6 } }); // another file: the first failure dropped the rest of file p
    await waitFor(() => caught.length === 3);
    assert.match(caught[0].error.message, new RegExp(`${NAME}, record 5, PRA: rule 1 \\(dob\\): isoToYmd`));
    assert.match(caught[1].error.message, new RegExp(`${NAME}: item 2 \\(ASA\\): rule 1 \\(dob\\)`));
    assert.match(caught[2].error.message, new RegExp(`${NAME}, record 7: rule 1 \\(dob\\)`), 'a record type the layout does not know is not named');
    assert.ok(caught.every((m) => !m.error.message.includes('Zebedee') && !m.error.message.includes('KHAN')));
  });

  it('esr-map: "try it" renders rules against a pasted sample', async () => {
    await helper.load([mapNode], onTab([{ id: 'map', type: 'esr-map', rules: [{ target: 'x', template: '{{a}}' }], wires: [[]] }]));
    const res = await helper.request().post('/esr-map/try').send({ rules: [{ target: 'name', template: '{{#upper}}{{lastName}}{{/upper}}' }], lookups: [], sample: '{"lastName":"o\'brien & co"}' });
    assert.deepEqual(res.body, { ok: true, result: [{ name: "O'BRIEN & CO" }] });
    const bad = await helper.request().post('/esr-map/try').send({ rules: [{ target: 'name', template: '{{#upper}}' }], sample: '{}' });
    assert.equal(bad.body.ok, false);
    assert.match(bad.body.error, /rule 1 \(name\): the template does not parse/);
  });

  it('esr-write: builds a named TA file from a msg.parts sequence, numbering files per layout and VPD', async () => {
    const flow: FlowNode[] = [
      { id: 'write', type: 'esr-write', layout: 'ta', vpd: '431', vpdType: 'str', nameParts: '{"sourceSystem":"SEL","periodType":"W","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', skipInvalid: false, wires: [['file'], ['rejected']] },
      { id: 'file', type: 'helper' },
      { id: 'rejected', type: 'helper' },
    ];
    await helper.load([writeNode], onTab(flow));
    const files = collect('file');
    const att = (n: string) => ({ recordType: 'ATT', effectiveDate: '2026-11-20', assignmentNumber: n, elementName: 'Overtime', inputValue1Name: 'Hours', inputValue1Value: '7.5' });
    for (const round of [0, 1]) {
      for (let i = 0; i < 3; i++) (helper.getNode('write') as RedNode).receive({ payload: att(`1000${i}`), parts: { id: `seq${round}`, index: i, ...(i === 2 ? { count: 3 } : {}) } });
    }
    await waitFor(() => files.length === 2);
    assert.deepEqual(files.map((f) => f.filename), ['TA_431_SEL_WN2708_00000001.DAT', 'TA_431_SEL_WN2708_00000002.DAT']);
    const { records, summary } = await readAll(loadLayout('ta'), files[0].payload as Buffer, { fileName: files[0].filename });
    assert.deepEqual(summary.errors, []);
    assert.equal(summary.records.ATT, 3);
    assert.equal(records[0].fileName, files[0].filename);
    assert.ok((files[0].payload as Buffer).toString('latin1').endsWith('FTR,3,0'));
  });

  it('esr-write: files leave in the order their sequences ended, numbered in that order, however long each takes to build', async () => {
    const flow: FlowNode[] = [
      { id: 'write', type: 'esr-write', layout: 'ta', vpd: '432', vpdType: 'str', nameParts: '{"sourceSystem":"SEL","periodType":"W","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', wires: [['file'], []] },
      { id: 'file', type: 'helper' },
    ];
    await helper.load([writeNode], onTab(flow));
    const files = collect('file');
    const att = (n: string) => ({ recordType: 'ATT', effectiveDate: '2026-11-20', assignmentNumber: n, elementName: 'Overtime' });
    const sizes = [4000, 1, 2000, 1];
    sizes.forEach((size, s) => (helper.getNode('write') as RedNode).receive({ payload: Array.from({ length: size }, (_, i) => att(`${s}-${i}`)), parts: { id: `big${s}`, index: 0, count: 1 } }));
    await waitFor(() => files.length === sizes.length, 20000);
    assert.deepEqual(files.map((f) => f.esr.records.ATT), sizes);
    assert.deepEqual(files.map((f) => f.esr.sequence), [1, 2, 3, 4]);
  });

  it('esr-write: records without msg.parts make one file when msg.complete arrives', async () => {
    const flow: FlowNode[] = [
      { id: 'write', type: 'esr-write', layout: 'ta', vpd: '321', vpdType: 'str', nameParts: '{"sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', wires: [['file'], []] },
      { id: 'file', type: 'helper' },
    ];
    await helper.load([writeNode], onTab(flow));
    const files = collect('file');
    const att = (n: string) => ({ recordType: 'ATT', effectiveDate: '2026-11-20', assignmentNumber: n, elementName: 'Overtime' });
    (helper.getNode('write') as RedNode).receive({ payload: att('1') });
    (helper.getNode('write') as RedNode).receive({ payload: att('2') });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(files.length, 0, 'nothing until the file is complete');
    (helper.getNode('write') as RedNode).receive({ complete: true });
    await waitFor(() => files.length === 1);
    assert.equal(files[0].esr.records.ATT, 2);
  });

  it('esr-write: an invalid record fails the file (no file, no number used) unless skipping is on', async () => {
    const flow = (skip: boolean): FlowNode[] => [
      { id: 'write', type: 'esr-write', layout: 'ta', vpd: 'vpd', vpdType: 'msg', nameParts: '{"sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', skipInvalid: skip, wires: [['file'], ['rejected']] },
      { id: 'file', type: 'helper' },
      { id: 'rejected', type: 'helper' },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ];
    const good = { recordType: 'ATT', effectiveDate: '2026-11-20', assignmentNumber: '1', elementName: 'Overtime' };
    const bad = { ...good, elementName: 'Zebedee, "the" Müller' };
    await helper.load([writeNode], onTab(flow(false)));
    let files = collect('file');
    const caught = collect('caught');
    (helper.getNode('write') as RedNode).receive({ payload: [good, bad], vpd: '999' });
    await waitFor(() => caught.length === 1);
    assert.equal(files.length, 0);
    assert.match(caught[0].error.message, /record 2, ATT, field "Element Name"/);
    assert.ok(!caught[0].error.message.includes('Zebedee'));
    await helper.unload();
    await helper.load([writeNode], onTab(flow(true)));
    files = collect('file');
    const rejected = collect('rejected');
    (helper.getNode('write') as RedNode).receive({ payload: [good, bad], vpd: '999' });
    await waitFor(() => files.length === 1);
    assert.equal(files[0].filename, 'TA_999_SEL_MN2708_00000001.DAT', 'the failed file did not use up number 1');
    assert.equal(rejected.length, 1);
    assert.deepEqual(rejected[0].problems.map((p: { code: string; field: string; recordNumber: number }) => [p.code, p.field, p.recordNumber]), [['QUOTE_IN_VALUE', 'Element Name', 2]]);
  });
});

describe('a whole flow: SFTP -> esr-read -> esr-map -> esr-write -> SFTP', { skip: SSHD_SKIP || NODE_RED_SKIP }, () => {
  let sshd: TestSshd;
  before(async () => {
    sshd = await startSshd();
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  after(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await sshd?.stop();
  });

  it('turns a GO staff list from Out/ into a TA file in In/, and archives the source once done', async () => {
    fs.mkdirSync(path.join(sshd.root, 'Out'), { recursive: true });
    fs.writeFileSync(path.join(sshd.root, 'Out', NAME), Buffer.from(FILE, 'latin1'));
    const flow: FlowNode[] = [
      { id: 'srv', type: 'esr-sftp-server', host: '127.0.0.1', port: sshd.port, username: sshd.username, root: sshd.root, hostFingerprint: sshd.fingerprint, timeoutSec: 10 },
      { id: 'poll', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: 'Out', folderType: 'str', glob: 'GO_*.DAT', output: 'stream', intervalSec: 3600, stableSec: 0, maxPerPoll: 5, after: 'archive', wires: [['read']] },
      // 'file' mode: esr-map drops the records that are not ASA, so the written file is built from one array
      { id: 'read', type: 'esr-read', layout: 'auto', lenient: false, input: 'payload', mode: 'file', filename: 'filename', filenameType: 'msg', wires: [['map'], [], ['poll']] },
      { id: 'map', type: 'esr-map', recordTypes: 'ASA', rules: [{ target: 'recordType', template: 'ATT' }, { target: 'effectiveDate', template: '2026-11-20' }, { target: 'assignmentNumber', template: '{{assignmentNumber}}' }, { target: 'elementName', template: 'Overtime' }], wires: [['write']] },
      { id: 'write', type: 'esr-write', layout: 'ta', vpd: '123', vpdType: 'str', nameParts: '{"sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', wires: [['put'], []] },
      { id: 'put', type: 'esr-sftp-out', server: 'srv', operation: 'put', folder: 'In', folderType: 'str', filename: 'filename', filenameType: 'msg', ifExists: 'fail', mkdirs: true, wires: [['done']] },
      { id: 'done', type: 'helper' },
      // the confirm step: esr-read's summary (third output, the original message) goes back to the poller
    ];
    await helper.load([serverNode, inNode, outNode, readNode, mapNode, writeNode], onTab(flow), { srv: { privateKey: sshd.privateKey } });
    await waitFor(() => fs.existsSync(path.join(sshd.root, 'In')) && fs.readdirSync(path.join(sshd.root, 'In')).some((f) => f.startsWith('TA_')), 15_000);
    const taName = fs.readdirSync(path.join(sshd.root, 'In')).find((f) => f.startsWith('TA_'))!;
    assert.equal(taName, 'TA_123_SEL_MN2708_00000001.DAT');
    const { records, summary } = await readAll(loadLayout('ta'), path.join(sshd.root, 'In', taName));
    assert.deepEqual(summary.errors, []);
    assert.deepEqual(records.filter((r) => r.recordType === 'ATT').map((r) => r.assignmentNumber), ['A1-1', 'A2-1']);
    await waitFor(() => fs.existsSync(path.join(sshd.root, 'Out', 'archive', NAME)), 10_000);
  });
});
