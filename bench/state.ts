/**
 * The cost of the state layer: sequence numbers and ledger updates per second on each backend, each against a
 * reference measured in the same run — one fsynced file write (local) and one plain INCR (Redis).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { createClient } from '@redis/client';
import { LocalStateStore, RedisStateStore, type StateStore } from '../core/state';

type Print = (name: string, value: number, unit: string) => void;
const OPS = 300;

async function perSecond(step: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) await step(i);
  return OPS / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function measureStore(store: StateStore, kind: string, reference: number, referenceName: string, print: Print): Promise<void> {
  const numbers = await perSecond(() => store.nextNumber('bench', 1));
  const ledger = await perSecond((i) => store.set('bench ledger', `GO_123_GDW_GOC_20261120_${String(i).padStart(8, '0')}.DAT`, { state: 'claimed', at: i }));
  print(`state_${kind}_numbers_per_s`, numbers, 'ops/s');
  print(`state_${kind}_ledger_updates_per_s`, ledger, 'ops/s');
  print(`state_${kind}_numbers_ratio_vs_${referenceName}`, numbers / reference, 'x');
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function benchState(print: Print): Promise<void> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-bench-state-'));
  const fsyncWrites = await perSecond(async (i) => {
    const fd = await fs.promises.open(path.join(folder, `ref-${i}`), 'w');
    await fd.writeFile('x');
    await fd.sync();
    await fd.close();
  });
  print('state_reference_fsync_writes_per_s', fsyncWrites, 'ops/s');
  const local = new LocalStateStore({ folder: path.join(folder, 'store') });
  await measureStore(local, 'local', fsyncWrites, 'fsync_write', print);
  await local.close();

  const server = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => fs.existsSync(p));
  if (!server) {
    process.stderr.write('state: redis-server is not installed; Redis figures skipped\n');
    return;
  }
  const port = await freePort();
  const child = spawn(server, ['--port', String(port), '--bind', '127.0.0.1', '--dir', folder, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
  try {
    const url = `redis://127.0.0.1:${port}`;
    const plain = createClient({ url });
    for (let i = 0; ; i++) {
      try {
        await plain.connect();
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const incr = await perSecond(() => plain.incr('bench-ref'));
    await plain.close();
    print('state_reference_redis_incr_per_s', incr, 'ops/s');
    const redis = new RedisStateStore({ url });
    await measureStore(redis, 'redis', incr, 'incr', print);
    await redis.close();
  } finally {
    child.kill('SIGTERM');
  }
}
