/**
 * The editor in a real browser: Debian's Chromium driven by playwright-core against a real Node-RED 5 with the pack
 * from the working tree. Every node is in the palette under ESR, every edit dialog opens and saves without a
 * console error, each example flow imports and deploys, and each node's help shows.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { SSHD_SKIP, startSshd } from '../support/sshd';
import { EDITOR_SKIP, startEditor, type Editor } from '../support/editor';
import { ROOT } from '../helpers';
import { exampleEnv } from '../../demo/demo';
import { seedDemo } from '../../demo/seed';

const TYPES = ['esr-sftp-server', 'esr-state', 'esr-sftp-in', 'esr-sftp-out', 'esr-read', 'esr-write', 'esr-map', 'esr-lease', 'esr-changes', 'esr-audit'];
/** Configuration nodes: not in the palette, their dialogs open from a node's. */
const CONFIG = ['esr-sftp-server', 'esr-state'];
const EXAMPLES = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.json'));

describe('the editor in Chromium', { skip: EDITOR_SKIP }, () => {
  let editor: Editor;
  let port: number;
  let page: Page;
  let consoleErrors: string[];

  before(async () => {
    editor = await startEditor({
      // The examples' environment as the demo sets it, with a hub and trust systems that are not there.
      prepare: async (userDir) => {
        const seeded = await seedDemo(path.join(userDir, 'hub'), path.join(userDir, 'exports'), { staff: 10 });
        const hub = { host: '127.0.0.1', port: 1, username: 'demo', fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
        return exampleEnv(hub, seeded, (system) => `http://127.0.0.1:1/${system}`, path.join(userDir, 'roster'));
      },
    });
    ({ page, port, consoleErrors } = editor);
  });

  after(async () => {
    await editor?.close();
  });

  it('shows every node in the palette under ESR (the config nodes among the configuration nodes)', async () => {
    for (const type of TYPES.filter((t) => !CONFIG.includes(t))) {
      const category = await page.evaluate((t) => (globalThis as any).$(`.red-ui-palette-node[data-palette-type="${t}"]`).closest('.red-ui-palette-category').attr('id'), type);
      assert.match(String(category), /ESR/i, `${type} is in ${category}`);
    }
    // Named in the catalogue, not spelled out from the type ("esr - sftp - in").
    const labels = await page.evaluate(() => (globalThis as any).$('.red-ui-palette-node[data-palette-type^="esr-"] .red-ui-palette-label').toArray().map((el: HTMLElement) => el.innerText.trim()));
    assert.deepEqual(labels.filter((l: string) => / - |^esr /.test(l)), [], 'palette labels');
    assert.ok(labels.includes('ESR hub in') && labels.includes('ESR hub out'), labels.join(', '));
    for (const type of CONFIG) assert.equal(await page.evaluate((t) => (globalThis as any).RED.nodes.getType(t).category, type), 'config');
  });

  it("draws every node with the pack's own icon, which Node-RED serves", async () => {
    for (const type of TYPES.filter((t) => !CONFIG.includes(t))) {
      const icon = await page.evaluate((t) => (globalThis as any).RED.nodes.getType(t).icon, type);
      const drawn = await page.evaluate((t) => (globalThis as any).$(`.red-ui-palette-node[data-palette-type="${t}"] .red-ui-palette-icon`).css('background-image'), type);
      assert.ok(String(drawn).includes(`/icons/@esrflow/node-red-esr/${icon}`), `${type} is drawn with ${drawn}`);
      // Node-RED answers an icon it does not know with its default one: compare what it serves with the pack's file.
      const served = await page.evaluate(async (url) => (await fetch(url)).text(), `icons/@esrflow/node-red-esr/${icon}`);
      assert.equal(served, fs.readFileSync(path.join(ROOT, 'icons', icon), 'utf8'), `${type}: ${icon} is served`);
    }
  });

  const addNode = (type: string) =>
    page.evaluate((t) => {
      const RED = (globalThis as any).RED;
      const def = RED.nodes.getType(t);
      const node: Record<string, unknown> = { id: RED.nodes.id(), type: t, x: 300, y: 200, z: RED.workspaces.active() };
      for (const [k, v] of Object.entries(def.defaults)) node[k] = JSON.parse(JSON.stringify((v as { value: unknown }).value));
      RED.view.importNodes([node], { generateIds: false });
      RED.editor.edit(RED.nodes.node(node.id));
      return node.id as string;
    }, type);

  it('opens and saves every edit dialog without a console error', async () => {
    for (const type of TYPES.filter((t) => !CONFIG.includes(t))) {
      const before = consoleErrors.length;
      const id = await addNode(type);
      await page.waitForSelector('#node-dialog-ok', { state: 'visible', timeout: 10_000 });
      await page.waitForTimeout(300);
      const dialogText = await page.locator('.red-ui-tray').last().innerText();
      assert.ok(!/esr-[a-z-]+\.label\./.test(dialogText), `${type}: a label is missing from the message catalogue`);
      assert.ok(dialogText.includes('Name'), `${type}: labels come from the en-US catalogue`);
      await page.click('#node-dialog-ok');
      await page.waitForSelector('#node-dialog-ok', { state: 'detached', timeout: 10_000 });
      assert.deepEqual(consoleErrors.slice(before), [], `console errors in the ${type} dialog`);
      assert.ok(await page.evaluate((nid) => !!(globalThis as any).RED.nodes.node(nid), id), `${type} kept after saving`);
    }
  });

  it('creates a server configuration from a node\'s dialog, as an analyst does', async () => {
    const before = consoleErrors.length;
    await addNode('esr-sftp-out');
    await page.waitForSelector('#node-input-btn-server-add', { state: 'visible', timeout: 10_000 });
    await page.click('#node-input-btn-server-add');
    await page.waitForSelector('#node-config-dialog-ok', { state: 'visible', timeout: 10_000 });
    await page.fill('#node-config-input-host', 'hub.example.nhs.uk');
    await page.fill('#node-config-input-username', 'trust123');
    await page.fill('#node-config-input-hostFingerprint', 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    await page.click('#node-config-dialog-ok');
    await page.waitForSelector('#node-config-dialog-ok', { state: 'detached', timeout: 10_000 });
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-dialog-ok', { state: 'detached', timeout: 10_000 });
    const servers = await page.evaluate(() => {
      const RED = (globalThis as any).RED;
      const found: { host: string; username: string }[] = [];
      RED.nodes.eachConfig((n: { type: string; host: string; username: string }) => {
        if (n.type === 'esr-sftp-server') found.push({ host: n.host, username: n.username });
      });
      return found;
    });
    assert.deepEqual(servers, [{ host: 'hub.example.nhs.uk', username: 'trust123' }]);
    assert.deepEqual(consoleErrors.slice(before), []);
  });

  it('switches a server configuration to FTPS: the certificate pin replaces the SSH rows and the port follows', async () => {
    const before = consoleErrors.length;
    await addNode('esr-sftp-in');
    await page.waitForSelector('#node-input-btn-server-add', { state: 'visible', timeout: 10_000 });
    await page.click('#node-input-btn-server-add');
    await page.waitForSelector('#node-config-dialog-ok', { state: 'visible', timeout: 10_000 });
    assert.equal(await page.inputValue('#node-config-input-port'), '22');
    assert.ok(await page.isVisible('#node-config-input-hostFingerprint'));
    assert.ok(!(await page.isVisible('#node-config-input-certFingerprint')));
    await page.selectOption('#node-config-input-protocol', 'ftps');
    assert.ok(await page.isVisible('#node-config-input-certFingerprint'), 'the certificate pin is shown');
    assert.ok(!(await page.isVisible('#node-config-input-hostFingerprint')), 'the host key pin is hidden');
    assert.ok(!(await page.isVisible('#node-config-input-privateKey')), 'no private key for FTPS');
    assert.equal(await page.inputValue('#node-config-input-port'), '21');
    await page.selectOption('#node-config-input-ftpTls', 'implicit');
    assert.equal(await page.inputValue('#node-config-input-port'), '990');
    assert.ok(!(await page.isVisible('#esr-sftp-server-plain-warning')));
    await page.selectOption('#node-config-input-ftpTls', 'none');
    assert.ok(await page.isVisible('#esr-sftp-server-plain-warning'), 'plain FTP is shown as insecure');
    await page.selectOption('#node-config-input-ftpTls', 'explicit');
    await page.fill('#node-config-input-host', 'ftps.example.nhs.uk');
    await page.fill('#node-config-input-username', 'trust456');
    await page.fill('#node-config-input-certFingerprint', 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99');
    await page.click('#node-config-dialog-ok');
    await page.waitForSelector('#node-config-dialog-ok', { state: 'detached', timeout: 10_000 });
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-dialog-ok', { state: 'detached', timeout: 10_000 });
    const saved = await page.evaluate(() => {
      const RED = (globalThis as any).RED;
      let found: Record<string, unknown> | undefined;
      RED.nodes.eachConfig((n: Record<string, unknown>) => {
        if (n.type === 'esr-sftp-server' && n.host === 'ftps.example.nhs.uk') found = { protocol: n.protocol, ftpTls: n.ftpTls, port: n.port, allowPlainFtp: n.allowPlainFtp, valid: n.valid };
      });
      return found;
    });
    assert.deepEqual(saved, { protocol: 'ftps', ftpTls: 'explicit', port: '21', allowPlainFtp: false, valid: true });
    assert.deepEqual(consoleErrors.slice(before), []);
  });

  it("esr-write's VPD is needed for a built-in layout's file name, not for a trust layout file (which may have no file-name pattern)", async () => {
    const valid = await page.evaluate(() => {
      const vpd = (globalThis as any).RED.nodes.getType('esr-write').defaults.vpd;
      const check = (layout: string, v: string) => (vpd.validate ? vpd.validate.call({ layout }, v) : !vpd.required || v !== '');
      return [check('ta', ''), check('ta', '123'), check('file', '')];
    });
    assert.deepEqual(valid, [false, true, true]);
  });

  it('creates a Redis state configuration from esr-write\'s dialog; the URL and password go to credentials', async () => {
    const before = consoleErrors.length;
    await addNode('esr-write');
    await page.waitForSelector('#node-input-btn-state-add', { state: 'visible', timeout: 10_000 });
    await page.click('#node-input-btn-state-add');
    await page.waitForSelector('#node-config-dialog-ok', { state: 'visible', timeout: 10_000 });
    assert.ok(await page.isVisible('#node-config-input-folder'), 'a local folder by default');
    assert.ok(!(await page.isVisible('#node-config-input-url')));
    await page.selectOption('#node-config-input-backend', 'redis');
    assert.ok(!(await page.isVisible('#node-config-input-folder')));
    await page.fill('#node-config-input-url', 'rediss://redis.example.nhs.uk:6380/0');
    await page.fill('#node-config-input-password', 'not-a-real-password');
    await page.click('#node-config-dialog-ok');
    await page.waitForSelector('#node-config-dialog-ok', { state: 'detached', timeout: 10_000 });
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-dialog-ok', { state: 'detached', timeout: 10_000 });
    const states = await page.evaluate(() => {
      const RED = (globalThis as any).RED;
      const found: Record<string, unknown>[] = [];
      RED.nodes.eachConfig((n: Record<string, unknown>) => {
        if (n.type === 'esr-state') found.push({ backend: n.backend, url: n.url, flowText: JSON.stringify(RED.nodes.createCompleteNodeSet(false).find((x: { id: string }) => x.id === n.id)) });
      });
      return found;
    });
    assert.equal(states.length, 1);
    assert.equal(states[0].backend, 'redis');
    assert.ok(!String(states[0].flowText).includes('not-a-real-password') && !String(states[0].flowText).includes('redis.example'), 'secrets are not in the flow');
    assert.deepEqual(consoleErrors.slice(before), []);
  });

  for (const example of EXAMPLES) {
    it(`imports and deploys the example ${example}`, async () => {
      const flow = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', example), 'utf8'));
      const before = consoleErrors.length;
      const invalid = await page.evaluate((f) => {
        const RED = (globalThis as any).RED;
        const earlier = new Set<string>();
        RED.nodes.eachNode((n: { id: string }) => earlier.add(n.id)); // nodes earlier tests left (some incomplete)
        RED.view.importNodes(f, { generateIds: true, addFlow: false });
        // A key an example leaves out (older flows lack newer options) must not mark its node invalid.
        const found: string[] = [];
        RED.nodes.eachNode((n: { id: string; type: string; name?: string; valid?: boolean }) => {
          if (!earlier.has(n.id) && n.valid === false && n.type.startsWith('esr-')) found.push(`${n.type} ${n.name ?? ''}`);
        });
        return found;
      }, flow);
      assert.deepEqual(invalid, [], `${example}: nodes marked invalid on import`);
      const deployed = page.waitForResponse((r) => r.url().endsWith('/flows') && r.request().method() === 'POST', { timeout: 20_000 });
      await page.click('#red-ui-header-button-deploy');
      // Node-RED asks before deploying nodes it finds incomplete (here: the hub key is not pasted yet).
      const confirm = page.locator('.red-ui-notification button:has-text("Confirm deploy")');
      await confirm.click({ timeout: 2000 }).catch(() => undefined);
      const res = await deployed;
      assert.equal(res.status(), 200, await res.text());
      assert.deepEqual(consoleErrors.slice(before), []);
      if (example.startsWith('rostering')) {
        await page.evaluate(() => {
          const RED = (globalThis as any).RED;
          const tab = RED.nodes.getWorkspaceOrder().map((id: string) => RED.nodes.workspace(id)).find((w: { label: string }) => /rostering/i.test(w.label));
          if (tab) RED.workspaces.show(tab.id);
        });
        // The hub is not there: hide the connection errors (the picture is of the flow) and the sidebar, in a wide window.
        await page.setViewportSize({ width: 1800, height: 760 });
        const hideStatus = await page.addStyleTag({ content: '.red-ui-flow-node-status-group { display: none !important; }' });
        await page.evaluate(() => {
          const RED = (globalThis as any).RED;
          (globalThis as any).$('.red-ui-notification').remove();
          RED.actions.invoke('core:toggle-sidebar', false);
        });
        await page.waitForTimeout(700);
        // ESR_SCREENSHOT_DIR=docs/images refreshes the README's picture; by default the test leaves the sources alone.
        const dir = path.resolve(ROOT, process.env.ESR_SCREENSHOT_DIR ?? 'dist/screenshots');
        fs.mkdirSync(dir, { recursive: true });
        await page.locator('#red-ui-workspace-chart').screenshot({ path: path.join(dir, 'example-flow.png') });
        assert.ok(fs.statSync(path.join(dir, 'example-flow.png')).size > 10_000);
        await hideStatus.evaluate((el) => (el as unknown as { remove(): void }).remove());
        await page.evaluate(() => (globalThis as any).RED.actions.invoke('core:toggle-sidebar', true));
        await page.setViewportSize({ width: 1400, height: 900 });
      }
    });
  }

  it('keeps every typed value with its type through open → Done, whatever type it was saved with', async () => {
    // The values Node-RED's types take, as a flow file may hold them (the examples' TA_ name parts are JSONata).
    const samples: Record<string, string> = { str: 'Out/staff', json: '{"sourceSystem":"SEL"}', jsonata: '$string(42)', msg: 'payload.file', flow: 'esrFolder', global: 'esrFolder', env: 'ESR_VPD' };
    const kept: string[] = [];
    for (const type of TYPES.filter((t) => !CONFIG.includes(t))) {
      const fields = await page.evaluate((t) => Object.keys((globalThis as any).RED.nodes.getType(t).defaults).filter((k: string) => k.endsWith('Type') && k !== 'type'), type);
      for (const [kind, value] of Object.entries(samples)) {
        if (!fields.length) continue;
        const id = await page.evaluate(
          ({ t, fields, kind, value }) => {
            const RED = (globalThis as any).RED;
            const def = RED.nodes.getType(t);
            const node: Record<string, unknown> = { id: RED.nodes.id(), type: t, x: 300, y: 300, z: RED.workspaces.active() };
            for (const [k, v] of Object.entries(def.defaults)) node[k] = JSON.parse(JSON.stringify((v as { value: unknown }).value));
            for (const f of fields) Object.assign(node, { [f]: kind, [f.slice(0, -4)]: value });
            RED.view.importNodes([node], { generateIds: false });
            RED.editor.edit(RED.nodes.node(node.id));
            return node.id as string;
          },
          { t: type, fields, kind, value },
        );
        await page.waitForSelector('#node-dialog-ok', { state: 'visible', timeout: 10_000 });
        await page.click('#node-dialog-ok');
        await page.waitForSelector('#node-dialog-ok', { state: 'detached', timeout: 10_000 });
        const saved = await page.evaluate(({ nid, fields }) => {
          const n = (globalThis as any).RED.nodes.node(nid);
          return fields.map((f: string) => `${f.slice(0, -4)}=${n[f] as string}:${n[f.slice(0, -4)] as string}`);
        }, { nid: id, fields });
        for (const s of saved) if (s !== `${s.split('=')[0]}=${kind}:${value}`) kept.push(`${type} ${kind}: ${s}`);
      }
    }
    assert.deepEqual(kept, [], 'values whose type the dialog changed');
  });

  /** What an analyst sees in the open dialog: literal secrets, empty choices, and inputs or selects too narrow for their text. */
  const dialogProblems = () =>
    page.evaluate(() => {
      const $ = (globalThis as any).$;
      const problems: string[] = [];
      const tray = $('.red-ui-tray').last();
      const canvas = document.createElement('canvas').getContext('2d')!;
      const name = (el: HTMLElement) => '#' + (el.id || $(el).closest('[id]').attr('id') || el.className);
      tray.find('input:visible, textarea:visible, select:visible').each((_: number, el: HTMLInputElement & HTMLSelectElement) => {
        if (el.tagName !== 'SELECT' && (el as HTMLInputElement).type !== 'password' && String(el.value).includes('__PWRD__')) problems.push(`${name(el)} shows __PWRD__`);
        if (/^red-ui-/.test(el.id)) return; // Node-RED's own (e.g. a config node's scope)
        if (el.tagName === 'SELECT' && (el.value === '' || el.selectedIndex < 0) && !Array.from(el.options).some((o) => o.value === '' && o.selected)) {
          problems.push(`${name(el)} shows no choice`); // a key the flow leaves out must show its default
        }
        if (el.tagName === 'SELECT') {
          // The select shows its chosen option: every option must fit in the box (padding and arrow left out).
          const style = getComputedStyle(el);
          canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
          const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 4;
          for (const option of Array.from(el.options)) {
            if (canvas.measureText(option.text).width > room) problems.push(`${name(el)} cuts "${option.text}"`);
          }
        } else if (el.tagName === 'INPUT' && !['checkbox', 'radio', 'hidden', 'button'].includes(el.type)) {
          // Free text (a JSONata expression, a template) scrolls as in any field; a value read at a glance (a port,
          // a number, ${ENV_NAME}) is shown whole.
          const glance = el.clientWidth < 150 || /^\$\{\w+\}$/.test(el.value);
          if (glance && el.scrollWidth > el.clientWidth + 1) problems.push(`${name(el)} cuts its value "${el.value}"`);
        }
      });
      return problems;
    });

  /**
   * What changed in each node from `before` to `after`: positions left out, a Catch node's scope and a link node's links as sets, and a key
   * `before` leaves out that comes back with its type's default (the editor fills defaults in on import; the
   * runtime reads a missing key and its default alike).
   */
  const changes = (before: Record<string, unknown>[], after: Record<string, unknown>[], defaults: Record<string, Record<string, unknown>>) => {
    const found: string[] = [];
    const byId = new Map(after.map((n) => [n.id as string, n]));
    for (const n of before) {
      const m = byId.get(n.id as string);
      if (!m) {
        found.push(`${n.type as string} ${n.id as string} is gone`);
        continue;
      }
      for (const key of new Set([...Object.keys(n), ...Object.keys(m)])) {
        if (['x', 'y', 'w', 'h', 'credentials'].includes(key)) continue;
        let [a, b] = [n[key], m[key]];
        if (!(key in n) && JSON.stringify(b) === JSON.stringify(defaults[n.type as string]?.[key])) continue;
        const isSet = (n.type === 'catch' && key === 'scope') || (/^link (in|out|call)$/.test(n.type as string) && key === 'links');
        if (isSet && Array.isArray(a) && Array.isArray(b)) [a, b] = [[...a].sort(), [...b].sort()];
        if (JSON.stringify(a) !== JSON.stringify(b)) found.push(`${n.type as string} ${n.id as string}.${key}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
      }
    }
    for (const m of after) if (!before.some((n) => n.id === m.id)) found.push(`${m.type as string} ${m.id as string} is new`);
    return found;
  };

  for (const example of EXAMPLES) {
    it(`opens every node of ${example}, clicks Done without a change, deploys: every node's configuration is unchanged`, async () => {
      const url = `http://127.0.0.1:${port}`;
      const flow = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', example), 'utf8')) as Record<string, unknown>[];
      // The hub's password and key stored as the demo stores them: the dialog must not show them, nor lose them.
      const withSecrets = flow.map((n) => (n.type === 'esr-sftp-server' ? { ...n, credentials: { password: 'not-a-real-password', privateKey: 'not-a-real-key' } } : n));
      const put = await fetch(`${url}/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(withSecrets) });
      assert.equal(put.status, 204, await put.text());
      const before = (await (await fetch(`${url}/flows`)).json()) as Record<string, unknown>[];
      await page.reload();
      await page.waitForSelector('.red-ui-palette-node[data-palette-type="esr-read"]', { timeout: 30_000 });
      await page.waitForFunction(() => (globalThis as any).RED.nodes.getWorkspaceOrder().length > 0);
      await page.waitForLoadState('networkidle');
      const errorsBefore = consoleErrors.length;
      const nodes = await page.evaluate(() => {
        const RED = (globalThis as any).RED;
        const found: { id: string; type: string; z?: string; config: boolean }[] = [];
        RED.nodes.eachNode((n: { id: string; type: string; z: string }) => void found.push({ id: n.id, type: n.type, z: n.z, config: false }));
        RED.nodes.eachConfig((n: { id: string; type: string }) => void (n.type.startsWith('esr-') && found.push({ id: n.id, type: n.type, config: true })));
        return found;
      });
      assert.equal(nodes.length, flow.filter((n) => n.type !== 'tab').length, 'every node of the example is in the editor');
      const problems: string[] = [];
      for (const n of nodes) {
        const ok = n.config ? '#node-config-dialog-ok' : '#node-dialog-ok';
        await page.evaluate((node) => {
          const RED = (globalThis as any).RED;
          if (node.config) RED.editor.editConfig('', node.type, node.id);
          else {
            RED.workspaces.show(node.z);
            RED.editor.edit(RED.nodes.node(node.id));
          }
        }, n);
        await page.waitForSelector(ok, { state: 'visible', timeout: 10_000 });
        await page.waitForLoadState('networkidle');
        await page.waitForTimeout(400);
        // The dialog opens at its top (the first rules of a long esr-map show).
        const scrolled = await page.evaluate(() =>
          (globalThis as any)
            .$('.red-ui-tray')
            .last()
            .find('.red-ui-tray-body, .red-ui-editableList-container')
            .toArray()
            .filter((el: HTMLElement) => el.scrollTop > 0).length,
        );
        if (scrolled > 0) problems.push(`${n.type} ${n.id}: the dialog opens scrolled down`);
        if (n.type.startsWith('esr-')) for (const p of await dialogProblems()) problems.push(`${n.type} ${n.id}: ${p}`);
        await page.click(ok);
        await page.waitForSelector(ok, { state: 'detached', timeout: 10_000 });
      }
      await page.evaluate(() => (globalThis as any).RED.nodes.dirty(true));
      const deployed = page.waitForResponse((r) => r.url().endsWith('/flows') && r.request().method() === 'POST', { timeout: 20_000 });
      await page.click('#red-ui-header-button-deploy');
      await page.locator('.red-ui-notification button:has-text("Confirm deploy")').click({ timeout: 2000 }).catch(() => undefined);
      assert.equal((await deployed).status(), 200);
      const after = (await (await fetch(`${url}/flows`)).json()) as Record<string, unknown>[];
      // Kept for a look (or to point another run at): the flow as the editor deployed it.
      const dir = path.resolve(ROOT, 'dist', 'screenshots');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `roundtrip-${example}`), JSON.stringify(after, null, 2));
      const defaults = await page.evaluate((types) => {
        const RED = (globalThis as any).RED;
        return Object.fromEntries(
          types.map((t) => [t, Object.fromEntries(Object.entries(RED.nodes.getType(t)?.defaults ?? {}).map(([k, v]) => [k, (v as { value: unknown }).value]))]),
        );
      }, [...new Set(flow.map((n) => n.type as string))].filter((t) => t !== 'tab'));
      assert.deepEqual(changes(flow, before, {}), [], 'the runtime holds the example as it is');
      assert.deepEqual(changes(before, after, defaults), [], 'open → Done → deploy changed no configuration');
      assert.deepEqual(problems, [], 'what the dialogs show');
      for (const server of flow.filter((n) => n.type === 'esr-sftp-server')) {
        const creds = (await (await fetch(`${url}/credentials/esr-sftp-server/${server.id as string}`)).json()) as Record<string, unknown>;
        assert.deepEqual(creds, { has_password: true, has_privateKey: true, has_passphrase: false }, 'the stored secrets are kept');
      }
      assert.deepEqual(consoleErrors.slice(errorsBefore), []);
    });

    it(`draws no two nodes of ${example} over each other (comments included)`, async () => {
      const flow = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', example), 'utf8')) as Record<string, unknown>[];
      const overlaps: string[] = [];
      for (const tab of flow.filter((n) => n.type === 'tab')) {
        await page.evaluate((id) => (globalThis as any).RED.workspaces.show(id), tab.id as string);
        await page.waitForTimeout(300);
        const boxes = await page.evaluate(() => {
          const $ = (globalThis as any).$;
          return $('#red-ui-workspace-chart g.red-ui-flow-node')
            .toArray()
            .map((g: SVGGElement) => {
              const rect = g.querySelector('rect.red-ui-flow-node') as SVGRectElement | null;
              const r = (rect ?? g).getBoundingClientRect();
              const d = (g as unknown as { __data__?: { id: string; type: string; name?: string } }).__data__;
              return { id: d?.id ?? '?', label: `${d?.type} "${d?.name ?? ''}"`, left: r.left, top: r.top, right: r.right, bottom: r.bottom };
            });
        });
        const onTab = flow.filter((n) => n.z === tab.id && n.x !== undefined).length;
        assert.equal(boxes.length, onTab, `every node of the tab ${tab.label as string} is drawn`);
        for (let i = 0; i < boxes.length; i++) {
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i];
            const b = boxes[j];
            if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps.push(`${tab.label as string}: ${a.id} ${a.label} overlaps ${b.id} ${b.label}`);
          }
        }
      }
      assert.deepEqual(overlaps, []);
    });
  }

  it('pins a host key from Test connection (its fingerprint said once); a stored key shows as "key stored" and is kept', { skip: SSHD_SKIP }, async () => {
    const sshd = await startSshd();
    try {
      const before = consoleErrors.length;
      await addNode('esr-sftp-out');
      await page.waitForSelector('#node-input-btn-server-add', { state: 'visible', timeout: 10_000 });
      await page.click('#node-input-btn-server-add');
      await page.waitForSelector('#node-config-dialog-ok', { state: 'visible', timeout: 10_000 });
      await page.fill('#node-config-input-host', sshd.host);
      await page.fill('#node-config-input-port', String(sshd.port));
      await page.fill('#node-config-input-username', sshd.username);
      await page.fill('#node-config-input-privateKey', sshd.privateKey);
      await page.click('#esr-sftp-server-test');
      await page.waitForFunction(() => /Not connected|Connected/.test((globalThis as any).$('#esr-sftp-server-test-result').text()), undefined, { timeout: 20_000 });
      const said = await page.locator('#esr-sftp-server-test-result').innerText();
      assert.match(said, /no host key is pinned/);
      assert.equal(said.split(sshd.fingerprint).length - 1, 1, `the fingerprint once: ${said}`);
      await page.click('#esr-sftp-server-use-fingerprint');
      assert.equal(await page.inputValue('#node-config-input-hostFingerprint'), sshd.fingerprint);
      await page.click('#node-config-dialog-ok');
      await page.waitForSelector('#node-config-dialog-ok', { state: 'detached', timeout: 10_000 });
      await page.click('#node-dialog-ok');
      await page.waitForSelector('#node-dialog-ok', { state: 'detached', timeout: 10_000 });
      const id = await page.evaluate((host) => {
        let found = '';
        (globalThis as any).RED.nodes.eachConfig((n: { type: string; host: string; id: string }) => {
          if (n.type === 'esr-sftp-server' && n.host === host) found = n.id;
        });
        return found;
      }, sshd.host);
      assert.ok(id, 'the server node is made');
      const deployed = page.waitForResponse((r) => r.url().endsWith('/flows') && r.request().method() === 'POST', { timeout: 20_000 });
      await page.click('#red-ui-header-button-deploy');
      await page.locator('.red-ui-notification button:has-text("Confirm deploy")').click({ timeout: 2000 }).catch(() => undefined);
      assert.equal((await deployed).status(), 200);
      assert.deepEqual(consoleErrors.slice(before), []);
      // Reopened: the key box is empty with a "key stored" placeholder (no __PWRD__); Test connection uses the stored key.
      await page.reload();
      await page.waitForSelector('.red-ui-palette-node[data-palette-type="esr-read"]', { timeout: 30_000 });
      await page.waitForLoadState('networkidle');
      const reloaded = consoleErrors.length; // a fresh page may fail to reach the internet (update checks): not ours
      await page.evaluate((sid) => (globalThis as any).RED.editor.editConfig('', 'esr-sftp-server', sid), id);
      await page.waitForSelector('#node-config-dialog-ok', { state: 'visible', timeout: 10_000 });
      await page.waitForTimeout(300);
      assert.equal(await page.inputValue('#node-config-input-privateKey'), '');
      assert.match(String(await page.getAttribute('#node-config-input-privateKey', 'placeholder')), /^key stored/);
      await page.click('#esr-sftp-server-test');
      await page.waitForFunction(() => /Not connected|Connected/.test((globalThis as any).$('#esr-sftp-server-test-result').text()), undefined, { timeout: 20_000 });
      assert.match(await page.locator('#esr-sftp-server-test-result').innerText(), /^Connected\./, 'with the stored key');
      await page.click('#node-config-dialog-ok');
      await page.waitForSelector('#node-config-dialog-ok', { state: 'detached', timeout: 10_000 });
      await page.evaluate(() => (globalThis as any).RED.nodes.dirty(true));
      const again = page.waitForResponse((r) => r.url().endsWith('/flows') && r.request().method() === 'POST', { timeout: 20_000 });
      await page.click('#red-ui-header-button-deploy');
      await page.locator('.red-ui-notification button:has-text("Confirm deploy")').click({ timeout: 2000 }).catch(() => undefined);
      assert.equal((await again).status(), 200);
      const creds = (await (await fetch(`http://127.0.0.1:${port}/credentials/esr-sftp-server/${id}`)).json()) as Record<string, unknown>;
      assert.equal(creds.has_privateKey, true, 'the stored key is kept after Done');
      assert.deepEqual(consoleErrors.slice(reloaded), []);
    } finally {
      await sshd.stop();
    }
  });

  it("esr-map's Try it: the sample the rules expect, rendered when the box is empty, and a hint when nothing is", async () => {
    const flow = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'rostering.json'), 'utf8')) as Record<string, unknown>[];
    const map = flow.find((n) => n.type === 'esr-map' && JSON.stringify(n.rules).includes('person.lastName'))!;
    await page.evaluate((m) => {
      const RED = (globalThis as any).RED;
      const node = { ...m, id: RED.nodes.id(), z: RED.workspaces.active(), wires: [[]] };
      RED.view.importNodes([node], { generateIds: false });
      RED.editor.edit(RED.nodes.node(node.id));
    }, map);
    await page.waitForSelector('#esr-map-try', { state: 'visible', timeout: 10_000 });
    await page.waitForTimeout(300);
    const firstRule = page.locator('#node-input-rules-container .esr-map-target').first();
    assert.equal(await firstRule.inputValue(), (map.rules as { target: string }[])[0].target);
    assert.ok(await firstRule.isVisible(), 'the first rule shows');
    const box = await firstRule.boundingBox();
    const list = await page.locator('#node-input-rules-container').locator('xpath=..').boundingBox();
    assert.ok(box && list && box.y >= list.y && box.y + box.height <= list.y + list.height, 'the first rule is in view');
    const sample = JSON.parse((await page.getAttribute('#esr-map-sample', 'placeholder'))!) as { person?: Record<string, unknown> };
    assert.equal(sample.person?.lastName, 'lastName', 'the placeholder is a person, as the rules read it');
    await page.click('#esr-map-try');
    await page.waitForFunction(() => (globalThis as any).$('#esr-map-result').text().length > 0);
    const rendered = JSON.parse(await page.locator('#esr-map-result').innerText()) as Record<string, string>;
    assert.equal(rendered.surname, 'lastName', 'an empty box renders the placeholder');
    assert.ok(!(await page.isVisible('#esr-map-hint')));
    // A flat record, as an analyst may paste from a PRA line: the rules find none of their fields.
    await page.fill('#esr-map-sample', '{"recordType":"PRA","lastName":"O\'Brien"}');
    await page.click('#esr-map-try');
    await page.waitForSelector('#esr-map-hint', { state: 'visible', timeout: 5000 });
    assert.equal((await page.locator('#esr-map-result').innerText()).trim(), '{}');
    assert.match(await page.locator('#esr-map-hint').innerText(), /^Every rule rendered empty for 1 record, so it has no fields.*"person":\{/);
    await page.click('#node-dialog-cancel');
    await page.waitForSelector('#node-dialog-cancel', { state: 'detached', timeout: 10_000 });
  });

  it('shows the help of every node, with its sections', async () => {
    for (const type of TYPES) {
      const text = await page.evaluate(async (t) => {
        const RED = (globalThis as any).RED;
        RED.sidebar.help.show(t);
        await new Promise((r) => setTimeout(r, 300));
        return (globalThis as any).$('.red-ui-help').text() as string;
      }, type);
      assert.ok(text.length > 200, `${type} help is shown (from locales/en-US)`);
      assert.ok(text.includes('Details'), `${type} help has Details`);
      assert.ok(text.includes('References'), `${type} help has References`);
      if (!CONFIG.includes(type)) {
        assert.ok(text.includes('Inputs') && text.includes('Outputs'), `${type} help has Inputs and Outputs`);
      }
    }
    // The deployed examples poll a hub that is not there, and the dialogs above make servers at invented hosts:
    // those connection errors are expected, nothing else.
    const errors = editor.log().split('\n').filter((l) => l.includes('[error]') && !/ECONNREFUSED|ENOTFOUND|HOST_KEY|AUTH_FAILED|BAD_KEY/.test(l));
    assert.deepEqual(errors, [], 'Node-RED logged an unexpected error');
  });
});
