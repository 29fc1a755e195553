/**
 * TA_ sequence numbers in real Node-RED 5 processes killed with SIGKILL at random moments (seeded): every file name
 * esr-write hands on is used once only — two runtimes sharing one real redis-server, and one runtime with the local
 * state folder. Each name is appended to a log as soon as esr-write sends it, before anything else happens to it.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NodeRedProcess as Runtime } from '../support/node-red-process';
import { freePort } from '../support/sshd';
import { rng } from '../helpers';
import { NODE_RED_SKIP } from '../support/node-red';
import { REDIS_SKIP, startRedis, type TestRedis } from '../support/redis';

const ATT = (n: number) => ({ recordType: 'ATT', effectiveDate: '2026-11-20', assignmentNumber: `1000${n}`, elementName: 'Overtime', inputValue1Name: 'Hours', inputValue1Value: '7.5' });

function flow(namesLog: string, state: Record<string, unknown>) {
  return [
    { id: 't', type: 'tab', label: 'TA files' },
    { id: 'st', ...state },
    { id: 'in', z: 't', type: 'http in', url: '/ta', method: 'post', wires: [['write']] },
    {
      id: 'write', z: 't', type: 'esr-write', layout: 'ta', vpd: '431', vpdType: 'str', state: 'st',
      nameParts: '{"sourceSystem":"SEL","periodType":"W","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json',
      header: '{}', headerType: 'json', skipInvalid: false, wires: [['name'], []],
    },
    { id: 'name', z: 't', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'filename', tot: 'msg' }], wires: [['log']] },
    { id: 'log', z: 't', type: 'file', filename: namesLog, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', wires: [['out']] },
    { id: 'out', z: 't', type: 'http response', wires: [] },
  ];
}

/** Posts files to a runtime, `parallel` at a time, until `target` were answered; kills it `kills` times meanwhile. */
async function drive(rt: Runtime, target: number, kills: number, seed: number): Promise<void> {
  const r = rng(seed);
  const killAt = new Set<number>();
  while (killAt.size < kills) killAt.add(5 + Math.floor(r() * (target - 10)));
  let done = 0;
  let killing: Promise<void> | undefined;
  const until = Date.now() + 5 * 60_000;
  const worker = async (w: number) => {
    while (done < target) {
      if (Date.now() > until) throw new Error(`only ${done} of ${target} files in time`);
      await killing;
      const url = await rt.whenReady();
      try {
        const res = await fetch(`${url}/ta`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([ATT(w)]), signal: AbortSignal.timeout(10_000) });
        if (!res.ok) continue;
        await res.text();
        done++;
        const due = [...killAt].find((k) => done >= k);
        if (due !== undefined && !killing) {
          killAt.delete(due);
          // A little later, so that the kill lands while other files are being made.
          killing = new Promise<void>((res2) => setTimeout(res2, Math.floor(r() * 40))).then(() => rt.killAndRestart()).finally(() => (killing = undefined));
        }
      } catch {
        await new Promise((res2) => setTimeout(res2, 50)); // killed under us: wait for the restart
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
  await killing;
  assert.equal(killAt.size, 0, 'every kill happened');
}

function names(log: string): string[] {
  return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
}

function assertDistinct(all: string[]): void {
  const counts = new Map<string, number>();
  for (const n of all) counts.set(n, (counts.get(n) ?? 0) + 1);
  const twice = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
  assert.deepEqual(twice, [], `${twice.length} names used more than once`);
  assert.ok(all.every((n) => /^TA_431_SEL_WN2708_\d{8}\.DAT$/.test(n)));
}

describe('TA_ sequence numbers survive kill -9 (real Node-RED processes)', { skip: NODE_RED_SKIP }, () => {
  let redis: TestRedis | undefined;
  const runtimes: Runtime[] = [];
  before(async () => {
    if (!REDIS_SKIP) redis = await startRedis();
  });
  after(async () => {
    await Promise.all(runtimes.map((rt) => rt.stop()));
    await redis?.stop();
  });

  it('two runtimes on one Redis, 100 files each at once, each killed 3 times: all names distinct', { skip: REDIS_SKIP }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-seq-'));
    const state = { type: 'esr-state', name: 'shared', backend: 'redis', prefix: 'seqtest', credentials: { url: redis!.url, password: redis!.password } };
    const logs = [path.join(dir, 'a.log'), path.join(dir, 'b.log')];
    for (const log of logs) runtimes.push(new Runtime(await freePort(), flow(log, state)));
    const [a, b] = runtimes.slice(-2);
    await Promise.all([a.start(), b.start()]);
    await Promise.all([drive(a, 100, 3, 11), drive(b, 100, 3, 12)]);
    const all = [...names(logs[0]), ...names(logs[1])];
    assert.ok(all.length >= 200, `${all.length} names logged`);
    assert.equal(a.restarts + b.restarts, 6);
    assertDistinct(all);
  });

  it('one runtime, local state folder, 50 files, killed 5 times: all names distinct', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-seq-'));
    const log = path.join(dir, 'names.log');
    const rt = new Runtime(await freePort(), flow(log, { type: 'esr-state', name: 'local', backend: 'local', folder: '' }));
    runtimes.push(rt);
    await rt.start();
    await drive(rt, 50, 5, 13);
    const all = names(log);
    assert.ok(all.length >= 50, `${all.length} names logged`);
    assert.equal(rt.restarts, 5);
    assertDistinct(all);
    assert.ok(fs.existsSync(path.join(rt.userDir, 'esr-state')), 'kept in esr-state under the user directory');
  });
});
