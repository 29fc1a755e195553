/**
 * The editor warns when a stream-mode esr-sftp-in has more than one wire (Node-RED sends a copy of the message down
 * every wire after the first, and a copy of a stream cannot be read): the node is flagged, a notification says why,
 * the dialog shows it; one wire, or Buffer output, is fine. Debian's Chromium against a real Node-RED 5.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { EDITOR_SKIP, startEditor, type Editor } from '../support/editor';

describe('the editor: a stream wired to more than one node', { skip: EDITOR_SKIP }, () => {
  let editor: Editor;
  let page: Page;
  let consoleErrors: string[];

  before(async () => {
    editor = await startEditor();
    ({ page, consoleErrors } = editor);
  });

  after(async () => {
    await editor?.close();
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
