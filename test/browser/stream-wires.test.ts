/**
 * The editor warns when a stream-mode esr-sftp-in has more than one wire (Node-RED sends a copy of the message down
 * every wire after the first, and a copy of a stream cannot be read): the node is flagged, a notification says why,
 * the dialog shows it; one wire, or Buffer output, is fine. Debian's Chromium against a real Node-RED 5.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../support/sshd';
import { ROOT } from '../helpers';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const SKIP = CHROMIUM ? false : 'skipped: Debian chromium is not installed (.ci/run installs it)';

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', () => resolve(0));
  });
}

describe('the editor: a stream wired to more than one node', { skip: SKIP }, () => {
  let red: ChildProcess;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;
  const consoleErrors: string[] = [];

  before(async () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-editor-'));
    fs.mkdirSync(path.join(userDir, 'node_modules', '@esrflow'), { recursive: true });
    fs.symlinkSync(ROOT, path.join(userDir, 'node_modules', '@esrflow', 'node-red-esr'));
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'editor-test', dependencies: { '@esrflow/node-red-esr': '*' } }));
    const port = await freePort();
    fs.writeFileSync(
      path.join(userDir, 'settings.js'),
      `module.exports = ${JSON.stringify({ uiHost: '127.0.0.1', uiPort: port, flowFile: 'flows.json', credentialSecret: 'editor-test', logging: { console: { level: 'warn' } }, editorTheme: { tours: false }, telemetry: { enabled: false } })};`,
    );
    red = spawn(process.execPath, [require.resolve('node-red/red.js'), '-u', userDir, '-s', path.join(userDir, 'settings.js')], { stdio: 'ignore' });
    for (let i = 0; i < 200 && (await get(`http://127.0.0.1:${port}/`)) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (err) => consoleErrors.push(String(err)));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="esr-sftp-in"]', { timeout: 30_000 });
    await page.locator('button:has-text("No, do not enable notifications")').click({ timeout: 2000 }).catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    red?.kill('SIGTERM');
  });

  /** Imports an esr-sftp-in (output as given) and two debug nodes; returns the poller's id. */
  const importFlow = (output: string) =>
    page.evaluate((out) => {
      const RED = (globalThis as any).RED;
      const z = RED.workspaces.active();
      const ids = [RED.nodes.id(), RED.nodes.id(), RED.nodes.id()];
      RED.view.importNodes([
        { id: ids[0], type: 'esr-sftp-in', z, x: 200, y: 100 + Math.random() * 400, name: '', server: '', operation: 'poll', folder: 'Out', folderType: 'str', filename: 'filename', filenameType: 'msg', glob: '*.DAT', output: out, intervalSec: 60, stableSec: 5, maxPerPoll: 10, inOrder: true, after: 'archive', claim: 'rename', archiveFolder: '', errorFolder: '', claimTimeoutMin: 10, maxAttempts: 3, state: '', wires: [[ids[1]]] },
        { id: ids[1], type: 'debug', z, x: 450, y: 100, active: true, tosidebar: true, complete: 'false', wires: [] },
        { id: ids[2], type: 'debug', z, x: 450, y: 200, active: true, tosidebar: true, complete: 'false', wires: [] },
      ], { generateIds: false });
      return ids;
    }, output);
  const wire = (source: string, target: string) =>
    page.evaluate(([s, t]) => {
      const RED = (globalThis as any).RED;
      RED.nodes.addLink({ source: RED.nodes.node(s), sourcePort: 0, target: RED.nodes.node(t) });
    }, [source, target]);
  // A validator that returns a text puts the text among the node's validation errors.
  const outputError = (id: string) => page.evaluate((nid) => ((globalThis as any).RED.nodes.node(nid).validationErrors ?? []).some((e: string) => /one node only/.test(e)), id);
  const notifications = () => page.locator('.red-ui-notification').allInnerTexts();

  it('flags a stream-mode node with a second wire at once, says why, and clears it when the wire goes', async () => {
    const [poller, first, second] = await importFlow('stream');
    assert.equal(await outputError(poller), false, 'one wire is fine');
    await wire(poller, second);
    assert.equal(await outputError(poller), true, 'two wires: the Payload property is flagged');
    await page.waitForSelector('.red-ui-notification:has-text("wire a stream to one node only")', { timeout: 5000 }).catch(() => undefined);
    assert.ok((await notifications()).some((t) => /Wire a stream to one node only/i.test(t) && /2 wires/.test(t)), 'a notification says why');
    // The dialog says it too.
    await page.evaluate((nid) => (globalThis as any).RED.editor.edit((globalThis as any).RED.nodes.node(nid)), poller);
    await page.waitForSelector('#node-dialog-ok', { state: 'visible', timeout: 10_000 });
    await page.waitForTimeout(300);
    assert.equal(await page.locator('.esr-sftp-in-stream-wires').isVisible(), true);
    assert.match(await page.locator('.esr-sftp-in-stream-wires').innerText(), /one node only/);
    await page.click('#node-dialog-cancel');
    await page.waitForSelector('#node-dialog-ok', { state: 'detached', timeout: 10_000 });
    // Unwired again: fine.
    await page.evaluate(([s, t]) => {
      const RED = (globalThis as any).RED;
      for (const l of RED.nodes.filterLinks({ source: RED.nodes.node(s), target: RED.nodes.node(t) })) RED.nodes.removeLink(l);
    }, [poller, second]);
    assert.equal(await outputError(poller), false);
    void first;
    assert.deepEqual(consoleErrors.filter((e) => !/Failed to load resource/.test(e)), []);
  });

  it('a Buffer-mode node may have many wires', async () => {
    const [poller, , second] = await importFlow('buffer');
    await wire(poller, second);
    assert.equal(await outputError(poller), false);
  });
});
