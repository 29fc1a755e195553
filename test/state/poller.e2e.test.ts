/**
 * The poller's promises in real Node-RED 5 processes against a real OpenSSH server, with the ledger in the state
 * store (local folder or a real redis-server): poll → post to a stand-in target → confirm. Runtimes are killed with
 * SIGKILL at seeded random moments, redeployed while a post is in flight, and run side by side.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { rng } from '../helpers';
import { NODE_RED_SKIP } from '../support/node-red';
import { NodeRedProcess } from '../support/node-red-process';
import { REDIS_SKIP, startRedis, type TestRedis } from '../support/redis';
import { SSHD_SKIP, freePort, startSshd, type TestSshd } from '../support/sshd';

interface Delivery {
  name: string;
  attempt: number;
  deliveryId: string;
  runtime: string;
  start: number;
  end: number;
}

/** The trust's system: records every delivery; `delayMs` says how long each post takes. */
class Target {
  readonly deliveries: Delivery[] = [];
  delayMs: (d: Omit<Delivery, 'start' | 'end'>) => number = () => 0;
  private server?: http.Server;
  port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const d = JSON.parse(body) as Omit<Delivery, 'start' | 'end'>;
        const start = Date.now();
        setTimeout(() => {
          this.deliveries.push({ ...d, start, end: Date.now() });
          res.end('ok');
        }, this.delayMs(d));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

const goName = (i: number) => `GO_123_GDW_GOC_${20261101 + Math.floor(i / 100)}_${String(i + 1).padStart(8, '0')}.DAT`;

interface FlowOptions {
  runtime: string;
  folder: string;
  state: Record<string, unknown>;
  inOrder?: boolean;
  after?: 'archive' | 'leave';
  maxPerPoll?: number;
  tab?: string;
}

describe('the poller with its state in the state store (real Node-RED processes)', { skip: NODE_RED_SKIP || SSHD_SKIP }, () => {
  let sshd: TestSshd;
  let redis: TestRedis | undefined;
  const target = new Target();
  const runtimes: NodeRedProcess[] = [];
  let folderNo = 0;

  before(async () => {
    sshd = await startSshd();
    await target.start();
    if (!REDIS_SKIP) redis = await startRedis();
  });
  after(async () => {
    await Promise.all(runtimes.map((rt) => rt.stop()));
    await target.stop();
    await sshd?.stop();
    await redis?.stop();
  });

  const local = (...p: string[]) => path.join(sshd.root, ...p);
  const files = (...p: string[]) => (fs.existsSync(local(...p)) ? fs.readdirSync(local(...p)).filter((n) => n.endsWith('.DAT')).sort() : []);
  const freshFolder = (count: number) => {
    const folder = `Poll${++folderNo}/Out`;
    fs.mkdirSync(local(folder), { recursive: true });
    for (let i = 0; i < count; i++) fs.writeFileSync(local(folder, goName(i)), `HDR~${goName(i)}\n`);
    return folder;
  };
  const localState = () => ({ type: 'esr-state', name: 'local', backend: 'local', folder: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-shared-state-')) });
  const redisState = (prefix: string) => ({ type: 'esr-state', name: 'redis', backend: 'redis', prefix, credentials: { url: redis!.url, password: redis!.password } });

  function flow(o: FlowOptions): unknown[] {
    const z = o.tab ?? 'poll';
    return [
      { id: z, type: 'tab', label: z },
      {
        id: 'srv', type: 'esr-sftp-server', host: '127.0.0.1', port: sshd.port, username: sshd.username, root: sshd.root, hostFingerprint: sshd.fingerprint, timeoutSec: 10,
        credentials: { privateKey: sshd.encryptedKey, passphrase: sshd.passphrase },
      },
      { id: 'st', ...o.state },
      {
        id: `${z}-in`, z, type: 'esr-sftp-in', server: 'srv', state: 'st', operation: 'poll', folder: o.folder, folderType: 'str', glob: 'GO_*.DAT', output: 'buffer',
        intervalSec: 0.1, stableSec: 0, maxPerPoll: o.maxPerPoll ?? 5, inOrder: o.inOrder === true, after: o.after ?? 'archive', claimTimeoutMin: 10, maxAttempts: 100,
        wires: [[`${z}-body`]],
      },
      {
        id: `${z}-body`, z, type: 'change',
        rules: [{ t: 'set', p: 'payload', pt: 'msg', to: `{"name": filename, "attempt": sftp.attempt, "deliveryId": sftp.deliveryId, "runtime": "${o.runtime}"}`, tot: 'jsonata' }],
        wires: [[`${z}-post`]],
      },
      { id: `${z}-post`, z, type: 'http request', method: 'POST', ret: 'txt', url: `http://127.0.0.1:${target.port}/deliver`, wires: [[`${z}-in`]] },
    ];
  }

  async function runtime(o: FlowOptions): Promise<NodeRedProcess> {
    const rt = new NodeRedProcess(await freePort(), flow(o), { ESR_RUNTIME_ID: o.runtime });
    runtimes.push(rt);
    await rt.start();
    return rt;
  }

  async function until(check: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`not in time: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('50 files, kill -9 three times mid-batch: none lost; every repeat has attempt >= 2 and the same delivery id', async () => {
    const folder = freshFolder(50);
    const runtimeId = `kill-${folderNo}`;
    target.delayMs = () => 30;
    const before = target.deliveries.length;
    const rt = await runtime({ runtime: runtimeId, folder, state: localState() });
    const r = rng(31);
    for (const share of [0.2, 0.45, 0.7]) {
      await until(() => target.deliveries.length - before >= 50 * share, 60_000, 'deliveries before a kill');
      await new Promise((res) => setTimeout(res, Math.floor(r() * 60)));
      await rt.killAndRestart();
    }
    await until(() => files(folder, 'archive').length === 50, 60_000, 'all 50 archived');
    const mine = target.deliveries.slice(before).filter((d) => d.runtime === runtimeId);
    assert.deepEqual([...new Set(mine.map((d) => d.name))].sort(), files(folder, 'archive'), 'every file delivered');
    assert.deepEqual(files(folder), [], 'none left behind');
    assert.deepEqual(files(folder, 'error'), []);
    const byName = new Map<string, Delivery[]>();
    for (const d of mine) byName.set(d.name, [...(byName.get(d.name) ?? []), d]);
    let repeats = 0;
    for (const [name, ds] of byName) {
      assert.equal(new Set(ds.map((d) => d.deliveryId)).size, 1, `${name}: one delivery id`);
      ds.slice(1).forEach((d) => assert.ok(d.attempt >= 2, `${name}: a repeat delivery with attempt ${d.attempt}`));
      repeats += ds.length - 1;
    }
    assert.equal(rt.restarts, 3);
    process.stdout.write(`# ${repeats} repeat deliveries after 3 kills\n`);
  });

  it("'leave' mode: files done before a kill -9 are not taken again", async () => {
    const folder = freshFolder(20);
    const runtimeId = `leave-${folderNo}`;
    target.delayMs = () => 0;
    const rt = await runtime({ runtime: runtimeId, folder, state: localState(), after: 'leave' });
    const mine = () => target.deliveries.filter((d) => d.runtime === runtimeId);
    await until(() => new Set(mine().map((d) => d.name)).size === 20 && fs.readdirSync(local(folder, '.esr-claims')).length === 0, 60_000, 'all 20 done');
    await new Promise((res) => setTimeout(res, 500));
    const done = mine().length;
    await rt.killAndRestart();
    await new Promise((res) => setTimeout(res, 3000)); // many polls
    assert.equal(mine().length, done, 'nothing taken again after the restart');
    assert.equal(files(folder).length, 20, 'left in place');
  });

  for (const backend of ['local', 'redis'] as const) {
    it(`two runtimes, one folder, one file at a time, 200 files (${backend} state): no overlap, ESR order, none twice, none lost`, { skip: backend === 'redis' ? REDIS_SKIP : false }, async () => {
      const folder = freshFolder(200);
      const state = backend === 'local' ? localState() : redisState(`order${folderNo}`);
      target.delayMs = () => 5;
      const ids = [`a-${folderNo}`, `b-${folderNo}`];
      await Promise.all(ids.map((id) => runtime({ runtime: id, folder, state, inOrder: true })));
      const mine = () => target.deliveries.filter((d) => ids.includes(d.runtime));
      await until(() => files(folder, 'archive').length === 200, 180_000, 'all 200 archived');
      const ds = mine().sort((x, y) => x.start - y.start);
      assert.equal(ds.length, 200, 'none twice');
      assert.deepEqual(ds.map((d) => d.name), Array.from({ length: 200 }, (_, i) => goName(i)), 'ESR order');
      for (let i = 1; i < ds.length; i++) assert.ok(ds[i].start >= ds[i - 1].end, `${ds[i].name} started before ${ds[i - 1].name} was done`);
      assert.ok(new Set(ds.map((d) => d.runtime)).size === 2, 'both runtimes took files');
    });
  }

  it('a full redeploy while a post is in flight: the feed moves on within seconds', async () => {
    const folder = freshFolder(5);
    const runtimeId = `redeploy-${folderNo}`;
    let first = true;
    target.delayMs = (d) => (d.runtime === runtimeId && first ? ((first = false), 4000) : 0);
    const rt = await runtime({ runtime: runtimeId, folder, state: localState(), inOrder: true });
    await until(() => !first, 20_000, 'the first post is in flight');
    const at = Date.now();
    await rt.deploy();
    await until(() => files(folder, 'archive').length === 5, 15_000, 'all 5 archived after the redeploy');
    assert.ok(Date.now() - at < 10_000, `moved on after ${Date.now() - at} ms`);
    const again = target.deliveries.filter((d) => d.runtime === runtimeId && d.name === goName(0));
    assert.ok(again.some((d) => d.attempt === 2), 'the file in flight was handed back and delivered again');
  });

  it('two runtimes with different flows sharing one Redis: neither loses the other\'s state after deploys', { skip: REDIS_SKIP }, async () => {
    const folders = [freshFolder(10), freshFolder(10)];
    const ids = [`flowA-${folderNo}`, `flowB-${folderNo}`];
    target.delayMs = () => 0;
    const state = redisState('shared');
    const [a, b] = await Promise.all([0, 1].map((i) => runtime({ runtime: ids[i], folder: folders[i], state, after: 'leave', tab: i ? 'flow-b' : 'flow-a' })));
    const count = (i: number) => target.deliveries.filter((d) => d.runtime === ids[i]).length;
    await until(() => count(0) === 10 && count(1) === 10, 60_000, 'both folders done');
    await new Promise((res) => setTimeout(res, 500));
    for (let round = 0; round < 3; round++) await Promise.all([a.deploy(), b.deploy()]);
    await b.killAndRestart();
    await new Promise((res) => setTimeout(res, 3000));
    assert.deepEqual([count(0), count(1)], [10, 10], 'no file taken again');
  });
});
