/**
 * The state stores (local folder and Redis): numbers never handed out twice, also to processes killed with SIGKILL
 * at random moments; ledger entries; leases that one owner holds at a time and that lapse.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { LocalStateStore, RedisStateStore, type StateStore } from '../../core/state';
import { rng } from '../helpers';
import { REDIS_SKIP, startRedis, type TestRedis } from '../support/redis';

const CHILD = path.join(__dirname, '..', 'support', 'state-child.js');

interface Backend {
  name: string;
  skip: string | false;
  make(now?: () => number): StateStore;
  childArgs(): string[];
}

let redis: TestRedis | undefined;
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-state-'));
let prefixes = 0;

const BACKENDS: Backend[] = [
  { name: 'local', skip: false, make: (now) => new LocalStateStore({ folder, now }), childArgs: () => ['local', folder] },
  {
    name: 'redis',
    skip: REDIS_SKIP,
    make: () => new RedisStateStore({ url: redis!.url, password: redis!.password, prefix: `t${prefixes}` }),
    childArgs: () => ['redis', redis!.url, redis!.password, `t${prefixes}`],
  },
];

/** Runs `processes` children taking numbers; kills one with SIGKILL at random moments (seeded) and starts it again. */
async function killHammer(backend: Backend, counter: string, processes: number, kills: number, seed: number): Promise<number[]> {
  const r = rng(seed);
  const taken: number[] = [];
  const children = new Set<ReturnType<typeof spawn>>();
  const startOne = () => {
    const child = spawn(process.execPath, [CHILD, ...backend.childArgs(), counter], { stdio: ['ignore', 'pipe', 'pipe'] });
    let carry = '';
    child.stdout!.on('data', (d: Buffer) => {
      const lines = (carry + d.toString()).split('\n');
      carry = lines.pop()!;
      for (const l of lines) taken.push(Number(l));
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
  };
  for (let i = 0; i < processes; i++) startOne();
  const until = Date.now() + 60_000;
  for (let k = 0; k < kills && Date.now() < until; k++) {
    await new Promise((res) => setTimeout(res, 100 + Math.floor(r() * 300)));
    const victim = [...children][Math.floor(r() * children.size)];
    victim?.kill('SIGKILL');
    startOne();
  }
  await new Promise((res) => setTimeout(res, 300));
  await Promise.all([...children].map((c) => new Promise<void>((res) => (c.once('exit', () => res()), c.kill('SIGKILL')))));
  return taken;
}

describe('state stores', () => {
  before(async () => {
    if (!REDIS_SKIP) redis = await startRedis();
    else process.stdout.write(`# redis state tests ${REDIS_SKIP}\n`);
  });
  after(async () => redis?.stop());

  for (const backend of BACKENDS) {
    describe(backend.name, { skip: backend.skip }, () => {
      it('hands out numbers in order from the first, once each, also to many callers at once', async () => {
        prefixes++;
        const store = backend.make();
        try {
          assert.equal(await store.lastNumber('ta/123'), undefined);
          assert.equal(await store.nextNumber('ta/123', 41), 41, 'a new counter starts at first');
          assert.equal(await store.nextNumber('ta/123', 1), 42, 'first does not move a counter back');
          assert.equal(await store.nextNumber('ta/123', 100), 100, 'nor is it passed over');
          assert.equal(await store.lastNumber('ta/123'), 100);
          const many = await Promise.all(Array.from({ length: 200 }, () => store.nextNumber('ta/123', 1)));
          assert.deepEqual([...many].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => 101 + i));
          assert.equal(await store.nextNumber('other counter', 1), 1, 'counters are apart');
        } finally {
          await store.close();
        }
      });

      it('keeps ledger entries under any key, and forgets one set to undefined', async () => {
        prefixes++;
        const store = backend.make();
        try {
          const key = 'Out/rostering/GO_123_GDW_GOC_20261120_00000007.DAT@x.y/ü'.repeat(4);
          assert.equal(await store.get('hub:22/Out/rostering:GO_*', key), undefined);
          await store.set('hub:22/Out/rostering:GO_*', key, { state: 'confirmed', attempts: 2 });
          assert.deepEqual(await store.get('hub:22/Out/rostering:GO_*', key), { state: 'confirmed', attempts: 2 });
          assert.equal(await store.get('another ledger', key), undefined);
          await store.set('hub:22/Out/rostering:GO_*', key, undefined);
          assert.equal(await store.get('hub:22/Out/rostering:GO_*', key), undefined);
          await store.set('hub:22/Out/rostering:GO_*', key, undefined); // removing what is not there is fine
        } finally {
          await store.close();
        }
      });
      it('keeps documents whole: a large one replaced, read back the same, removed', async () => {
        prefixes++;
        const store = backend.make();
        try {
          const name = 'changes:123:GDW/ü';
          assert.equal(await store.getDocument(name), undefined);
          const big = JSON.stringify({ people: Array.from({ length: 20_000 }, (_, i) => [String(100000 + i), 'Zoë', "O'Brien", 'XR05']) });
          await store.putDocument(name, big);
          assert.equal(await store.getDocument(name), big);
          await store.putDocument(name, '{"v":2}');
          assert.equal(await store.getDocument(name), '{"v":2}');
          assert.equal(await store.getDocument('another'), undefined);
          await store.putDocument(name, undefined);
          assert.equal(await store.getDocument(name), undefined);
          await store.putDocument(name, undefined); // removing what is not there is fine
        } finally {
          await store.close();
        }
      });


      it('gives a lease to one owner at a time, renews it, and lets it lapse', async () => {
        prefixes++;
        let clock = 1_000_000;
        const store = backend.make(() => clock);
        try {
          const ttl = backend.name === 'redis' ? 300 : 10_000;
          assert.equal(await store.lease('one file at a time', 'a', ttl), true);
          assert.equal(await store.lease('one file at a time', 'b', ttl), false);
          assert.equal(await store.lease('one file at a time', 'a', ttl), true, 'renewed');
          await store.release('one file at a time', 'b'); // not b's: nothing happens
          assert.equal(await store.lease('one file at a time', 'b', ttl), false);
          await store.release('one file at a time', 'a');
          assert.equal(await store.lease('one file at a time', 'b', ttl), true, 'free once released');
          // Lapses when not renewed in time.
          if (backend.name === 'redis') await new Promise((r) => setTimeout(r, ttl + 100));
          else clock += ttl + 1;
          assert.equal(await store.lease('one file at a time', 'a', ttl), true, 'taken over once lapsed');
          assert.equal(await store.lease('one file at a time', 'b', ttl), false);
        } finally {
          await store.close();
        }
      });

      it('never hands out a number twice to processes killed with SIGKILL at random moments', async () => {
        prefixes++;
        const counter = `kill-${backend.name}-${Date.now()}`;
        const taken = await killHammer(backend, counter, 4, 12, 7);
        assert.ok(taken.length > 50, `only ${taken.length} numbers taken`);
        assert.equal(new Set(taken).size, taken.length, 'a number was handed out twice');
        // And the store goes on past every number a killed process may have taken.
        const store = backend.make();
        try {
          const next = await store.nextNumber(counter, 1);
          assert.ok(next > Math.max(...taken));
        } finally {
          await store.close();
        }
      });
    });
  }
});
