/**
 * Polling a remote folder against a real OpenSSH server: never lose a file, never process one twice.
 * Numbers refer to the failure list of the SFTP issue. The cases that run over both protocols (ESR order, a restart
 * mid-batch, two runtimes, ledger claims on read-only and no-rename mailboxes) are in poller-protocols.test.ts.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SftpSession, type SftpSettings } from '../../core/transport';
import { Poller, type Claim, type PollerEvent, type PollerOptions } from '../../core/poller';
import { SSHD_SKIP, sessionSettings, startSshd, type TestSshd } from '../support/sshd';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { tempState } from '../support/temp-state';
import { REDIS_SKIP, startRedis } from '../support/redis';
import { RedisStateStore, type StateStore } from '../../core/state';


async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'not reached in time');
}

const name = (date: string, seq: number) => `GO_123_GDW_GOC_${date}_${String(seq).padStart(8, '0')}.DAT`;

describe('polling a folder on a server that refuses renames', { skip: SSHD_SKIP }, () => {
  it('5. a refused after-action is reported, retried a bounded number of times, never looped', async () => {
    const sshd = await startSshd();
    const s = new SftpSession(sessionSettings(sshd));
    try {
      fs.mkdirSync(path.join(sshd.root, 'Out'));
      fs.writeFileSync(path.join(sshd.root, 'Out', name('20261120', 5)), 'x');
      const p = new Poller(s, tempState(), { folder: 'Out', ledger: 'Out', owner: 'refused', stableMs: 0, maxAttempts: 2 });
      const [{ claim }] = (await p.takeFiles()).files;
      await sshd.restart({ sftpFlags: ['-P', 'rename,posix-rename,remove'] }); // from now on the server refuses
      s.drop(); // existing sessions keep their old sftp-server: reconnect
      await assert.rejects(p.complete(claim), /PERMISSION_DENIED/);
      const reported: string[] = [];
      for (let i = 0; i < 4; i++) for (const e of (await p.takeFiles()).errors) reported.push(e.error.message);
      assert.equal(reported.length, 1, reported.join('\n'));
      assert.match(reported[0], /refused 2 times; giving up/);
      assert.deepEqual((await p.takeFiles()).files, [], 'never handed out again');
    } finally {
      await s.close();
      await sshd.stop();
    }
  });
});

describe("'ledger' claims: mailboxes where the account may not rename or write", { skip: SSHD_SKIP }, () => {
  const put = (root: string, n: string) => fs.writeFileSync(path.join(root, 'Out', n), n);

  it('one file at a time across runtimes holds while a file is in flight', async () => {
    const sshd = await startSshd({ readOnly: true });
    fs.mkdirSync(path.join(sshd.root, 'Out'));
    for (const seq of [7, 8]) put(sshd.root, name('20261120', seq));
    const sessions = [new SftpSession(sessionSettings(sshd)), new SftpSession(sessionSettings(sshd))];
    const store = tempState();
    const options = { folder: 'Out', ledger: 'hub Out', stableMs: 0, claim: 'ledger' as const, after: 'leave' as const, oneAtATime: true };
    try {
      const a = new Poller(sessions[0], store, { ...options, owner: 'runtime-a' });
      const b = new Poller(sessions[1], store, { ...options, owner: 'runtime-b' });
      const [first] = (await a.takeFiles()).files.map((f) => f.claim);
      assert.equal(first.name, name('20261120', 7));
      assert.deepEqual((await a.takeFiles()).files, [], 'a waits for its own file');
      assert.deepEqual((await b.takeFiles()).files, [], 'b too: the next file waits for the first');
      await a.complete(first);
      assert.deepEqual((await b.takeFiles()).files.map((f) => f.claim.name), [name('20261120', 8)]);
    } finally {
      await Promise.all(sessions.map((x) => x.close()));
      await sshd.stop();
    }
  });

});

describe('polling a folder', { skip: SSHD_SKIP }, () => {
  let sshd: TestSshd;
  let proxy: FaultProxy;
  const sessions: SftpSession[] = [];
  let folderNo = 0;
  let folder: string;

  const session = (extra: Partial<SftpSettings> = {}) => {
    const s = new SftpSession(sessionSettings(sshd, { port: proxy.port, ...extra }));
    sessions.push(s);
    return s;
  };
  const poller = (s: SftpSession, store: StateStore = tempState(), extra: Partial<PollerOptions> = {}) =>
    new Poller(s, store, { folder, ledger: `${folder} ${extra.glob ?? '*'}`, owner: 'runtime-a', stableMs: 0, ...extra });
  const local = (...p: string[]) => path.join(sshd.root, folder, ...p);
  const put = (file: string, content: string | Buffer = file) => fs.writeFileSync(local(file), content);
  const list = (...sub: string[]) => (fs.existsSync(local(...sub)) ? fs.readdirSync(local(...sub)).filter((f) => !f.startsWith('.')).sort() : []);

  before(async () => {
    sshd = await startSshd();
    proxy = await startFaultProxy(sshd.port);
  });
  afterEach(async () => {
    proxy.clear();
    await Promise.all(sessions.splice(0).map((s) => s.close()));
  });
  after(async () => {
    await proxy?.close();
    await sshd?.stop();
  });
  const fresh = () => {
    folder = `Out${++folderNo}`;
    fs.mkdirSync(local(), { recursive: true });
  };

  it('one at a time: nothing more is claimed while a claim of a matching file waits, whoever made it', async () => {
    fresh();
    for (const seq of [1, 2, 3]) put(name('20261120', seq));
    put('OHO_123_20261120_00000001.DAT');
    const s = session();
    const first = poller(s, tempState(), { glob: 'GO_*.DAT', oneAtATime: true });
    const taken = (await first.takeFiles()).files.map((f) => f.claim);
    assert.deepEqual(taken.map((c) => c.name), [name('20261120', 1)]);
    assert.deepEqual((await first.takeFiles()).files, [], 'the first is not confirmed yet');
    // An earlier deployment's claim holds back a new poller of the same runtime and node too.
    const redeployed = poller(s, tempState(), { glob: 'GO_*.DAT', oneAtATime: true });
    assert.deepEqual((await redeployed.takeFiles()).files, []);
    // A poller of other files in the same folder is not held back.
    const other = poller(s, tempState(), { glob: 'OHO_*.DAT', oneAtATime: true, owner: 'runtime-a-oh' });
    assert.deepEqual((await other.takeFiles()).files.map((f) => f.claim.name), ['OHO_123_20261120_00000001.DAT']);
    await first.complete(taken[0]);
    assert.deepEqual((await first.takeFiles()).files.map((f) => f.claim.name), [name('20261120', 2)]);
  });

  it('one at a time across runtimes: settling a file while the same runtime polls never frees the lease for the next file in flight', async () => {
    // The interleaving a loaded machine produced in CI, made deterministic by pausing store calls: runtime a settles
    // file 1 while its next poll claims file 2, and runtime b's poll looked at the claim folder before file 2 was
    // claimed and asks for the lease just after the settlement. b must not take file 3 while file 2 is in flight.
    fresh();
    for (const seq of [1, 2, 3]) put(name('20261120', seq));
    const store = tempState();
    const gate = () => {
      let open!: () => void;
      const opened = new Promise<void>((r) => (open = r));
      return { opened, open, hit: false };
    };
    const aRelease = gate();
    const bLease = gate();
    const paused = (inner: StateStore, pause: { method: 'lease' | 'release'; g: ReturnType<typeof gate> }): StateStore =>
      new Proxy(inner, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            if (prop === pause.method && String(args[0]).startsWith('one file at a time') && !pause.g.hit) {
              pause.g.hit = true;
              await pause.g.opened;
            }
            return value.apply(target, args);
          };
        },
      });
    const options = { glob: 'GO_*.DAT', oneAtATime: true, ledger: `${folder} GO`, claimTimeoutMs: 60_000 };
    const a = poller(session(), paused(store, { method: 'release', g: aRelease }), { ...options, owner: 'runtime-a' });
    const b = poller(session(), paused(store, { method: 'lease', g: bLease }), { ...options, owner: 'runtime-b' });
    const [first] = (await a.takeFiles()).files.map((f) => f.claim);
    assert.equal(first.name, name('20261120', 1));
    // a's settlement of file 1: moved to the archive, held just before it gives the lease up.
    const settling = a.complete(first);
    await until(() => aRelease.hit);
    // b's poll: its recovery sees no claim; it waits for the lease.
    const bPoll = b.poll();
    await until(() => bLease.hit);
    // a's next poll claims file 2 (a still held the lease), then the settlement of file 1 goes on.
    const aPoll = a.poll();
    await new Promise((r) => setTimeout(r, 200));
    aRelease.open();
    await settling;
    const second = (await aPoll).claims.map((c) => c.name);
    assert.deepEqual(second, [name('20261120', 2)]);
    bLease.open();
    assert.deepEqual((await bPoll).claims.map((c) => c.name), [], 'b took a file while file 2 was in flight');
    await a.complete((await aPoll).claims[0]);
    assert.deepEqual((await b.poll()).claims.map((c) => c.name), [name('20261120', 3)], 'b takes file 3 once file 2 is settled');
  });

  it('a failed file goes to the error folder once and is not retried', async () => {
    fresh();
    put(name('20261120', 1));
    const p = poller(session());
    const [{ claim }] = (await p.takeFiles()).files;
    await p.fail(claim);
    assert.deepEqual(list('error'), [name('20261120', 1)]);
    assert.deepEqual((await p.takeFiles()).files, []);
  });

  it("'leave' puts the file back and the ledger keeps it from being taken again", async () => {
    fresh();
    put(name('20261120', 1));
    const store = tempState();
    const p = poller(session(), store, { after: 'leave' });
    const [{ claim }] = (await p.takeFiles()).files;
    await p.complete(claim);
    assert.deepEqual(list(), [name('20261120', 1)]);
    assert.deepEqual((await p.takeFiles()).files, []);
    assert.deepEqual((await poller(session(), store, { after: 'leave' }).takeFiles()).files, [], 'also after a restart');
  });

  it('2. a download cut short emits nothing; the file stays and the next poll takes it once', async () => {
    fresh();
    const data = randomBytes(2 * 1024 * 1024);
    put(name('20261120', 2), data);
    const p = poller(session());
    await p.recover();
    proxy.cutAfter('down', 300_000);
    const first = await p.takeFiles();
    assert.deepEqual(first.files, []);
    assert.equal(first.errors.length, 1);
    assert.deepEqual(list(), [name('20261120', 2)], 'the source is back in place');
    const second = await p.takeFiles();
    assert.equal(second.files.length, 1);
    assert.ok(second.files[0].content.equals(data));
    assert.deepEqual((await p.takeFiles()).files, []);
  });

  it('3. connection lost between processing and the after-processing move: completes after reconnect, no double processing', async () => {
    fresh();
    put(name('20261120', 3));
    const p = poller(session());
    const [{ claim }] = (await p.takeFiles()).files;
    proxy.resetAll();
    proxy.refuseNext(1);
    await p.complete(claim); // reconnects with backoff
    assert.deepEqual(list('archive'), [name('20261120', 3)]);

    put(name('20261120', 4));
    const [{ claim: second }] = (await p.takeFiles()).files;
    proxy.blackhole(true);
    await assert.rejects(p.complete(second));
    proxy.blackhole(false);
    assert.deepEqual((await p.takeFiles()).files, [], 'not handed out again');
    assert.deepEqual(list('archive'), [name('20261120', 3), name('20261120', 4)], 'the recorded confirmation was finished');
  });

  it('a claim never settled goes back after the timeout, and to the error folder after maxAttempts', async () => {
    fresh();
    put(name('20261120', 9));
    let now = 1_000_000;
    const events: PollerEvent[] = [];
    const p = poller(session(), tempState(), { claimTimeoutMs: 1000, maxAttempts: 2, now: () => now, onEvent: (e) => events.push(e) });
    assert.equal((await p.takeFiles()).files[0].claim.attempt, 1);
    now += 999;
    assert.deepEqual((await p.takeFiles()).files, [], 'still within the claim timeout');
    now += 1;
    assert.equal((await p.takeFiles()).files[0].claim.attempt, 2);
    now += 1000;
    assert.deepEqual((await p.takeFiles()).files, []);
    assert.deepEqual(list('error'), [name('20261120', 9)], 'a poison file stops after maxAttempts');
    // The audit trail of it: each step, with the attempt, the reason and one delivery id.
    assert.deepEqual(events.map((e) => [e.outcome, e.attempt, e.reason ?? '', e.at - 1_000_000]), [['taken', 1, '', 0], ['retried', 1, 'timeout', 1000], ['taken', 2, '', 1000], ['moved-to-error', 2, 'timeout', 2000]]);
    assert.equal(new Set(events.map((e) => e.deliveryId)).size, 1);
    assert.match(events[0].deliveryId!, /^[0-9a-f]{32}$/);
    assert.ok(events.every((e) => e.name === name('20261120', 9) && e.size === name('20261120', 9).length));
    assert.match(events[3].movedTo!, new RegExp(`/error/${name('20261120', 9)}$`));
  });

  it('a redeployed node hands its claims back at once: delivered again with the next attempt and the same delivery id', async () => {
    fresh();
    put(name('20261120', 21));
    const store = tempState();
    const events: PollerEvent[] = [];
    const first = poller(session(), store);
    const [{ claim }] = (await first.takeFiles()).files;
    assert.equal(claim.attempt, 1);
    assert.match(claim.deliveryId, /^[0-9a-f]{32}$/);
    first.close(); // the node is closed by a redeploy: the message carrying the claim is gone
    const redeployed = poller(session(), store, { onEvent: (e) => events.push(e) });
    const again = (await redeployed.takeFiles()).files.map((f) => f.claim);
    assert.deepEqual(again.map((c) => [c.name, c.attempt, c.deliveryId]), [[claim.name, 2, claim.deliveryId]], 'at once, not after the claim timeout');
    // The audit trail says why: a restart or redeploy, not a confirmation that never came.
    assert.deepEqual(events.map((e) => [e.outcome, e.attempt, e.reason ?? '']), [['retried', 1, 'restarted'], ['taken', 2, '']]);
    // A confirmation of the first delivery arriving late is refused: the claim it names is no longer held.
    await assert.rejects(redeployed.complete(claim), (err: Error & { code?: string }) => err.code === 'CLAIM_NOT_HELD');
    assert.deepEqual(list('archive'), []);
    await redeployed.complete(again[0]);
    assert.deepEqual(list('archive'), [name('20261120', 21)]);
  });

  it('a confirmation the state store could not record (Redis down) is recorded once it is back', { skip: REDIS_SKIP }, async () => {
    fresh();
    for (const seq of [24, 25]) put(name('20261120', seq));
    const redis = await startRedis();
    const store = new RedisStateStore({ url: redis.url, password: redis.password, connectTimeoutMs: 500 });
    try {
      const p = poller(session(), store, { oneAtATime: true });
      const [{ claim }] = (await p.takeFiles()).files;
      await redis.down();
      await assert.rejects(p.complete(claim), (err: Error & { code?: string }) => err.code === 'STATE_UNAVAILABLE');
      await assert.rejects(p.takeFiles(), 'nothing is taken while the store is down');
      await redis.up();
      let next: Claim[] | undefined;
      for (let i = 0; i < 100 && !next; i++) {
        next = await p.takeFiles().then((r) => r.files.map((f) => f.claim), () => undefined);
        if (!next) await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(list('archive'), [name('20261120', 24)], 'the lost confirmation was recorded and acted on');
      assert.deepEqual(next!.map((c) => c.name), [name('20261120', 25)], 'and the next file follows at once');
    } finally {
      await store.close();
      await redis.stop();
    }
  });

  it('a forged or stale ticket is refused and nothing is moved or deleted', async () => {
    fresh();
    put(name('20261120', 23));
    fs.mkdirSync(local('..', 'In'), { recursive: true });
    fs.writeFileSync(local('..', 'In', 'TA_123_SEL_MN2708_00000001.DAT'), 'outgoing');
    const p = poller(session(), tempState(), { after: 'delete' });
    const [{ claim }] = (await p.takeFiles()).files;
    const refused = (err: Error & { code?: string }) => err.code === 'CLAIM_NOT_HELD' && !err.message.includes(claim.token);
    for (const forged of [
      { name: 'TA_123_SEL_MN2708_00000001.DAT', token: claim.token, path: 'In/TA_123_SEL_MN2708_00000001.DAT' },
      { name: claim.name, token: 'made-up', path: claim.path },
      { name: claim.name } as unknown as Claim,
    ]) {
      await assert.rejects(p.complete(forged as Claim), refused);
      await assert.rejects(p.fail(forged as Claim), refused);
      await assert.rejects(p.release(forged as Claim), refused);
    }
    assert.ok(fs.existsSync(local('..', 'In', 'TA_123_SEL_MN2708_00000001.DAT')), 'the outgoing file is untouched');
    assert.ok(fs.readdirSync(local('.esr-claims')).length === 1, 'the real claim is still waiting');
    await p.complete(claim);
    assert.equal(fs.readdirSync(local('.esr-claims')).length, 0);
    await assert.rejects(p.complete(claim), refused, 'settled already: a second confirmation moves nothing');
  });

  it('a download that keeps failing counts as attempts and ends in the error folder', async () => {
    fresh();
    put(name('20261120', 22), randomBytes(1024 * 1024));
    const events: PollerEvent[] = [];
    const p = poller(session(), tempState(), { maxAttempts: 2, onEvent: (e) => events.push(e) });
    await p.recover();
    for (let i = 0; i < 2; i++) {
      proxy.cutAfter('down', 100_000);
      const r = await p.takeFiles();
      assert.deepEqual(r.files, []);
      assert.equal(r.errors[0].claim?.attempt, i + 1);
    }
    assert.deepEqual(list('error'), [name('20261120', 22)]);
    assert.deepEqual(events.map((e) => [e.outcome, e.attempt, e.reason ?? '']), [['taken', 1, ''], ['retried', 1, 'handedBack'], ['taken', 2, ''], ['moved-to-error', 2, 'handedBack']]);
    assert.deepEqual((await p.takeFiles()).files, []);
  });

  it('one file that cannot be handled does not stop the others', async () => {
    fresh();
    put('bad\\name.DAT');
    put(name('20261120', 23));
    const p = poller(session());
    const r = await p.takeFiles();
    assert.deepEqual(r.files.map((f) => f.claim.name), [name('20261120', 23)]);
    assert.match(r.errors[0].error.message, /backslash/);
  });

  it('a corrected file re-uploaded after a failure is taken again; in leave mode a changed file is too', async () => {
    fresh();
    put(name('20261120', 24), 'v1');
    const p = poller(session(), tempState(), { after: 'leave' });
    const [{ claim }] = (await p.takeFiles()).files;
    await p.fail(claim);
    put(name('20261120', 24), 'v2');
    const again = (await p.takeFiles()).files;
    assert.equal(again[0]?.content.toString(), 'v2');
    await p.complete(again[0].claim);
    assert.deepEqual((await p.takeFiles()).files, [], 'left in place and unchanged: not taken again');
    fs.writeFileSync(local(name('20261120', 24)), 'v3');
    fs.utimesSync(local(name('20261120', 24)), new Date(), new Date(Date.now() + 5000));
    assert.equal((await p.takeFiles()).files[0]?.content.toString(), 'v3', 'changed since: a new version');
  });

  it('never takes a file past an earlier one that is still being written', async () => {
    fresh();
    let now = 1_000_000;
    const p = poller(session(), tempState(), { stableMs: 1000, now: () => now });
    put(name('20261120', 2));
    assert.deepEqual((await p.takeFiles()).files, [], 'first sight');
    now += 1000;
    put(name('20261120', 1)); // arrives late, and is still unsettled
    assert.deepEqual((await p.takeFiles()).files, [], 'sequence 2 is stable, but 1 comes first and is not');
    now += 1000;
    assert.deepEqual((await p.takeFiles()).files.map((f) => f.claim.name), [name('20261120', 1), name('20261120', 2)]);
  });

  it('12. a file still growing is not taken until its size and mtime are stable', async () => {
    fresh();
    const file = name('20261120', 12);
    const p = poller(session(), tempState(), { stableMs: 1200 });
    let written = '';
    for (let i = 0; i < 8; i++) {
      written += `PRA~${i}\n`;
      fs.appendFileSync(local(file), `PRA~${i}\n`);
      // mtime has whole-second resolution over SFTP: also move it on, as a real writer would.
      fs.utimesSync(local(file), new Date(), new Date(Date.now() + i * 1000));
      assert.deepEqual((await p.takeFiles()).files, [], `taken while growing (step ${i})`);
      await new Promise((r) => setTimeout(r, 300));
    }
    let files: { claim: Claim; content: Buffer }[] = [];
    for (let i = 0; i < 20 && files.length === 0; i++) {
      files = (await p.takeFiles()).files;
      if (!files.length) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(files.length, 1);
    assert.equal(files[0].content.toString(), written);
  });

  it('15. 10 000 files: bounded memory, ESR order honoured, at most N per poll', async () => {
    fresh();
    const count = 10_000;
    const order = Array.from({ length: count }, (_, i) => i).sort(() => Math.random() - 0.5);
    for (const i of order) fs.writeFileSync(local(name(i % 2 ? '20261121' : '20261120', i)), '');
    const p = poller(session({ operationTimeoutMs: 20_000 }), tempState(), { maxPerPoll: 100 });
    const heapBefore = process.memoryUsage().heapUsed;
    const first = (await p.takeFiles()).files;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    assert.equal(first.length, 100);
    const expected = Array.from({ length: count }, (_, i) => i).filter((i) => i % 2 === 0).slice(0, 100).map((i) => name('20261120', i));
    assert.deepEqual(first.map((f) => f.claim.name), expected);
    assert.ok(heapGrowth < 64 * 1024 * 1024, `heap grew by ${heapGrowth} bytes for a listing of ${count} files`);
    const second = (await p.takeFiles()).files;
    assert.equal(second.length, 100);
    assert.equal(second[0].claim.name, name('20261120', 200));
  });

});
