/** The hub nodes over FTPS in a real Node-RED runtime (node-red-node-test-helper) against a real ProFTPD. */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FTPSD_SKIP, REFUSE, startFtpsd, type TestFtpsd } from '../support/ftpsd';
import { collect, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type FlowNode, type RedNode } from '../support/node-red';

const serverNode = nodeFile('esr-sftp-server');
const inNode = nodeFile('esr-sftp-in');
const outNode = nodeFile('esr-sftp-out');

describe('hub nodes over FTPS in Node-RED', { skip: FTPSD_SKIP || NODE_RED_SKIP }, () => {
  let ftpsd: TestFtpsd;
  let folderNo = 0;

  before(async () => {
    ftpsd = await startFtpsd();
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await ftpsd?.stop();
  });

  const server = (extra: Record<string, unknown> = {}): FlowNode => ({
    id: 'srv', type: 'esr-sftp-server', protocol: 'ftps', ftpTls: 'explicit', host: '127.0.0.1', port: ftpsd.port, username: ftpsd.username,
    certFingerprint: ftpsd.fingerprint256, timeoutSec: 5, ...extra,
  });
  const credentials = () => ({ srv: { password: ftpsd.password } });
  const fresh = () => {
    const folder = `Node${++folderNo}`;
    fs.mkdirSync(path.join(ftpsd.root, folder, 'Out'), { recursive: true });
    return folder;
  };
  const local = (...p: string[]) => path.join(ftpsd.root, ...p);

  it('polls a file, emits it, archives it once confirmed, and puts the answer file in In/', async () => {
    const folder = fresh();
    const name = 'GO_123_GDW_GOC_20261120_00000007.DAT';
    fs.writeFileSync(local(folder, 'Out', name), 'HDR~x\n');
    const flow: FlowNode[] = [
      server(),
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', glob: '*.DAT', output: 'buffer', intervalSec: 3600, stableSec: 0, maxPerPoll: 10, after: 'archive', claimTimeoutMin: 10, maxAttempts: 3, wires: [['got']] },
      { id: 'got', type: 'helper' },
      { id: 'put', type: 'esr-sftp-out', server: 'srv', operation: 'put', folder: `${folder}/In`, folderType: 'str', filename: 'filename', filenameType: 'msg', ifExists: 'fail', mkdirs: true, wires: [['done']] },
      { id: 'done', type: 'helper' },
    ];
    await helper.load([serverNode, inNode, outNode], onTab(flow), credentials());
    const got = collect('got');
    await waitFor(() => got.length === 1);
    assert.equal(got[0].filename, name);
    assert.equal((got[0].payload as Buffer).toString(), 'HDR~x\n');
    (helper.getNode('in') as RedNode).receive(got[0]); // the message back confirms it
    await waitFor(() => fs.existsSync(local(folder, 'Out', 'archive', name)));
    const done = collect('done');
    (helper.getNode('put') as RedNode).receive({ payload: 'ATT,1', filename: 'TA_123_SEL_MN2708_00000001.DAT' });
    await waitFor(() => done.length === 1);
    assert.equal(fs.readFileSync(local(folder, 'In', 'TA_123_SEL_MN2708_00000001.DAT'), 'utf8'), 'ATT,1');
    assert.equal(done[0].sftp.bytes, 5);
  });

  it('a changed certificate reaches a Catch node, and the password is never logged', async () => {
    const flow: FlowNode[] = [
      server({ certFingerprint: ftpsd.otherFingerprint256 }),
      { id: 'list', type: 'esr-sftp-in', server: 'srv', operation: 'list', folder: '.', folderType: 'str', wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ];
    await helper.load([serverNode, inNode], onTab(flow), credentials());
    const caught = collect('caught');
    (helper.getNode('list') as RedNode).receive({});
    await waitFor(() => caught.length === 1);
    assert.match(caught[0].error.message, /CERT_MISMATCH/);
    assert.ok(caught[0].error.message.includes(ftpsd.fingerprint256), 'shows what the server presented');
    const logs = JSON.stringify(helper.log().args);
    assert.ok(!logs.includes(ftpsd.password));
    assert.ok(!ftpsd.log().includes(ftpsd.password), 'the password never reached the server');
  });

  it('"test connection" shows the certificate to pin, then reports what the account may do in each folder', async () => {
    await helper.load([serverNode], onTab([server({ certFingerprint: '' })]), credentials());
    const stored = { password: '__PWRD__' };
    const dialog = { id: 'srv', protocol: 'ftps', ftpTls: 'explicit', host: '127.0.0.1', port: ftpsd.port, username: ftpsd.username };
    const unpinned = await helper.request().post('/esr-sftp-server/test').send({ ...dialog, certFingerprint: '', credentials: stored });
    assert.equal(unpinned.body.ok, false);
    assert.equal(unpinned.body.code, 'CERT_NOT_TRUSTED');
    assert.equal(unpinned.body.fingerprint, ftpsd.fingerprint256);
    // Pinned in the dialog only: the deployed node trusts no certificate, so its stored password is not sent.
    const pinnedInDialog = await helper.request().post('/esr-sftp-server/test').send({ ...dialog, certFingerprint: ftpsd.fingerprint256, credentials: stored });
    assert.equal(pinnedInDialog.body.code, 'AUTH_FAILED');
    await helper.unload();
    await helper.load([serverNode], onTab([server()]), credentials());
    const folder = fresh();
    fs.writeFileSync(local(folder, 'Out', 'GO_1.DAT'), 'x');
    process.env.ESR_TEST_FOLDER = folder; // folders named by ${ENV} are resolved as the runtime resolves them
    const ok = await helper.request().post('/esr-sftp-server/test').send({ ...dialog, certFingerprint: ftpsd.fingerprint256, folders: ['${ESR_TEST_FOLDER}/Out'], tryWrites: true, credentials: stored });
    delete process.env.ESR_TEST_FOLDER;
    assert.equal(ok.body.ok, true, JSON.stringify(ok.body));
    assert.equal(ok.body.protocol, 'ftps');
    assert.deepEqual(ok.body.access.map((a: { folder: string }) => a.folder), ['.', `${folder}/Out`]);
    assert.deepEqual(ok.body.access[1], { folder: `${folder}/Out`, list: 'yes', stat: 'yes', read: 'yes', write: 'yes', rename: 'yes', delete: 'yes' });
    assert.deepEqual(fs.readdirSync(local(folder, 'Out')), ['GO_1.DAT'], 'the probe left nothing');
    assert.ok(!JSON.stringify(ok.body).includes(ftpsd.password));
  });

  it('"test connection" on an account that may not rename reports it, rather than failing', async () => {
    await ftpsd.restart({ refuse: REFUSE.rename });
    try {
      await helper.load([serverNode], onTab([server()]), credentials());
      const ok = await helper.request().post('/esr-sftp-server/test').send({ id: 'srv', protocol: 'ftps', host: '127.0.0.1', port: ftpsd.port, username: ftpsd.username, certFingerprint: ftpsd.fingerprint256, tryWrites: true, credentials: { password: '__PWRD__' } });
      assert.equal(ok.body.ok, true);
      assert.deepEqual(ok.body.access[0].rename, { no: 'PERMISSION_DENIED' });
      assert.equal(ok.body.access[0].write, 'yes');
    } finally {
      await ftpsd.restart({});
    }
  });

  it('the rostering example is switched to FTPS by its environment (ESR_HUB_PROTOCOL=ftps)', async () => {
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'rostering.json'), 'utf8')) as FlowNode[];
    const hubConfig = example.find((n) => n.type === 'esr-sftp-server')!;
    const env = { ESR_HUB_PROTOCOL: 'ftps', ESR_HUB_HOST: '127.0.0.1', ESR_HUB_PORT: String(ftpsd.port), ESR_HUB_USER: ftpsd.username, ESR_HUB_CERT_FINGERPRINT: ftpsd.fingerprint256 };
    Object.assign(process.env, env);
    try {
      const folder = fresh();
      fs.writeFileSync(local(folder, 'Out', 'GO_1.DAT'), 'x');
      const flow: FlowNode[] = [
        hubConfig,
        { id: 'list', type: 'esr-sftp-in', server: hubConfig.id, operation: 'list', folder: `${folder}/Out`, folderType: 'str', wires: [['listed']] },
        { id: 'listed', type: 'helper' },
      ];
      await helper.load([serverNode, inNode], onTab(flow), { [hubConfig.id as string]: { password: ftpsd.password } });
      const listed = collect('listed');
      (helper.getNode('list') as RedNode).receive({});
      await waitFor(() => listed.length === 1);
      assert.deepEqual(listed[0].payload.map((e: { name: string }) => e.name), ['GO_1.DAT']);
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
    }
  });

  it('plain FTP is refused unless it was chosen', async () => {
    const flow: FlowNode[] = [
      server({ ftpTls: 'none', allowPlainFtp: false }),
      { id: 'list', type: 'esr-sftp-in', server: 'srv', operation: 'list', folder: '.', folderType: 'str', wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ];
    await helper.load([serverNode, inNode], onTab(flow), credentials());
    const caught = collect('caught');
    (helper.getNode('list') as RedNode).receive({});
    await waitFor(() => caught.length === 1);
    assert.match(caught[0].error.message, /PLAIN_FTP_REFUSED/);
  });
});
