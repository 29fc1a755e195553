/**
 * esr-lease in real Node-RED 5 processes sharing one real redis-server: a job that fires on two runtimes at once goes
 * on on one of them only; when that runtime is killed with SIGKILL, the other takes the job over once the lease lapses.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { NODE_RED_SKIP } from '../support/node-red';
import { NodeRedProcess } from '../support/node-red-process';
import { REDIS_SKIP, startRedis, type TestRedis } from '../support/redis';
import { freePort } from '../support/sshd';

describe('esr-lease: a job on one runtime only (real Node-RED processes, one Redis)', { skip: NODE_RED_SKIP || REDIS_SKIP }, () => {
  let redis: TestRedis;
  let server: http.Server;
  let port = 0;
  const runs: { runtime: string; at: number }[] = [];
  const runtimes: NodeRedProcess[] = [];

  before(async () => {
    redis = await startRedis();
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        runs.push({ runtime: body, at: Date.now() });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    await Promise.all(runtimes.map((rt) => rt.stop()));
    server.closeAllConnections();
    server.close();
    await redis.stop();
  });

  const flow = (runtime: string) => [
    { id: 't', type: 'tab', label: 'daily export' },
    { id: 'st', type: 'esr-state', backend: 'redis', prefix: 'leasetest', credentials: { url: redis.url, password: redis.password } },
    { id: 'tick', z: 't', type: 'inject', repeat: '0.5', once: true, onceDelay: '0.1', topic: '', payload: runtime, payloadType: 'str', wires: [['lease']] },
    { id: 'lease', z: 't', type: 'esr-lease', lease: 'roster pay variations to ESR', holdMin: '0.05', state: 'st', wires: [['post']] },
    { id: 'post', z: 't', type: 'http request', method: 'POST', ret: 'txt', url: `http://127.0.0.1:${port}/run`, wires: [[]] },
  ];

  it('runs the job on one runtime at a time, and on the other once the first is killed', async () => {
    for (const id of ['A', 'B']) runtimes.push(new NodeRedProcess(await freePort(), flow(id), { ESR_RUNTIME_ID: `lease-${id}` }));
    await Promise.all(runtimes.map((rt) => rt.start()));
    await new Promise((r) => setTimeout(r, 4000));
    const first = new Set(runs.map((r) => r.runtime));
    assert.ok(runs.length >= 4, `${runs.length} runs`);
    assert.equal(first.size, 1, `the job ran on ${[...first].join(' and ')}`);
    const holder = runtimes[[...first][0] === 'A' ? 0 : 1];
    const killedAt = Date.now();
    await holder.kill();
    const until = Date.now() + 15_000;
    while (!runs.some((r) => r.at > killedAt && !first.has(r.runtime)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const taken = runs.find((r) => r.at > killedAt && !first.has(r.runtime));
    assert.ok(taken, 'the other runtime took the job over');
    assert.ok(taken.at - killedAt < 10_000, `after ${taken.at - killedAt} ms (the lease lasts 3 s)`);
  });
});
