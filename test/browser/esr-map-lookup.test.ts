/**
 * esr-map's dialog in a real browser (Debian's Chromium, playwright-core, a real Node-RED 5): a CSV lookup's encoding
 * is offered, kept when the dialog is saved, and used by *Try it*.
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

describe('esr-map lookups in the editor', { skip: SKIP }, () => {
  let red: ChildProcess;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-map-editor-'));
  const csv = path.join(userDir, 'grades.csv');

  before(async () => {
    fs.writeFileSync(csv, Buffer.from([...Buffer.from('code,name\nB5,'), 0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x0a])); // Müller in Windows-1252
    fs.mkdirSync(path.join(userDir, 'node_modules', '@esrflow'), { recursive: true });
    fs.symlinkSync(ROOT, path.join(userDir, 'node_modules', '@esrflow', 'node-red-esr'));
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'esr-map-editor-test', dependencies: { '@esrflow/node-red-esr': '*' } }));
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
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="esr-map"]', { timeout: 30_000 });
    await page.locator('button:has-text("No, do not enable notifications")').click({ timeout: 2000 }).catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    red?.kill('SIGTERM');
  });

  it('offers UTF-8, Windows-1252 and ISO-8859-1 for a CSV lookup, keeps the choice, and Try it reads the file so', async () => {
    const id = await page.evaluate((file) => {
      const RED = (globalThis as any).RED;
      const node = { id: 'm1', type: 'esr-map', z: RED.workspaces.active(), x: 200, y: 100, rules: [{ target: 'n', template: '{{#lookup.grades}}{{g}}{{/lookup.grades}}' }], lookups: [{ name: 'grades', source: 'csv', file, header: true }], wires: [[]] };
      RED.nodes.import([node]);
      RED.editor.edit(RED.nodes.node('m1'));
      return 'm1';
    }, csv);
    await page.waitForSelector('#node-dialog-ok', { state: 'visible', timeout: 10_000 });
    const select = page.locator('.esr-map-lookup-encoding').first();
    await select.waitFor({ state: 'visible' });
    assert.deepEqual(await select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), ['utf-8', 'windows-1252', 'iso-8859-1']);
    assert.equal(await select.inputValue(), 'utf-8', 'UTF-8 unless chosen');
    await page.fill('#esr-map-sample', '{"g":"B5"}');
    await page.click('#esr-map-try');
    await page.waitForFunction(() => /not UTF-8/.test(document.querySelector('#esr-map-result')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await select.selectOption('windows-1252');
    await page.click('#esr-map-try');
    await page.waitForFunction(() => /Müller/.test(document.querySelector('#esr-map-result')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-dialog-ok', { state: 'detached', timeout: 10_000 });
    const saved = await page.evaluate((nid) => (globalThis as any).RED.nodes.node(nid).lookups, id);
    assert.equal(saved[0].encoding, 'windows-1252');
  });
});
