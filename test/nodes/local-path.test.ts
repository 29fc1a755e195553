/**
 * esr-read's "file path" input reads only inside one base folder (esrLocalBase in settings.js, else Node-RED's user
 * directory): `..` and symbolic links that lead out of it are refused with PATH_OUTSIDE_BASE, in a real Node-RED.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { goFile, goLine } from '../helpers';
import { confinedPath, OUTSIDE_BASE } from '../../nodes/shared/local-path';
import { collect, NODE_RED_SKIP, coreNode, helper, nodeFile, onTab, waitFor, type FlowNode, type RedNode } from '../support/node-red';

const NAME = 'GO_123_GDW_GOC_20261120_00000007.DAT';
const FILE = goFile([goLine('PRA', 44, { 2: '1001', 3: '20200101', 5: 'E1001', 7: 'Ames', 8: 'Ann' })], '\n', NAME);
const settings = (s?: Record<string, unknown>): Record<string, unknown> => helper.settings(s);

describe('local paths are confined to a base folder', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-base-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-outside-'));
  fs.writeFileSync(path.join(base, NAME), FILE);
  fs.writeFileSync(path.join(outside, 'secret'), 'not for a message');
  fs.symlinkSync(path.join(outside, 'secret'), path.join(base, 'link'));
  fs.symlinkSync(outside, path.join(base, 'dir-link'));
  fs.writeFileSync(path.join(base, '..notparent'), FILE);
  const says = (p: string) => `${p} is outside`;

  it('accepts a file inside, named absolutely or relative to the base (also a name starting with ..)', async () => {
    assert.equal(await confinedPath(base, path.join(base, NAME), says), fs.realpathSync(path.join(base, NAME)));
    assert.equal(await confinedPath(base, NAME, says), fs.realpathSync(path.join(base, NAME)));
    assert.equal(await confinedPath(base, '..notparent', says), fs.realpathSync(path.join(base, '..notparent')));
  });

  it('refuses ../ and absolute paths outside, and links that lead out, with PATH_OUTSIDE_BASE', async () => {
    for (const p of [`../${path.basename(outside)}/secret`, path.join(outside, 'secret'), '/etc/shadow', `${base}/../${path.basename(outside)}/secret`, 'link', 'dir-link/secret']) {
      await assert.rejects(confinedPath(base, p, says), (err: NodeJS.ErrnoException) => err.code === OUTSIDE_BASE && err.message === says(p), p);
    }
  });

  it('tells nothing of files outside: a missing file outside is refused the same way', async () => {
    await assert.rejects(confinedPath(base, path.join(outside, 'no-such-file'), says), { code: OUTSIDE_BASE });
    await assert.rejects(confinedPath(base, 'no-such-file', says), { code: 'ENOENT' });
  });
});

describe('esr-read "file path" input in Node-RED', { skip: NODE_RED_SKIP }, () => {
  const original = { ...settings() };
  const userDir = String(original.userDir);
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-outside-'));
  fs.writeFileSync(path.join(outside, NAME), FILE);
  fs.writeFileSync(path.join(userDir, NAME), FILE);
  fs.mkdirSync(path.join(userDir, 'esr-in'), { recursive: true });
  fs.writeFileSync(path.join(userDir, 'esr-in', NAME), FILE);
  fs.symlinkSync(path.join(outside, NAME), path.join(userDir, 'esr-in', 'escape.DAT'));

  before(async () => new Promise<void>((resolve) => helper.startServer(resolve)));
  afterEach(async () => {
    await helper.unload();
    settings(original);
  });
  after(async () => new Promise<void>((resolve) => helper.stopServer(resolve)));

  const flow: FlowNode[] = [
    { id: 'read', type: 'esr-read', layout: 'go-gdw', lenient: false, input: 'path', mode: 'record', filename: 'filename', filenameType: 'msg', wires: [[], [], ['summary']] },
    { id: 'summary', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];
  const attempt = async (paths: string[]) => {
    await helper.load([nodeFile('esr-read'), coreNode('common/25-catch.js')], onTab(flow));
    const [summary, caught] = [collect('summary'), collect('caught')];
    for (const p of paths) (helper.getNode('read') as RedNode).receive({ payload: p });
    await waitFor(() => summary.length + caught.length === paths.length);
    return { summary, caught };
  };

  it('by default reads inside the user directory only', async () => {
    const { summary, caught } = await attempt([path.join(userDir, NAME), NAME, path.join(outside, NAME), `../${path.basename(outside)}/${NAME}`, 'esr-in/escape.DAT']);
    assert.equal(summary.length, 2, 'the file inside, named absolutely and relatively');
    assert.ok(summary.every((m) => m.payload.records.PRA === 1));
    assert.deepEqual(caught.map((m) => m.error.code), [OUTSIDE_BASE, OUTSIDE_BASE, OUTSIDE_BASE]);
    assert.match(caught[0].error.message, /is outside the folder a message may name a file in .*esrLocalBase in settings\.js/);
    assert.ok(caught.every((m) => !m.error.message.includes('PRA~')), 'no content in the error');
  });

  it('esrLocalBase in settings.js narrows (or moves) the base folder', async () => {
    settings({ ...original, esrLocalBase: 'esr-in' });
    const { summary, caught } = await attempt([path.join(userDir, 'esr-in', NAME), path.join(userDir, NAME)]);
    assert.equal(summary.length, 1);
    assert.deepEqual(caught.map((m) => m.error.code), [OUTSIDE_BASE]);
  });
});
