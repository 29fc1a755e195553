/**
 * esr-map's dialog in a real browser (Debian's Chromium, playwright-core, a real Node-RED 5): a CSV lookup's encoding
 * is offered, kept when the dialog is saved, and used by *Try it*.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { EDITOR_SKIP, startEditor, type Editor } from '../support/editor';

describe('esr-map lookups in the editor', { skip: EDITOR_SKIP }, () => {
  let editor: Editor;
  let page: Page;
  let csv: string;

  before(async () => {
    editor = await startEditor({
      prepare: (userDir) => {
        csv = path.join(userDir, 'grades.csv');
        fs.writeFileSync(csv, Buffer.from([...Buffer.from('code,name\nB5,'), 0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x0a])); // Müller in Windows-1252
      },
    });
    page = editor.page;
  });

  after(async () => {
    await editor?.close();
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
