/**
 * Status dots: each node shows its own state. The connection's state (connecting, connected, ...) reaches every
 * node that uses it, but a transfer only the node that asked for it; a node's own error turns its status red with
 * the error's code and keeps it red until that node next succeeds. Real Node-RED, real sshd, status seen through
 * a core Status node.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatBytes, sessionStatus, OwnStatus } from '../../nodes/shared/status';
import type { Node, NodeAPI, NodeStatus } from '../../nodes/shared/node-red';
import { messagesFor } from '../../nodes/shared/messages';
import { SSHD_SKIP, startSshd, type TestSshd } from '../support/sshd';
import { NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type FlowNode, type HelperNode, type RedNode } from '../support/node-red';

type Msg = Record<string, any>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('maps connecting, connected, transferring with bytes, disconnected and errors', () => {
  const t = messagesFor({ _: (key: string) => key } as unknown as NodeAPI, 'esr-sftp-server');
  assert.deepEqual(
    [
      sessionStatus({ state: 'connecting' }, t),
      sessionStatus({ state: 'connected' }, t),
      sessionStatus({ state: 'transferring', operation: 'put', bytes: 5 * 1024 * 1024 + 1 }, t),
      sessionStatus({ state: 'disconnected' }, t),
      sessionStatus({ state: 'error', code: 'HOST_KEY_MISMATCH' }, t),
    ],
    [
      { fill: 'yellow', shape: 'ring', text: 'connecting' },
      { fill: 'green', shape: 'dot', text: 'connected' },
      { fill: 'blue', shape: 'dot', text: 'put 5.0 MB' },
      { fill: 'grey', shape: 'ring', text: 'disconnected' },
      { fill: 'red', shape: 'ring', text: 'HOST_KEY_MISMATCH' },
    ],
  );
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(2048), '2.0 kB');
});

it("a node's own error stays until it succeeds; passing states wait behind it; updates are throttled", async () => {
  const shown: NodeStatus[] = [];
  const closers: (() => void)[] = [];
  const node = { status: (s: NodeStatus) => shown.push(s), on: (_e: string, f: () => void) => closers.push(f) } as unknown as Node;
  const own = new OwnStatus(node, 100);
  own.show({ fill: 'green', shape: 'dot', text: 'connected' });
  own.fail(Object.assign(new Error('x'), { code: 'NO_SUCH_FILE' }), 'error');
  await sleep(150);
  own.show({ fill: 'blue', shape: 'dot', text: 'get 1.0 kB' });
  own.show({ fill: 'grey', shape: 'ring', text: 'disconnected' });
  await sleep(150);
  assert.deepEqual(shown.at(-1), { fill: 'red', shape: 'ring', text: 'NO_SUCH_FILE' }, 'still red');
  own.succeed();
  await sleep(150);
  assert.deepEqual(shown.at(-1), { fill: 'grey', shape: 'ring', text: 'disconnected' }, 'the last passing state once it succeeded');
  // Per-record churn: many changes in one interval make at most a couple of updates, the last state winning.
  const before = shown.length;
  for (let i = 0; i < 1000; i++) {
    if (i % 2) own.succeed();
    else own.fail(Object.assign(new Error('x'), { code: 'BAD_RECORD' }), 'error');
  }
  own.fail(Object.assign(new Error('x'), { code: 'BAD_RECORD' }), 'error');
  await sleep(150);
  assert.ok(shown.length - before <= 2, `${shown.length - before} updates`);
  assert.deepEqual(shown.at(-1), { fill: 'red', shape: 'ring', text: 'BAD_RECORD' });
  closers.forEach((f) => (f as (r: boolean, d: () => void) => void)(false, () => undefined));
});

it('a success per record that changes nothing costs no status work (no state is rebuilt or compared)', async () => {
  const shown: NodeStatus[] = [];
  const closers: (() => void)[] = [];
  const node = { status: (s: NodeStatus) => shown.push(s), on: (_e: string, f: () => void) => closers.push(f) } as unknown as Node;
  const own = new OwnStatus(node, 50);
  own.succeed({ fill: 'green', shape: 'dot', text: 'ok' });
  await sleep(120); // past the interval: the state shown is the current one
  const stringify = JSON.stringify;
  let compared = 0;
  JSON.stringify = ((...args: Parameters<typeof stringify>) => (compared++, stringify(...args))) as typeof stringify;
  try {
    for (let i = 0; i < 10_000; i++) own.succeed();
  } finally {
    JSON.stringify = stringify;
  }
  assert.ok(compared <= 1, `${compared} status comparisons for 10000 records`);
  own.fail(Object.assign(new Error('x'), { code: 'BAD_RECORD' }), 'error');
  own.succeed();
  await sleep(120);
  assert.deepEqual(shown.at(-1), { fill: 'green', shape: 'dot', text: 'ok' }, 'a success after an error still clears it');
  closers.forEach((f) => (f as (r: boolean, d: () => void) => void)(false, () => undefined));
});

it('counts read "1 record", "1 error" (i18next plurals), in the en-US fallback and through Node-RED\'s i18n', async () => {
  const fallback = messagesFor({ _: (key: string) => key } as unknown as NodeAPI, 'esr-read');
  assert.equal(fallback('status.done', { count: 1 }), '1 record');
  assert.equal(fallback('status.done', { count: 2 }), '2 records');
  assert.equal(fallback('status.errorCount', { count: 1 }), '1 error');
  assert.equal(fallback('status.errorCount', { count: 2 }), '2 errors');
  const write = messagesFor({ _: (key: string) => key } as unknown as NodeAPI, 'esr-write');
  assert.equal(write('status.written', { file: 'TA_1.DAT', count: 1 }), 'TA_1.DAT: 1 record');

  const root = path.join(__dirname, '..', '..', '..');
  const packageName = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string }).name;
  const { i18n } = require('@node-red/util') as { i18n: { init(s: unknown): Promise<void>; registerMessageCatalog(ns: string, dir: string, file: string): Promise<void>; _(k: string, p?: unknown): string } };
  await i18n.init({ lang: 'en-US' });
  await i18n.registerMessageCatalog(`${packageName}/esr-read`, path.join(root, 'nodes', 'esr-read', 'locales'), 'esr-read.json');
  const red = messagesFor({ _: (k: string, p?: unknown) => i18n._(k, p) } as unknown as NodeAPI, 'esr-read');
  assert.equal(red('status.done', { count: 1 }), '1 record');
  assert.equal(red('status.progressPercent', { count: 1, percent: 50 }), '1 record (50%)');
  const doneWithErrors = (records: number, errors: number) => red('status.doneWithErrors', { records: red('status.done', { count: records }), errors: red('status.errorCount', { count: errors }) });
  assert.equal(doneWithErrors(1, 1), '1 record, 1 error');
  assert.equal(doneWithErrors(4, 2), '4 records, 2 errors');
});

describe('status per node in Node-RED', { skip: NODE_RED_SKIP }, () => {
  before(async () => new Promise<void>((resolve) => helper.startServer(resolve)));
  afterEach(async () => helper.unload());
  after(async () => new Promise<void>((resolve) => helper.stopServer(resolve)));

  /** The statuses each node showed, in order, through a core Status node (all nodes of the tab). */
  const statusesBy = (): Record<string, NodeStatus[]> => {
    const by: Record<string, NodeStatus[]> = {};
    (helper.getNode('statuses') as HelperNode).on('input', (m: Msg) => (by[m.status.source.id] ??= []).push({ fill: m.status.fill, shape: m.status.shape, text: m.status.text }));
    return by;
  };
  const statusNodes: FlowNode[] = [{ id: 'status', type: 'status', scope: null, wires: [['statuses']] }, { id: 'statuses', type: 'helper' }];

  it('esr-map: a failed message turns it red, the next good one clears it, and records make no status each', async () => {
    await helper.load([nodeFile('esr-map')], onTab([{ id: 'map', type: 'esr-map', rules: [{ target: 'x', template: '{{a}}' }], wires: [['out']] }, { id: 'out', type: 'helper' }, { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [[]] }, ...statusNodes]));
    const by = statusesBy();
    const map = helper.getNode('map') as RedNode;
    map.receive({ payload: 'not a record' });
    await waitFor(() => (by.map ?? []).length === 1);
    assert.equal(by.map[0].fill, 'red');
    map.receive({ payload: { a: 1 } });
    await waitFor(() => by.map.length === 2);
    assert.equal(by.map[1].fill, undefined, 'cleared');
    for (let i = 0; i < 50; i++) map.receive({ payload: { a: i } });
    await sleep(600);
    assert.equal(by.map.length, 2, 'no status per record');
  });

  describe('SFTP nodes on one connection', { skip: SSHD_SKIP }, () => {
    let sshd: TestSshd;
    let folderNo = 0;
    before(async () => {
      sshd = await startSshd();
    });
    after(async () => sshd?.stop());

    const server = (): FlowNode => ({ id: 'srv', type: 'esr-sftp-server', host: '127.0.0.1', port: sshd.port, username: sshd.username, root: sshd.root, hostFingerprint: sshd.fingerprint, timeoutSec: 5 });
    const credentials = () => ({ srv: { privateKey: sshd.encryptedKey, passphrase: sshd.passphrase } });
    const local = (...p: string[]) => path.join(sshd.root, ...p);
    const fresh = () => {
      const folder = `Status${++folderNo}`;
      fs.mkdirSync(local(folder, 'A'), { recursive: true });
      fs.mkdirSync(local(folder, 'B'), { recursive: true });
      return folder;
    };
    const poller = (id: string, folder: string, wires: string[], extra: Record<string, unknown> = {}): FlowNode => ({
      id, type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder, folderType: 'str', glob: '*.DAT', output: 'buffer', intervalSec: 3600, stableSec: 0, maxPerPoll: 10, after: 'archive', claimTimeoutMin: 10, maxAttempts: 3, wires: [wires], ...extra,
    });
    const gets = (list: NodeStatus[] = []) => list.filter((s) => /^(get|put) /.test(s.text ?? '')).map((s) => s.text);

    it('two pollers each show their own download; an upload node shows its put, never a get, and its own error only', async () => {
      const folder = fresh();
      fs.writeFileSync(local(folder, 'A', 'a.DAT'), Buffer.alloc(3000, 'a'));
      const flow: FlowNode[] = [
        server(),
        poller('pa', `${folder}/A`, ['outA']),
        poller('pb', `${folder}/B`, ['outB']),
        { id: 'up', type: 'esr-sftp-out', server: 'srv', operation: 'put', folder: `${folder}/Up`, folderType: 'str', filename: 'filename', filenameType: 'msg', ifExists: 'fail', mkdirs: true, wires: [['outUp']] },
        { id: 'outA', type: 'helper' }, { id: 'outB', type: 'helper' }, { id: 'outUp', type: 'helper' },
        { id: 'catch', type: 'catch', scope: ['up'], uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper' },
        ...statusNodes,
      ];
      await helper.load([nodeFile('esr-sftp-server'), nodeFile('esr-sftp-in'), nodeFile('esr-sftp-out')], onTab(flow), credentials());
      const by = statusesBy();
      const next = (id: string) => new Promise<Msg>((resolve) => (helper.getNode(id) as HelperNode).once('input', resolve));
      await next('outA');
      await sleep(400); // the connection reports progress at most every 250 ms
      fs.writeFileSync(local(folder, 'B', 'b.DAT'), Buffer.alloc(7000, 'b'));
      const gotB = next('outB');
      (helper.getNode('pb') as RedNode).receive({ topic: 'poll' });
      await gotB;
      await sleep(400);
      const put = next('outUp');
      (helper.getNode('up') as RedNode).receive({ filename: 'up.DAT', payload: Buffer.alloc(5000, 'u') });
      await put;
      await sleep(400);
      assert.deepEqual([...new Set(gets(by.pa))], ['get 2.9 kB'], JSON.stringify(by.pa));
      assert.deepEqual([...new Set(gets(by.pb))], ['get 6.8 kB'], JSON.stringify(by.pb));
      assert.ok(gets(by.up).every((s) => s!.startsWith('put ')), JSON.stringify(by.up));
      assert.deepEqual(by.up.at(-1), { fill: 'green', shape: 'dot', text: 'put up.DAT' });
      assert.ok(by.pa.some((s) => s.text === 'connected') && by.up.some((s) => s.text === 'connected'), 'the connection state reaches every node');

      // The upload node's own error is its own: red with the code, the pollers untouched; the next put clears it.
      const caught = new Promise<Msg>((resolve) => (helper.getNode('caught') as HelperNode).once('input', resolve));
      (helper.getNode('up') as RedNode).receive({ filename: 'up.DAT', payload: 'again' });
      await caught;
      await waitFor(() => by.up.at(-1)!.fill === 'red');
      assert.deepEqual(by.up.at(-1), { fill: 'red', shape: 'ring', text: 'EEXIST' });
      await sleep(400);
      assert.ok(![...by.pa, ...by.pb].some((s) => s.fill === 'red'), 'not on the pollers');
      (helper.getNode('up') as RedNode).receive({ filename: 'up2.DAT', payload: 'x' });
      await waitFor(() => by.up.at(-1)!.text === 'put up2.DAT');
    });

    it('a poller with a wrong folder goes red with the code and stays red while others work, until the folder is there', async () => {
      const folder = fresh();
      const flow: FlowNode[] = [
        server(),
        poller('bad', `${folder}/Missing`, ['outBad'], { intervalSec: 1 }),
        poller('good', `${folder}/A`, ['outGood']),
        { id: 'outBad', type: 'helper' }, { id: 'outGood', type: 'helper' },
        ...statusNodes,
      ];
      await helper.load([nodeFile('esr-sftp-server'), nodeFile('esr-sftp-in')], onTab(flow), credentials());
      const by = statusesBy();
      const red = () => (by.bad ?? []).findIndex((s) => s.fill === 'red');
      await waitFor(() => red() >= 0);
      assert.deepEqual(by.bad[red()], { fill: 'red', shape: 'ring', text: 'NO_SUCH_FILE' });
      // The neighbour downloads a file on the same connection.
      fs.writeFileSync(local(folder, 'A', 'a.DAT'), Buffer.alloc(3000, 'a'));
      const got = new Promise<Msg>((resolve) => (helper.getNode('outGood') as HelperNode).once('input', resolve));
      (helper.getNode('good') as RedNode).receive({ topic: 'poll' });
      await got;
      await sleep(2500); // two more polls of the missing folder
      const after = by.bad.slice(red());
      assert.ok(after.every((s) => s.fill === 'red' && s.text === 'NO_SUCH_FILE'), JSON.stringify(by.bad));
      fs.mkdirSync(local(folder, 'Missing'));
      await waitFor(() => by.bad.at(-1)!.fill !== 'red', 5000);
      assert.equal(by.bad.at(-1)!.text, 'connected');
    });

    it('a failed (junk) file turns the poller red with the code, and it stays red until a file goes through', async () => {
      const folder = fresh();
      const junk = 'GO_123_GDW_GOC_20261120_00000002.DAT';
      const good = 'GO_123_GDW_GOC_20261120_00000003.DAT';
      fs.writeFileSync(local(folder, 'A', junk), 'junk\n');
      const flow: FlowNode[] = [
        server(),
        poller('in', `${folder}/A`, ['read'], { intervalSec: 1 }),
        { id: 'read', type: 'esr-read', layout: 'auto', lenient: false, input: 'payload', mode: 'record', filename: 'filename', filenameType: 'msg', wires: [[], [], ['in']] },
        { id: 'catch', type: 'catch', scope: ['read'], uncaught: false, wires: [['in']] },
        poller('other', `${folder}/B`, ['outOther']),
        { id: 'outOther', type: 'helper' },
        ...statusNodes,
      ];
      await helper.load([nodeFile('esr-sftp-server'), nodeFile('esr-sftp-in'), nodeFile('esr-read')], onTab(flow), credentials());
      const by = statusesBy();
      const failedAt = () => (by.in ?? []).findIndex((s) => s.fill === 'red');
      await waitFor(() => failedAt() >= 0);
      const failed = by.in[failedAt()];
      assert.equal(failed.shape, 'ring');
      assert.match(failed.text!, new RegExp(`^failed: ${junk} \\([A-Z_]+\\)$`), 'the file and the code');
      assert.ok(fs.existsSync(local(folder, 'A', 'error', junk)));
      // Another poller's download on the same connection, and more (empty) polls, leave it red.
      fs.writeFileSync(local(folder, 'B', 'b.DAT'), Buffer.alloc(3000, 'b'));
      const got = new Promise<Msg>((resolve) => (helper.getNode('outOther') as HelperNode).once('input', resolve));
      (helper.getNode('other') as RedNode).receive({ topic: 'poll' });
      await got;
      await sleep(2500);
      assert.ok(by.in.slice(failedAt()).every((s) => s.fill === 'red'), JSON.stringify(by.in));
      // A good file goes through: green again.
      fs.writeFileSync(local(folder, 'A', good), `HDR~${good}~20261120 010203~123~20261119 000000~20261120 000000~01\nPRD~1\nTRL~3\n`);
      await waitFor(() => fs.existsSync(local(folder, 'A', 'archive', good)), 5000);
      await waitFor(() => by.in.at(-1)!.fill === 'green', 2000);
      assert.equal(by.in.at(-1)!.text, `done: ${good}`);
    });
  });
});
