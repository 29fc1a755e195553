/** The example flows run for real: the rostering example against a test sshd and a stand-in roster system. */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { goFile, goLine, ROOT } from '../helpers';
import { SSHD_SKIP, startSshd, type TestSshd } from '../support/sshd';
import { NODE_RED_PACKAGE, NODE_RED_SKIP, helper, nodeFile, waitFor, type FlowNode, type RedNode } from '../support/node-red';

/** A core node module of the Node-RED runtime under test (node-red-4 keeps its own @node-red packages). */
const coreNode = (file: string) => {
  const base = path.dirname(require.resolve(`${NODE_RED_PACKAGE}/package.json`));
  const nested = path.join(base, 'node_modules', '@node-red', 'nodes', 'core', file);
  return require(fs.existsSync(nested) ? nested : path.join(base, '..', '@node-red', 'nodes', 'core', file));
};

describe('the rostering example flow', { skip: SSHD_SKIP || NODE_RED_SKIP }, () => {
  let sshd: TestSshd;
  let roster: http.Server;
  const posted: Record<string, unknown>[] = [];
  let failNext = false;

  before(async () => {
    sshd = await startSshd();
    roster = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (failNext) {
          failNext = false;
          res.statusCode = 500;
          return res.end('no');
        }
        posted.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => roster.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  after(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await new Promise((resolve) => roster.close(resolve));
    await sshd?.stop();
  });

  it('posts every person to the roster system, then archives the file; a failed post sends the file to the error folder', async () => {
    const env = { ESR_HUB_HOST: '127.0.0.1', ESR_HUB_PORT: String(sshd.port), ESR_HUB_USER: sshd.username, ESR_HUB_FINGERPRINT: sshd.fingerprint, ROSTER_URL: `http://127.0.0.1:${(roster.address() as { port: number }).port}/staff` };
    Object.assign(process.env, env);
    const name = 'GO_123_GDW_GOF_20261120_00000001.DAT';
    fs.mkdirSync(path.join(sshd.root, 'Out'), { recursive: true });
    const PRA = (id: string, last: string) => goLine('PRA', 44, { 2: id, 3: '20200101', 5: `E${id}`, 7: last, 8: 'Ann' });
    fs.writeFileSync(path.join(sshd.root, 'Out', name), Buffer.from(goFile([PRA('1', 'Müller'), goLine('ASA', 51, { 2: '1', 3: 'A1', 4: '20200101', 8: '2001' }), PRA('2', "O'Brien")], '\n', name), 'latin1'));
    const flow = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'rostering-staff-list.json'), 'utf8')) as FlowNode[];
    const poll = flow.find((n) => n.id === 'poll-go')!;
    poll.stableSec = 0; // the test's file is complete at once
    flow.find((n) => n.id === 'esr-hub')!.root = sshd.root; // the hub's Out/ is the login folder; here it is the test root
    await helper.load(
      [nodeFile('esr-sftp-server'), nodeFile('esr-sftp-in'), nodeFile('esr-read'), nodeFile('esr-map'), coreNode('function/10-switch.js'), coreNode('function/15-change.js'), coreNode('network/21-httprequest.js'), coreNode('sequence/17-split.js'), coreNode('common/21-debug.js'), coreNode('common/90-comment.js')],
      flow,
      { 'esr-hub': { privateKey: sshd.privateKey } },
    );
    await waitFor(() => fs.existsSync(path.join(sshd.root, 'Out', 'archive', name)), 15_000);
    assert.deepEqual(posted.map((p) => [p.staffNumber, p.surname, p.assignment]), [['E1', 'Müller', '2001'], ['E2', "O'Brien", undefined]]);

    // A record the roster system refuses: the claim goes back with msg.error, and the file to the error folder.
    const second = 'GO_123_GDW_GOC_20261121_00000002.DAT';
    fs.writeFileSync(path.join(sshd.root, 'Out', second), Buffer.from(goFile([PRA('3', 'Jones')], '\n', second), 'latin1'));
    failNext = true;
    (helper.getNode('poll-go') as RedNode).receive({ topic: 'poll' });
    await waitFor(() => fs.existsSync(path.join(sshd.root, 'Out', 'error', second)), 15_000);
    assert.ok(!fs.existsSync(path.join(sshd.root, 'Out', 'archive', second)));
  });
});
