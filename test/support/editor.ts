/**
 * The Node-RED editor in a real browser for tests: a real Node-RED 5 in a child process, with the pack from the
 * working tree installed in a throw-away user directory, and Debian's Chromium driven by playwright-core.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { freePort } from './sshd';
import { ROOT } from '../helpers';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
/** For `describe(…, { skip: EDITOR_SKIP })`: why the browser tests cannot run here, or false. */
export const EDITOR_SKIP = CHROMIUM ? false : 'skipped: Debian chromium is not installed (.ci/run installs it)';

export interface Editor {
  page: Page;
  browser: Browser;
  /** The editor's port on 127.0.0.1. */
  port: number;
  userDir: string;
  /** What Node-RED printed so far (stdout and stderr). */
  log(): string;
  /** Errors the page logged or threw, in order. */
  consoleErrors: string[];
  close(): Promise<void>;
}

export interface EditorOptions {
  /**
   * Runs with the user directory made, before Node-RED starts (e.g. to write files a test reads); what it returns is
   * added to the Node-RED process's environment (e.g. the examples' settings).
   */
  prepare?: (userDir: string) => NodeJS.ProcessEnv | void | Promise<NodeJS.ProcessEnv | void>;
}

function status(url: string): Promise<number> {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', () => resolve(0));
  });
}

/** Starts Node-RED and opens its editor, ready once the pack's nodes are in the palette. */
export async function startEditor(options: EditorOptions = {}): Promise<Editor> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-editor-'));
  fs.mkdirSync(path.join(userDir, 'node_modules', '@esrflow'), { recursive: true });
  fs.symlinkSync(ROOT, path.join(userDir, 'node_modules', '@esrflow', 'node-red-esr'));
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'editor-test', dependencies: { '@esrflow/node-red-esr': '*' } }));
  const port = await freePort();
  const settings = { uiHost: '127.0.0.1', uiPort: port, flowFile: 'flows.json', credentialSecret: 'editor-test', logging: { console: { level: 'warn' } }, editorTheme: { tours: false }, telemetry: { enabled: false } };
  fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings)};`);
  const env = (await options.prepare?.(userDir)) ?? {};
  let log = '';
  const red: ChildProcess = spawn(process.execPath, [require.resolve('node-red/red.js'), '-u', userDir, '-s', path.join(userDir, 'settings.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  red.stdout!.on('data', (d: Buffer) => (log += d));
  red.stderr!.on('data', (d: Buffer) => (log += d));
  for (let i = 0; i < 200 && (await status(`http://127.0.0.1:${port}/`)) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForSelector('.red-ui-palette-node[data-palette-type="esr-read"]', { timeout: 30_000 });
  // A first start may still ask about update notifications: answer it as a user would.
  await page.locator('button:has-text("No, do not enable notifications")').click({ timeout: 2000 }).catch(() => undefined);
  return {
    page,
    browser,
    port,
    userDir,
    log: () => log,
    consoleErrors,
    close: async () => {
      await browser.close().catch(() => undefined);
      red.kill('SIGTERM');
    },
  };
}
