/**
 * End to end, as an analyst runs it: `npm start`'s program (dist/demo/start.js) in its own process, the editor's debug
 * sidebar read through Node-RED's comms websocket as the editor reads it. Bad files dropped into the hub must show in
 * both; a missing export file is a status, not an error; the analyst's flows survive a restart unless --reset.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { watchSidebar, type SidebarWatch } from '../../demo/sidebar';
import { DAYS } from '../../demo/seed';
import { freePort } from '../support/sshd';
import { NODE_RED_SKIP, waitFor } from '../support/node-red';

const MINUTE = 60_000;
const START = path.join(__dirname, '..', '..', 'demo', 'start.js');

interface Running {
  child: ChildProcess;
  out: () => string;
  stop(): Promise<void>;
}

/** Runs the demo as `npm start` does, in `dir` on `port`, and waits until it says it is ready. */
async function runDemo(dir: string, port: number, args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [START, ...args], { env: { ...process.env, DEMO_DIR: dir, DEMO_STAFF: '12', PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  try {
    await waitFor(() => /Press Ctrl-C/.test(out) || child.exitCode !== null, MINUTE);
  } catch (err) {
    await stop();
    throw err;
  }
  assert.match(out, /Press Ctrl-C/, `the demo did not start:\n${out}`);
  return { child, out: () => out, stop };
}

const flowsOf = async (url: string) => (await (await fetch(`${url}/flows`, { headers: { 'Node-RED-API-Version': 'v1' } })).json()) as Record<string, unknown>[];

describe('the demo as an analyst runs it (npm start)', { skip: NODE_RED_SKIP }, () => {
  let dir: string;
  let port: number;
  let demo: Running;
  let sidebar: SidebarWatch;
  const url = () => `http://127.0.0.1:${port}`;
  const hub = (...p: string[]) => path.join(dir, 'hub', ...p);
  const archived = (feed: string) => (fs.existsSync(hub('Out', feed, 'archive')) ? fs.readdirSync(hub('Out', feed, 'archive')) : []);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-demo-run-'));
    port = await freePort();
    demo = await runDemo(dir, port);
    sidebar = await watchSidebar(url());
  });
  after(async () => {
    sidebar?.close();
    await demo?.stop();
  });

  it("names Node-RED's log, a file that holds what Node-RED printed", () => {
    const log = path.join(dir, 'node-red.log');
    assert.match(demo.out(), new RegExp(`Node-RED's log +.*${path.basename(dir)}/node-red\\.log`));
    assert.match(fs.readFileSync(log, 'utf8'), /Started flows/);
  });

  it("Import → Examples lists the pack's flows only (no layout files)", async () => {
    const res = await fetch(`${url()}/library/examples/flows/@esrflow/node-red-esr`);
    assert.deepEqual(await res.json(), [{ fn: 'expenses' }, { fn: 'identity' }, { fn: 'occupational-health' }, { fn: 'rostering' }]);
  });

  it('a junk file and a cut file show in the debug sidebar and in the terminal, for rostering and for OH', async () => {
    // The story first: the seeded files are handled (the junk and cut files come after them in ESR order anyway).
    await waitFor(() => archived('rostering').length === DAYS + 1 && archived('occupational-health').filter((n) => n.startsWith('OHO_')).length === 1, MINUTE);
    const junk = 'GO_123_GDW_GOC_20991228_00000096.DAT';
    fs.writeFileSync(hub('Out', 'rostering', junk), '<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>\r\n');
    const oho = archived('occupational-health').find((n) => n.startsWith('OHO_'))!;
    const cut = oho.replace(/_\d{8}\.DAT$/, '_00000098.DAT');
    const text = fs.readFileSync(hub('Out', 'occupational-health', 'archive', oho), 'latin1').replace(oho, cut);
    fs.writeFileSync(hub('Out', 'occupational-health', cut), Buffer.from(text.slice(0, text.indexOf('TRL~')), 'latin1'));

    const inSidebar = (name: string) => sidebar.messages.find((m) => m.msg.includes(name) && /^failures/.test(m.name ?? ''));
    await waitFor(() => !!inSidebar(junk) && !!inSidebar(cut), MINUTE);
    assert.match(inSidebar(junk)!.msg, /NO_HEADER/);
    assert.match(inSidebar(cut)!.msg, /MISSING_TRAILER/);
    assert.equal(inSidebar(junk)!.name, 'failures — rostering staff list');
    assert.equal(inSidebar(cut)!.name, 'failures — OH clearance files');
    const lines = () => demo.out().split('\n');
    await waitFor(() => [junk, cut].every((n) => lines().filter((l) => l.includes('✗') && l.includes(n)).length >= 2), MINUTE);
    assert.ok(lines().some((l) => l.includes('✗') && l.includes(junk) && /Rostering.*failures.*NO_HEADER/.test(l)), demo.out());
    assert.ok(lines().some((l) => l.includes('✗') && l.includes(cut) && /Occupational health.*failures.*MISSING_TRAILER/.test(l)), demo.out());
    assert.ok(lines().some((l) => l.includes(`✗ FAILED, moved to the error folder: Out/occupational-health/error/${cut}`)), demo.out());
    // The same junk again (a replay that fails again): the terminal tells it again, not once for good.
    const told = () => lines().filter((l) => l.includes('✗') && l.includes(junk) && /NO_HEADER/.test(l)).length;
    const before = told();
    fs.writeFileSync(hub('Out', 'rostering', junk), '<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>\r\n');
    await waitFor(() => told() > before, MINUTE);
  });

  it('with the exports sent and removed, a full deploy makes no error: each daily read shows "nothing to send" as a status', async () => {
    const exportsDir = path.join(dir, 'trust-systems', 'exports');
    await waitFor(() => fs.readdirSync(exportsDir).length === 0, MINUTE);
    const before = sidebar.messages.length;
    const flows = await flowsOf(url());
    const res = await fetch(`${url()}/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v1' }, body: JSON.stringify(flows) });
    assert.ok(res.ok);
    const nothing = flows.filter((n) => n.type === 'debug' && /^nothing to send/.test(String(n.name))).map((n) => n.id as string);
    assert.equal(nothing.length, 4, 'one per daily export');
    await waitFor(() => nothing.every((id) => sidebar.statuses.get(id)?.text === 'no export file: nothing to send'), MINUTE);
    await new Promise((r) => setTimeout(r, 1000));
    const after = sidebar.messages.slice(before);
    assert.deepEqual(after.filter((m) => /ENOENT|no such file/i.test(m.msg)), [], 'no error for a missing export');
    assert.ok(!/ENOENT/.test(demo.out()), 'nor in the terminal');
  });

  it("keeps the analyst's flows across a restart; --reset deploys the examples again", async () => {
    await waitFor(() => /AD joiners\/movers\/leavers file/.test(demo.out()), MINUTE); // the story's identity part has run
    const usersFile = path.join(dir, 'trust-systems', 'identity', 'users.json');
    const users = () => (fs.existsSync(usersFile) ? (JSON.parse(fs.readFileSync(usersFile, 'utf8')) as unknown[]).length : 0);
    await waitFor(() => users() > 0, MINUTE);
    const usersBefore = users();
    const flows = await flowsOf(url());
    const comment = flows.find((n) => n.id === 'r-c-go')!;
    const original = comment.name;
    comment.name = 'my own note';
    const res = await fetch(`${url()}/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v1' }, body: JSON.stringify(flows) });
    assert.ok(res.ok);
    sidebar.close();
    await demo.stop();

    demo = await runDemo(dir, port);
    assert.match(demo.out(), /Flows +yours, kept from the last run/);
    assert.equal((await flowsOf(url())).find((n) => n.id === 'r-c-go')!.name, 'my own note');
    // The story plays again against the fresh hub: the identity flow finds its joiners again (its snapshot is fresh
    // too), rather than taking every file as one it has seen.
    await waitFor(() => /AD joiners\/movers\/leavers file/.test(demo.out()) && users() === usersBefore, MINUTE);
    await demo.stop();

    demo = await runDemo(dir, port, ['--reset']);
    assert.match(demo.out(), /Flows +the examples, deployed now/);
    assert.equal((await flowsOf(url())).find((n) => n.id === 'r-c-go')!.name, original);
  });
});
