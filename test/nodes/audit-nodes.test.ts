/**
 * The audit trail and the missing-file watchdog in a real Node-RED runtime against a real sshd: a good, a bad and a
 * retried file polled by esr-sftp-in, read by esr-read, confirmed or failed (Catch) back into the poller; esr-audit
 * sends one message per step of each file, with the facts (size, SHA-256, delivery id, attempt, counts per record type,
 * the header's period) and never a value of the sentinel files. The watchdog alerts a day with no file once, across a
 * redeploy, and not when a file came.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import { PassThrough } from 'node:stream';
import { main } from '../../core/cli/esr';
import { loadLayout } from '../../core/codec';
import { SSHD_SKIP } from '../support/sshd';
import { sshdAndRuntime } from '../support/sshd-runtime';
import { Sentinels } from '../support/sentinels';
import { collect, coreNode, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type FlowNode, type HelperNode } from '../support/node-red';

type Msg = Record<string, any>;
const nodes = () => [nodeFile('esr-sftp-server'), nodeFile('esr-sftp-in'), nodeFile('esr-read'), nodeFile('esr-audit'), coreNode('common/25-catch.js'), coreNode('common/25-status.js'), coreNode('function/10-switch.js'), coreNode('storage/10-file.js')];

/** Runs the esr command line; its exit code and what it printed. */
async function esr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(args, { stdin: new PassThrough(), stdout, stderr });
  return { code, stdout: out, stderr: err };
}

/** A GO change file whose every value is a sentinel (its typed fields are rejected lines), whole or cut short. */
function sentinelGo(name: string, whole: boolean): Buffer {
  const pra = loadLayout('go-gdw').byCode.get('PRA')!;
  const row = ['PRA', ...Array.from({ length: pra.maxCount - 1 }, () => Sentinels.next())].join('~');
  const lines = [`HDR~${name}~20261120 010203~123~20261119 000000~20261120 000000~01`, row, row];
  return Buffer.from(whole ? `${lines.join('\n')}\nTRL~${lines.length + 1}\n` : `${lines.join('\n')}\n`, 'latin1');
}

describe('audit trail and missing-file watchdog in Node-RED', { skip: SSHD_SKIP || NODE_RED_SKIP }, () => {
  const ctx = sshdAndRuntime();
  let folderNo = 0;

  const server = (): FlowNode => ({ id: 'srv', type: 'esr-sftp-server', host: '127.0.0.1', port: ctx.sshd.port, username: ctx.sshd.username, root: ctx.sshd.root, hostFingerprint: ctx.sshd.fingerprint, timeoutSec: 5 });
  const credentials = () => ({ srv: { privateKey: ctx.sshd.encryptedKey, passphrase: ctx.sshd.passphrase } });
  const fresh = () => {
    const folder = `Audit${++folderNo}-${process.pid}`;
    fs.mkdirSync(path.join(ctx.sshd.root, folder, 'Out'), { recursive: true });
    return folder;
  };

  it('a good, a bad and a retried file: one message per step, with facts and no value', async () => {
    const folder = fresh();
    const good = 'GO_123_GDW_GOC_20261120_00000007.DAT';
    const bad = 'GO_123_GDW_GOC_20261120_00000008.DAT';
    const retried = 'GO_123_GDW_GOC_20261120_00000009.DAT';
    const bytes: Record<string, Buffer> = { [good]: sentinelGo(good, true), [bad]: sentinelGo(bad, false), [retried]: sentinelGo(retried, true) };
    for (const [name, b] of Object.entries(bytes)) fs.writeFileSync(path.join(ctx.sshd.root, folder, 'Out', name), b);
    const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'esr-audit-')), 'audit.jsonl');
    const flow: FlowNode[] = [
      server(),
      // Retry after 0.03 min (1.8 s) without a confirmation; polls every second.
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', glob: '*.DAT', output: 'buffer', intervalSec: 1, stableSec: 0, maxPerPoll: 10, inOrder: false, after: 'archive', claimTimeoutMin: 0.03, maxAttempts: 3, wires: [['lose']] },
      // The flow loses the retried file's first delivery (as a crash between nodes would): its claim times out.
      { id: 'lose', type: 'switch', property: `filename = "${retried}" and sftp.attempt = 1`, propertyType: 'jsonata', rules: [{ t: 'true' }, { t: 'else' }], checkall: 'false', outputs: 2, wires: [[], ['read']] },
      { id: 'read', type: 'esr-read', layout: 'auto', lenient: false, input: 'payload', mode: 'record', batchSize: 1000, grouping: 'blocks', date: '', dateType: 'str', filename: 'filename', filenameType: 'msg', wires: [[], [], ['in']] },
      { id: 'catch', type: 'catch', scope: ['read'], uncaught: false, wires: [['in', 'caught']] },
      { id: 'caught', type: 'helper' },
      // The README's recipe: esr-audit's first output appended to a JSON-lines file by a core file node.
      { id: 'audit', type: 'esr-audit', scope: 'all', wires: [['events', 'log'], ['alerts']] },
      { id: 'log', type: 'file', filename: logFile, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none' },
      { id: 'events', type: 'helper' },
      { id: 'alerts', type: 'helper' },
      { id: 'status', type: 'status', scope: null, wires: [['statuses']] },
      { id: 'statuses', type: 'helper' },
    ];
    await helper.load(nodes(), onTab(flow), credentials());
    const events = collect('events');
    const caught = collect('caught');
    const statuses = collect('statuses');
    const of = (name: string) => events.filter((m) => m.payload.file === name).map((m) => m.payload);
    await waitFor(() => of(good).some((e) => e.outcome === 'done') && of(bad).some((e) => e.outcome === 'failed') && of(retried).some((e) => e.outcome === 'done'), 20_000);

    const sha = (name: string) => createHash('sha256').update(bytes[name]).digest('hex');
    // The good file: taken, then done (archived) with what esr-read found.
    assert.deepEqual(of(good).map((e) => e.outcome), ['taken', 'done']);
    const done = of(good)[1];
    assert.equal(done.size, bytes[good].length);
    assert.equal(done.sha256, sha(good));
    assert.match(done.deliveryId, /^[0-9a-f]{32}$/);
    assert.equal(done.deliveryId, of(good)[0].deliveryId);
    assert.equal(done.attempt, 1);
    assert.equal(done.movedTo, `${folder}/Out/archive/${good}`);
    assert.deepEqual(done.read.records, { HDR: 1, PRA: 2, TRL: 1 });
    assert.equal(done.read.sound, true);
    assert.equal(done.read.layout, 'go-gdw');
    assert.ok(done.read.errorCount > 0 && done.read.problems.INVALID_DATE > 0, 'the sentinel rows were rejected: counted by code');
    assert.deepEqual(done.period, { from: '2026-11-19T00:00:00', to: '2026-11-20T00:00:00' });
    assert.equal(done.source.ledger, `${ctx.sshd.username}@127.0.0.1:${ctx.sshd.port}/${folder}/Out *.DAT`);
    assert.equal(events.find((m) => m.payload === done)?.topic, 'done');

    // The bad file (no trailer): esr-read fails it to Catch, the poller moves it to the error folder.
    assert.deepEqual(of(bad).map((e) => e.outcome), ['taken', 'failed']);
    const failed = of(bad)[1];
    assert.equal(failed.movedTo, `${folder}/Out/error/${bad}`);
    assert.equal(failed.sha256, sha(bad));
    assert.equal(failed.read.sound, false);
    assert.ok(failed.read.problems.MISSING_TRAILER >= 1, JSON.stringify(failed.read.problems));
    assert.deepEqual(failed.codes, ['MISSING_TRAILER'], 'the code the file failed with');
    assert.ok(fs.existsSync(path.join(ctx.sshd.root, folder, 'Out', 'error', bad)));
    assert.ok(caught.some((m) => m.filename === bad));

    // The retried file: its first delivery was lost, its claim timed out, the second was done.
    assert.deepEqual(of(retried).map((e) => [e.outcome, e.attempt, e.reason]), [['taken', 1, undefined], ['retried', 1, 'timeout'], ['taken', 2, undefined], ['done', 2, undefined]]);
    assert.equal(new Set(of(retried).map((e) => e.deliveryId)).size, 1, 'one delivery id for every delivery');
    assert.equal(of(retried)[3].sha256, sha(retried));
    assert.ok(fs.existsSync(path.join(ctx.sshd.root, folder, 'Out', 'archive', retried)));

    // What happened to file X: the command line reads the JSON-lines log the file node wrote.
    await waitFor(() => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').trim().split('\n').length === events.length);
    const story = await esr(['audit', '--file', retried, logFile]);
    assert.equal(story.code, 0, story.stderr);
    assert.match(story.stdout, new RegExp(`^${retried}\n`));
    assert.match(story.stdout, /retried\s+attempt 1\s+\(no confirmation in time\)/);
    assert.match(story.stdout, /outcome: done after 2 attempts \(now .*archive/);
    assert.match(story.stdout, /PRA 2/);
    const badStory = await esr(['audit', '--file', '*_00000008.DAT', logFile]);
    assert.match(badStory.stdout, /outcome: FAILED \(MISSING_TRAILER\): the flow failed it; moved to .*error/);
    assert.match(badStory.stdout, /MISSING_TRAILER/);
    const none = await esr(['audit', '--file', 'GO_999*', logFile]);
    assert.equal(none.code, 1);
    const asJson = await esr(['audit', '--json', logFile]);
    assert.equal(asJson.stdout.trim().split('\n').length, events.length);

    // No value anywhere: audit events, the log file, the command line, Catch, statuses, the runtime's log.
    const texts = [
      fs.readFileSync(logFile, 'utf8'),
      story.stdout,
      badStory.stdout,
      ...events.map((m) => JSON.stringify(m)),
      ...caught.map((m) => `${m.error?.message}`),
      ...statuses.map((m) => String(m.status?.text ?? '')),
      ...helper.log().args.map((a: unknown) => JSON.stringify(a)),
    ];
    Sentinels.assertNoneIn(texts, 'audit trail');
  });

  it('stream mode: the SHA-256 comes from esr-read, which hashed the bytes as it read them', async () => {
    const folder = fresh();
    const name = 'GO_123_GDW_GOC_20261120_00000007.DAT';
    const content = sentinelGo(name, true);
    fs.writeFileSync(path.join(ctx.sshd.root, folder, 'Out', name), content);
    const flow: FlowNode[] = [
      server(),
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', glob: '*.DAT', output: 'stream', intervalSec: 3600, stableSec: 0, maxPerPoll: 10, after: 'delete', claimTimeoutMin: 10, maxAttempts: 3, wires: [['read']] },
      { id: 'read', type: 'esr-read', layout: 'auto', lenient: false, input: 'payload', mode: 'person', batchSize: 1000, grouping: 'blocks', date: '', dateType: 'str', filename: 'filename', filenameType: 'msg', wires: [[], [], ['in']] },
      { id: 'audit', type: 'esr-audit', scope: 'flow', wires: [['events'], []] },
      { id: 'events', type: 'helper' },
    ];
    await helper.load(nodes(), onTab(flow), credentials());
    const events = collect('events');
    await waitFor(() => events.some((m) => m.payload.outcome === 'done'));
    const done = events.find((m) => m.payload.outcome === 'done')!.payload;
    assert.equal(done.sha256, createHash('sha256').update(content).digest('hex'));
    assert.deepEqual(done.read.records, { HDR: 1, PRA: 2, TRL: 1 });
    assert.equal(done.movedTo, undefined, 'deleted: it went nowhere');
    Sentinels.assertNoneIn(events.map((m) => JSON.stringify(m)), 'audit trail (stream)');
  });

  it('the watchdog: no file by the time set raises FILE_MISSING once (also after a redeploy); a file taken, or one there still settling, keeps it quiet', async () => {
    const empty = fresh();
    const filled = fresh();
    const arriving = fresh();
    fs.writeFileSync(path.join(ctx.sshd.root, filled, 'Out', 'GO_123_GDW_GOC_20261120_00000007.DAT'), 'HDR~x\n');
    fs.writeFileSync(path.join(ctx.sshd.root, arriving, 'Out', 'GO_123_GDW_GOC_20261120_00000008.DAT'), 'HDR~x\n');
    // 00:00 every day: the deadline has always passed.
    const poller = (id: string, folder: string, stableSec = 0): FlowNode => ({ id, type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', glob: '*.DAT', output: 'buffer', intervalSec: 3600, stableSec, maxPerPoll: 10, after: 'archive', claimTimeoutMin: 10, maxAttempts: 3, expectBy: '00:00', expectDays: 'daily', expectTimeZone: 'Europe/London', wires: [[]] });
    const flow: FlowNode[] = [
      server(),
      poller('empty', empty),
      poller('filled', filled),
      // A file there but not yet taken (still settling: the first poll after a start only sees it): not missing.
      poller('arriving', arriving, 3600),
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
      { id: 'audit', type: 'esr-audit', scope: 'flow', wires: [[], ['alerts']] },
      { id: 'alerts', type: 'helper' },
      { id: 'status', type: 'status', scope: ['empty'], wires: [['statuses']] },
      { id: 'statuses', type: 'helper' },
    ];
    await helper.load(nodes(), onTab(flow), credentials());
    const alerts = collect('alerts');
    const caught = collect('caught');
    const statuses = collect('statuses');
    await waitFor(() => alerts.length >= 1 && caught.length >= 1 && statuses.some((m) => /no file by 00:00/.test(m.status?.text)));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(alerts.length, 1, 'only the empty folder alerts, not one with a file still settling');
    const alert = alerts[0].payload;
    assert.equal(alert.code, 'FILE_MISSING');
    assert.equal(alert.timeZone, 'Europe/London');
    assert.equal(alert.expectedBy, '00:00');
    assert.equal(alert.file, '*.DAT');
    assert.equal(alert.day, new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date()));
    assert.equal(caught.length, 1);
    assert.equal(caught[0].error.source.id, 'empty');
    assert.equal(caught[0].alert.code, 'FILE_MISSING');
    assert.match(caught[0].error.message, /FILE_MISSING/);
    assert.equal(statuses.at(-1)?.status?.fill, 'red');

    // A redeploy (the runtime's state store keeps the day alerted): no second alert today.
    await helper.unload();
    await helper.load(nodes(), onTab(flow), credentials());
    const again = collect('alerts');
    const caughtAgain = collect('caught');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(again.length, 0);
    assert.equal(caughtAgain.length, 0);
  });
});
