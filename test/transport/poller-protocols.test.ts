/**
 * The poller's promises over both transports, against real servers (OpenSSH for SFTP, ProFTPD for FTPS): files in
 * ESR order, each processed exactly once across a restart mid-batch and two runtimes, a cut download emitting
 * nothing, and ledger claims on a read-only mailbox.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Transport } from '../../core/transport';
import { Poller, type Claim, type PollerOptions } from '../../core/poller';
import type { StateStore } from '../../core/state';
import { PROTOCOLS, startHub, type TestHub } from '../support/hubs';
import { tempState } from '../support/temp-state';

const name = (date: string, seq: number) => `GO_123_GDW_GOC_${date}_${String(seq).padStart(8, '0')}.DAT`;

for (const { protocol, skip } of PROTOCOLS) {
  describe(`polling over ${protocol.toUpperCase()}`, { skip }, () => {
    let hub: TestHub;
    const open: Transport[] = [];
    let folderNo = 0;
    let folder: string;
    const session = (extra: Record<string, unknown> = {}) => {
      const t = hub.open(extra);
      open.push(t);
      return t;
    };
    const poller = (t: Transport, store: StateStore = tempState(), extra: Partial<PollerOptions> = {}) =>
      new Poller(t, store, { folder, ledger: `${protocol} ${folder}`, owner: 'runtime-a', stableMs: 0, ...extra });
    const local = (...p: string[]) => path.join(hub.root, folder, ...p);
    const put = (file: string, content: string | Buffer = file) => fs.writeFileSync(local(file), content);
    const list = (...sub: string[]) => (fs.existsSync(local(...sub)) ? fs.readdirSync(local(...sub)).filter((f) => !f.startsWith('.')).sort() : []);
    const fresh = () => {
      folder = `Out${++folderNo}`;
      fs.mkdirSync(local(), { recursive: true });
    };

    before(async () => {
      hub = await startHub(protocol);
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close()));
    });
    after(async () => {
      await hub?.stop();
    });

    it('takes files in ESR order, claims them, and archives each once confirmed', async () => {
      fresh();
      for (const [d, s] of [['20200602', 1632], ['20200602', 1631], ['20221231', 1791], ['20190101', 1]] as const) put(name(d, s));
      put('upload.DAT.part');
      put('.hidden.DAT');
      const p = poller(session());
      const { files } = await p.takeFiles();
      assert.deepEqual(files.map((f) => f.claim.name), [name('20190101', 1), name('20200602', 1631), name('20200602', 1632), name('20221231', 1791)]);
      assert.equal(files[0].content.toString(), name('20190101', 1));
      assert.deepEqual(list(), ['upload.DAT.part'], 'claimed files left the folder; files being written stay');
      assert.deepEqual((await p.takeFiles()).files, [], 'a claimed file is not taken twice');
      for (const f of files) await p.complete(f.claim);
      assert.deepEqual(list('archive'), files.map((f) => f.claim.name).sort());
      assert.equal(await p.ledger(files[0].claim.name), undefined, 'an archived file needs no ledger entry');
    });

    it('a connection cut mid-download emits nothing; the file stays and the next poll takes it once', async () => {
      fresh();
      put(name('20261120', 1), Buffer.alloc(48 * 1024 * 1024, 'z'));
      const p = poller(session({ operationTimeoutMs: 3000 }), tempState(), { maxAttempts: 5 });
      const cut = setTimeout(() => void hub.cutConnections(), 60);
      const first = await p.takeFiles();
      clearTimeout(cut);
      const second = first.files.length ? first : await p.takeFiles();
      if (first.files.length === 0) assert.ok(first.errors.length > 0, 'the cut was reported');
      assert.equal(second.files.length, 1);
      assert.equal(second.files[0].content.length, 48 * 1024 * 1024, 'only ever the whole file');
      await p.complete(second.files[0].claim);
      assert.deepEqual((await p.takeFiles()).files, []);
    });

    it('a restart mid-batch: each file processed exactly once', async () => {
      fresh();
      for (let i = 1; i <= 5; i++) put(name('20261120', i));
      const store = tempState();
      const processed = new Map<string, number>();
      const handle = async (pp: Poller, claim: Claim) => {
        processed.set(claim.name, (processed.get(claim.name) ?? 0) + 1);
        await pp.complete(claim);
      };
      const before = poller(session(), store, { maxPerPoll: 5 });
      const batch = (await before.takeFiles()).files;
      assert.equal(batch.length, 5);
      for (const f of batch.slice(0, 2)) await handle(before, f.claim);
      Poller.forgetRecoveredOwners();
      const after = poller(session(), store, { maxPerPoll: 5 });
      const again = (await after.takeFiles()).files;
      assert.deepEqual(again.map((f) => f.claim.name), batch.slice(2).map((f) => f.claim.name));
      for (const f of again) await handle(after, f.claim);
      assert.deepEqual([...processed.values()], [1, 1, 1, 1, 1]);
      assert.equal(list('archive').length, 5);
    });

    it('two runtimes polling one folder: every file processed exactly once', async () => {
      fresh();
      const count = 24;
      for (let i = 1; i <= count; i++) put(name('20261120', i));
      const store = tempState();
      const a = poller(session(), store, { owner: 'runtime-a', maxPerPoll: 5 });
      const b = poller(session(), store, { owner: 'runtime-b', maxPerPoll: 5 });
      const processed = new Map<string, string[]>();
      for (let round = 0; round < 20 && processed.size < count; round++) {
        const results = await Promise.all([a, b].map(async (pp, i) => ({ pp, who: 'ab'[i], files: (await pp.takeFiles()).files })));
        for (const { pp, who, files } of results) {
          for (const f of files) {
            processed.set(f.claim.name, [...(processed.get(f.claim.name) ?? []), who]);
            await pp.complete(f.claim);
          }
        }
      }
      assert.equal(processed.size, count);
      assert.ok([...processed.values()].every((by) => by.length === 1), 'no file processed twice');
      assert.equal(list('archive').length, count);
    });
  });

  describe(`ledger claims on mailboxes that may not rename or write, over ${protocol.toUpperCase()}`, { skip }, () => {
    it("renames refused, deletes allowed: 'delete' works as esr_api does; a failed file stays, marked, and is not taken again", async () => {
      const hub = await startHub(protocol, { refuse: ['rename'] });
      fs.mkdirSync(path.join(hub.root, 'Out'));
      for (const seq of [5, 6]) fs.writeFileSync(path.join(hub.root, 'Out', name('20261120', seq)), 'x');
      const t = hub.open();
      try {
        const p = new Poller(t, tempState(), { folder: 'Out', ledger: 'hub Out', owner: 'esr-api-like', stableMs: 0, claim: 'ledger', after: 'delete' });
        const { files, errors } = await p.takeFiles();
        assert.deepEqual(errors, []);
        const [ok, bad] = files.map((f) => f.claim);
        await p.complete(ok);
        await p.fail(bad);
        assert.deepEqual(fs.readdirSync(path.join(hub.root, 'Out')).filter((n) => n.endsWith('.DAT')), [name('20261120', 6)]);
        assert.deepEqual((await p.takeFiles()).files, []);
        fs.writeFileSync(path.join(hub.root, 'Out', name('20261120', 6)), 'corrected, and longer');
        assert.deepEqual((await p.takeFiles()).files.map((f) => f.claim.name), [name('20261120', 6)]);
      } finally {
        await t.close();
        await hub.stop();
      }
    });

    it("'leave' mode: each file delivered once, across a restart and two runtimes, and left where it was", async () => {
      const hub = await startHub(protocol, { readOnly: true });
      fs.mkdirSync(path.join(hub.root, 'Out'));
      for (const seq of [1, 2, 3, 4]) fs.writeFileSync(path.join(hub.root, 'Out', name('20261120', seq)), 'x');
      const sessions = [hub.open(), hub.open()];
      const store = tempState();
      const options = { folder: 'Out', ledger: 'hub Out', stableMs: 0, claim: 'ledger' as const, after: 'leave' as const, maxPerPoll: 2 };
      try {
        const a = new Poller(sessions[0], store, { ...options, owner: 'runtime-a' });
        const b = new Poller(sessions[1], store, { ...options, owner: 'runtime-b' });
        const [fromA, fromB] = await Promise.all([a.takeFiles(), b.takeFiles()]);
        const taken = [...fromA.files, ...fromB.files].map((f) => f.claim.name).sort();
        assert.deepEqual(taken, [1, 2, 3, 4].map((n) => name('20261120', n)), 'each file taken by one runtime');
        for (const f of fromA.files) await a.complete(f.claim);
        const restarted = new Poller(sessions[1], store, { ...options, owner: 'runtime-b' });
        const again = (await restarted.takeFiles()).files.map((f) => f.claim);
        assert.deepEqual(again.map((c) => c.name).sort(), fromB.files.map((f) => f.claim.name).sort());
        for (const c of again) await restarted.complete(c);
        assert.deepEqual((await a.takeFiles()).files, [], 'nothing is taken again');
        assert.deepEqual(fs.readdirSync(path.join(hub.root, 'Out')).sort(), [1, 2, 3, 4].map((n) => name('20261120', n)));
      } finally {
        await Promise.all(sessions.map((x) => x.close()));
        await hub.stop();
      }
    });
  });
}
