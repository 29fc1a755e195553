/**
 * A large file (200 MB, generated) downloaded as a stream by esr-sftp-in and read by esr-read with the layout
 * detected per file (which looks at the stream's first chunk before reading it), in a real Node-RED, over SFTP and
 * FTPS. The sink counts and keeps nothing. Before issue 14 the SFTP download stalled at a few per cent (ETIMEDOUT).
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fullFileRecords, SyntheticTrust, writeGoFile } from '../../core/synthetic';
import { SSHD_SKIP, startSshd, type TestSshd } from '../support/sshd';
import { FTPSD_SKIP, startFtpsd, type TestFtpsd } from '../support/ftpsd';
import { NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type FlowNode, type RedNode } from '../support/node-red';

const serverNode = nodeFile('esr-sftp-server');
const inNode = nodeFile('esr-sftp-in');
const readNode = nodeFile('esr-read');

const BYTES = Number(process.env.ESR_BIG_TEST_MB || 200) * 1024 * 1024;
const NAME = 'GO_123_GDW_GOF_20261120_00000001.DAT';

/** Counts what reaches it, keeps nothing (the helper's own nodes keep every message). */
const counts = { records: 0, batches: 0, summaries: [] as Record<string, any>[], errors: [] as unknown[] };
function sinkNode(RED: any): void {
  function CountSink(this: any, config: any) {
    RED.nodes.createNode(this, config);
    this.on('input', (msg: any, _send: unknown, done: () => void) => {
      if (msg.topic === 'summary') counts.summaries.push(msg.payload);
      else if (Array.isArray(msg.payload)) {
        counts.batches++;
        counts.records += msg.payload.length;
      } else counts.records++;
      done();
    });
  }
  RED.nodes.registerType('count-sink', CountSink);
}

describe('a 200 MB stream through esr-sftp-in → esr-read (layout auto) in Node-RED', { skip: NODE_RED_SKIP || (SSHD_SKIP && FTPSD_SKIP) }, () => {
  let dir: string;
  let file: string;
  let sshd: TestSshd | undefined;
  let ftpsd: TestFtpsd | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-big-'));
    file = path.join(dir, NAME);
    await writeGoFile(file, 'GDW', fullFileRecords(new SyntheticTrust({ staff: 1e9 }), 'GDW'), BYTES);
    if (!SSHD_SKIP) sshd = await startSshd();
    if (!FTPSD_SKIP) ftpsd = await startFtpsd();
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await sshd?.stop();
    await ftpsd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const lines = () => {
    // esr-read sends every line as a record, the header and the trailer too.
    let n = 0;
    const buf = fs.readFileSync(file);
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
    return n;
  };

  async function run(server: FlowNode, credentials: Record<string, unknown>, root: string): Promise<void> {
    fs.mkdirSync(path.join(root, 'Big'), { recursive: true });
    fs.copyFileSync(file, path.join(root, 'Big', NAME));
    counts.records = 0;
    counts.batches = 0;
    counts.summaries = [];
    counts.errors = [];
    const flow: FlowNode[] = [
      server,
      { id: 'get', type: 'esr-sftp-in', server: 'srv', operation: 'get', folder: 'Big', folderType: 'str', filename: 'filename', filenameType: 'msg', output: 'stream', wires: [['read']] },
      { id: 'read', type: 'esr-read', layout: 'auto', input: 'payload', mode: 'batch', batchSize: 5000, lenient: false, wires: [['sink'], ['sink'], ['sink']] },
      { id: 'sink', type: 'count-sink' },
    ];
    await helper.load([serverNode, inNode, readNode, sinkNode], onTab(flow), credentials);
    (helper.getNode('read') as RedNode).on('call:error', (call: { args: unknown[] }) => counts.errors.push(call.args[0]));
    (helper.getNode('get') as RedNode).on('call:error', (call: { args: unknown[] }) => counts.errors.push(call.args[0]));
    (helper.getNode('get') as RedNode).receive({ filename: NAME });
    await waitFor(() => counts.summaries.length > 0 || counts.errors.length > 0, 240_000);
    assert.deepEqual(counts.errors.map(String), []);
    assert.equal(counts.summaries[0].sound, true);
    assert.equal(counts.records, lines());
    fs.rmSync(path.join(root, 'Big'), { recursive: true, force: true });
  }

  it('over SFTP', { skip: SSHD_SKIP }, async () => {
    const s = sshd!;
    await run(
      { id: 'srv', type: 'esr-sftp-server', host: '127.0.0.1', port: s.port, username: s.username, root: s.root, hostFingerprint: s.fingerprint, timeoutSec: 5 },
      { srv: { privateKey: s.encryptedKey, passphrase: s.passphrase } },
      s.root,
    );
  });

  it('over FTPS', { skip: FTPSD_SKIP }, async () => {
    const f = ftpsd!;
    await run(
      { id: 'srv', type: 'esr-sftp-server', protocol: 'ftps', ftpTls: 'explicit', host: '127.0.0.1', port: f.port, username: f.username, certFingerprint: f.fingerprint256, timeoutSec: 5 },
      { srv: { password: f.password } },
      f.root,
    );
  });
});
