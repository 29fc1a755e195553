/**
 * esr-changes in a real Node-RED runtime (node-red-node-test-helper): esr-read → esr-changes over the synthetic
 * trust's files; events as a sequence a core join collects; files done with their claim only after the events;
 * a repeat delivery gives nothing; the safety stop sends nothing, reaches Catch, and an "accept" lets it through;
 * a sequence gap reaches the alert output and Catch, and a refresh request (GDR) comes out for the hub.
 */
import { takeFileFacts } from '../../nodes/shared/audit';
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fullFileRecords, SyntheticTrust, writeGoFile, writeGoFiles } from '../../core/synthetic';
import { addDays } from '../../core/synthetic/random';
import { brief, expectedOn } from '../support/changes';
import { Sentinels } from '../support/sentinels';
import { collect, coreNode, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type FlowNode, type RedNode } from '../support/node-red';

const nodes = () => [nodeFile('esr-state'), nodeFile('esr-read'), nodeFile('esr-changes'), coreNode('sequence/17-split.js'), coreNode('common/25-catch.js')];

describe('esr-changes in Node-RED', { skip: NODE_RED_SKIP }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-node-'));
  const trust = new SyntheticTrust({ staff: 200, seed: 3 });
  let names: string[] = [];
  const original = { ...helper.settings() };
  before(async () => {
    names = await writeGoFiles(trust, dir, { days: 3 });
    helper.settings({ ...original, esrLocalBase: dir }); // esr-read reads the files by path, only inside its base folder
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => helper.unload());
  after(async () => {
    helper.settings(original);
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const flow = (folder: string, options: Record<string, unknown> = {}): FlowNode[] => [
    { id: 'st', type: 'esr-state', backend: 'local', folder },
    { id: 'read', type: 'esr-read', layout: 'auto', input: 'path', mode: 'batch', batchSize: 100, wires: [['changes'], [], []] },
    { id: 'changes', type: 'esr-changes', state: 'st', maxLeaverPercent: 5, future: 'now', gaps: 'alert', holdHours: 6, refresh: 'never', firstFull: 'baseline', ...options, wires: [['events', 'join'], ['alerts'], ['refresh'], ['done']] },
    { id: 'join', type: 'join', mode: 'auto', wires: [['joined']] },
    { id: 'events', type: 'helper' },
    { id: 'joined', type: 'helper' },
    { id: 'alerts', type: 'helper' },
    { id: 'refresh', type: 'helper' },
    { id: 'done', type: 'helper' },
    { id: 'c', type: 'catch', scope: ['changes'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];
  const send = (file: string, claim: unknown) => (helper.getNode('read') as RedNode).receive({ payload: path.join(dir, file), esrClaim: claim });

  it('finds the known events day by day; each file is done after its events, with its claim; a repeat gives none', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-state-'));
    await helper.load(nodes(), onTab(flow(folder)));
    const events = collect('events');
    const joined = collect('joined');
    const done = collect('done');
    const order: string[] = [];
    (helper.getNode('events') as RedNode).on('input', () => order.push('event'));
    (helper.getNode('done') as RedNode).on('input', () => order.push('done'));
    send(names[0], { ticket: 0 });
    await waitFor(() => done.length === 1);
    assert.equal(events.length, 0, 'the first full file is the baseline');
    assert.deepEqual(done[0].esrClaim, { ticket: 0 });
    assert.equal(done[0].payload.outcome, 'applied');
    // The node's today is the machine's date: it decides an event's `future` flag, not which events there are.
    for (let d = 1; d <= 3; d++) {
      const before = events.length;
      order.length = 0;
      send(names[d], { ticket: d });
      await waitFor(() => done.length === d + 1);
      const got = events.slice(before);
      assert.deepEqual(brief(got.map((m) => m.payload)), expectedOn(trust, 'GDW', d), `day ${d}`);
      assert.deepEqual(done[d].esrClaim, { ticket: d });
      assert.equal(order[order.length - 1], 'done', 'confirmed after its events');
      for (const [i, m] of got.entries()) {
        assert.equal(m.parts.index, i);
        assert.equal(m.parts.count, got.length);
        assert.ok(m.payload);
      }
      await waitFor(() => joined.length === d);
      assert.equal(joined[d - 1].payload.length, got.length, 'a core join collects the sequence');
    }
    const before = events.length;
    send(names[2], { ticket: 'again' });
    await waitFor(() => done.length === 5);
    assert.equal(done[4].payload.outcome, 'repeat');
    assert.deepEqual(done[4].esrClaim, { ticket: 'again' });
    assert.equal(events.length, before);
  });

  it('two esr-changes nodes on one store and one feed (two systems): each keeps its own snapshot and takes every file', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-state-'));
    const one = flow(folder);
    // A second reader and esr-changes, as a second system's flow has them: person mode, the same files.
    const second: FlowNode[] = [
      { id: 'read2', type: 'esr-read', layout: 'auto', input: 'path', mode: 'person', wires: [['changes2'], [], []] },
      { id: 'changes2', type: 'esr-changes', state: 'st', maxLeaverPercent: 5, future: 'now', gaps: 'alert', holdHours: 6, refresh: 'never', firstFull: 'baseline', wires: [['events2'], ['alerts2'], [], ['done2']] },
      { id: 'events2', type: 'helper' },
      { id: 'alerts2', type: 'helper' },
      { id: 'done2', type: 'helper' },
    ];
    // One Catch for both (the test helper loads a core node once per node of its type in a flow).
    const both = one.map((n) => (n.id === 'c' ? { ...n, scope: ['changes', 'changes2'] } : n));
    await helper.load(nodes(), onTab([...both, ...second]));
    const [done, done2, caught, events, events2] = [collect('done'), collect('done2'), collect('caught'), collect('events'), collect('events2')];
    for (let d = 0; d <= 1; d++) {
      send(names[d], { ticket: d });
      (helper.getNode('read2') as RedNode).receive({ payload: path.join(dir, names[d]), esrClaim: { ticket: `2-${d}` } });
      await waitFor(() => done.length === d + 1 && done2.length === d + 1);
    }
    assert.deepEqual(caught.map((m) => m.error.code), [], 'neither refuses the file the other took');
    assert.deepEqual([done[1].payload.outcome, done2[1].payload.outcome], ['applied', 'applied']);
    assert.ok(events.length > 0 && events2.length > 0, 'each sends the day\'s events');
  });

  it('the safety stop: a full file with 10 % of staff missing sends nothing, reaches Catch; accept lets it through', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-state-'));
    const cut = path.join(dir, 'cut', 'GO_123_GDW_GOF_20261124_00000005.DAT');
    fs.mkdirSync(path.dirname(cut), { recursive: true });
    await writeGoFile(cut, 'GDW', [...fullFileRecords(trust, 'GDW')].filter((r) => !(typeof r.personId === 'string' && Number(r.personId) % 10 === 1)).map((r) => (r.recordType === 'HDR' ? { ...r, filename: path.basename(cut) } : r)));
    await helper.load(nodes(), onTab(flow(folder)));
    const events = collect('events');
    const alerts = collect('alerts');
    const caught = collect('caught');
    const done = collect('done');
    send(names[0], { ticket: 0 });
    await waitFor(() => done.length === 1);
    (helper.getNode('read') as RedNode).receive({ payload: cut, esrClaim: { ticket: 'cut', token: 'cut-token' } });
    await waitFor(() => caught.length === 1);
    assert.equal(caught[0].error.code ?? caught[0].topic, 'CHANGES_SAFETY_STOP');
    assert.equal(caught[0].esrClaim, undefined, 'the alert does not fail the file');
    assert.equal(alerts[0].payload.code, 'CHANGES_SAFETY_STOP');
    assert.equal(alerts[0].payload.leavers, 20);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(events.length, 0, 'nothing sent');
    assert.equal(done.length, 1, 'not confirmed');
    (helper.getNode('changes') as RedNode).receive({ topic: 'accept' });
    await waitFor(() => done.length === 2);
    assert.deepEqual(done[1].esrClaim, { ticket: 'cut', token: 'cut-token' });
    assert.equal(events.filter((m) => m.payload.kind === 'leaver').length, 20);
    // The file's audit record will tell the stop and the analyst's decision (codes noted under its claim's token).
    assert.deepEqual(takeFileFacts('cut-token')?.codes, ['CHANGES_SAFETY_STOP', 'CHANGES_ACCEPTED']);
  });

  it('a gap: alert output and Catch, the file held (not confirmed), and a refresh request (GDR) for the hub', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-state-'));
    await helper.load(nodes(), onTab(flow(folder, { gaps: 'hold', refresh: 'onGap' })));
    const alerts = collect('alerts');
    const caught = collect('caught');
    const refresh = collect('refresh');
    const done = collect('done');
    send(names[0], 0);
    await waitFor(() => done.length === 1);
    send(names[1], 1);
    await waitFor(() => done.length === 2);
    send(names[3], 3); // sequence 4 after 2
    await waitFor(() => refresh.length === 1 && caught.length === 1);
    assert.equal(alerts[0].payload.code, 'CHANGES_SEQUENCE_GAP');
    assert.deepEqual(alerts[0].payload.missing, [3]);
    assert.match(caught[0].error.message, /CHANGES_SEQUENCE_GAP/);
    assert.match(refresh[0].filename, /^GO_123_GDW_GDR_\d{8}_00000001\.DAT$/);
    assert.equal(refresh[0].payload.toString('latin1'), `HDR~${refresh[0].filename}~${addDays(trust.date, 1).replace(/-/g, '')} 000000`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(done.length, 2, 'held: not confirmed');
    send(names[2], 2);
    await waitFor(() => done.length === 4);
    assert.deepEqual(done.slice(2).map((m) => m.esrClaim), [2, 3], 'the missing file, then the held one');
  });

  it('no value reaches a status, an alert, an error or the log (sentinels), through a baseline, changes, a gap and a stop', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-changes-state-'));
    await helper.load([...nodes(), coreNode('common/25-status.js')], onTab([
      ...flow(folder, { gaps: 'hold', refresh: 'onGap' }),
      { id: 's', type: 'status', scope: ['changes'], wires: [['statuses']] },
      { id: 'statuses', type: 'helper' },
    ]));
    const alerts = collect('alerts');
    const caught = collect('caught');
    const statuses = collect('statuses');
    const done = collect('done');
    const events = collect('events');
    const person = (id: number) => [
      { recordType: 'PRA', personId: `P${id}`, effectiveStartDate: '2020-01-01', firstName: Sentinels.next(), lastName: Sentinels.next(), dateOfBirth: '1980-01-01', nationalInsuranceNumber: Sentinels.next(), officeEMailAddress: Sentinels.next(), employeeNumber: Sentinels.next() },
      { recordType: 'ASA', personId: `P${id}`, assignmentId: `A${id}`, effectiveStartDate: '2020-01-01', grade: Sentinels.next(), positionId: Sentinels.next(), organisationId: Sentinels.next(), supervisorPersonId: Sentinels.next() },
    ];
    const file = (seq: number, extract: 'full' | 'changes', records: Record<string, unknown>[]) => {
      const name = `GO_123_GDW_GO${extract === 'full' ? 'F' : 'C'}_20261120_${String(seq).padStart(8, '0')}.DAT`;
      const id = `file-${seq}-${Math.random()}`;
      (helper.getNode('changes') as RedNode).receive({ payload: records, topic: 'batch', parts: { id, index: 0, count: 1 }, esr: { name, vpd: '123', subtype: 'GDW', extract, sequence: seq, layout: 'go-gdw' }, esrClaim: seq });
    };
    file(1, 'full', Array.from({ length: 20 }, (_, i) => person(i)).flat());
    await waitFor(() => done.length === 1);
    file(2, 'changes', [...person(3), ...person(25), { recordType: 'PRD', personId: 'P4' }]);
    await waitFor(() => done.length === 2);
    file(4, 'changes', person(5)); // a gap: held, refresh request
    await waitFor(() => caught.length >= 1);
    file(3, 'changes', person(6));
    await waitFor(() => done.length === 4);
    file(5, 'full', Array.from({ length: 10 }, (_, i) => person(i)).flat()); // half the staff gone: the safety stop
    await waitFor(() => alerts.some((a) => a.payload.code === 'CHANGES_SAFETY_STOP'));
    (helper.getNode('changes') as RedNode).receive({ topic: 'discard' });
    await waitFor(() => caught.some((m) => /CHANGES_DISCARDED/.test(m.error.message)));
    (helper.getNode('changes') as RedNode).receive({ payload: { recordType: 'PRA', lastName: Sentinels.next() } }); // not esr-read's
    await waitFor(() => caught.some((m) => /CHANGES_BAD_INPUT/.test(m.error.message)));
    assert.ok(events.length > 0 && JSON.stringify(events.map((m) => m.payload)).includes('Qz'), 'values do travel in the events');
    const texts = [
      ...caught.map((m) => `${m.error?.message} ${m.error?.code ?? ''}`),
      ...statuses.map((m) => String(m.status?.text ?? '')),
      ...alerts.map((m) => JSON.stringify(m.payload)),
      ...done.map((m) => JSON.stringify(m.payload)),
      ...helper.log().args.map((a) => JSON.stringify(a)),
    ];
    Sentinels.assertNoneIn(texts, 'esr-changes');
  });
});
