/**
 * The same cases over both transports, against real servers: OpenSSH (SFTP) and ProFTPD (FTPS). Each promise of
 * the Transport interface is broken the way a hub breaks it: refused operations, a server stopped mid-transfer,
 * a server that never answers, a changed host key or certificate, existing targets.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { openTransport, type Transport, type TransportSettings } from '../../core/transport';
import { PROTOCOLS, startHub, type TestHub } from '../support/hubs';
import { rejectsWith } from '../support/rejects';

function files(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

const big = Buffer.alloc(6 * 1024 * 1024, 'x');

for (const { protocol, skip } of PROTOCOLS) {
  const PIN = protocol === 'ftps' ? 'certFingerprint' : 'hostFingerprint';
  const MISMATCH = protocol === 'ftps' ? 'CERT_MISMATCH' : 'HOST_KEY_MISMATCH';
  const NOT_PINNED = protocol === 'ftps' ? 'CERT_NOT_TRUSTED' : 'HOST_KEY_NOT_PINNED';
  const INSECURE = protocol === 'ftps' ? 'acceptAnyCertificate' : 'acceptAnyHostKey';

  describe(`transport contract over ${protocol.toUpperCase()}`, { skip }, () => {
    let hub: TestHub;
    const open: Transport[] = [];
    const session = (extra: Record<string, unknown> = {}) => {
      const t = hub.open(extra);
      open.push(t);
      return t;
    };
    let n = 0;
    const folder = () => {
      const f = `c${++n}`;
      fs.mkdirSync(path.join(hub.root, f), { recursive: true });
      return f;
    };
    const local = (...p: string[]) => path.join(hub.root, ...p);

    before(async () => {
      hub = await startHub(protocol);
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close()));
    });
    after(async () => {
      await hub?.stop();
    });

    it('lists with a glob, stats, streams a file both ways, renames, deletes and makes folders', async () => {
      const f = folder();
      fs.writeFileSync(local(f, 'GO_123_GDW_GOC_20261120_00000001.DAT'), 'one');
      fs.writeFileSync(local(f, 'notes.txt'), 'x');
      const t = session();
      assert.deepEqual((await t.list(f, '*.DAT')).map((e) => [e.name, e.path, e.size, e.isFile]), [['GO_123_GDW_GOC_20261120_00000001.DAT', `${f}/GO_123_GDW_GOC_20261120_00000001.DAT`, 3, true]]);
      const st = await t.stat(`${f}/notes.txt`);
      assert.equal(st?.size, 1);
      assert.ok(Math.abs(st!.mtime - fs.statSync(local(f, 'notes.txt')).mtimeMs) < 61_000, 'mtime in ms since the epoch');
      assert.equal(await t.stat(`${f}/missing.DAT`), undefined);
      assert.equal((await t.stat(f))?.isDirectory, true);
      await rejectsWith(t.getBuffer(`${f}/missing.DAT`), 'NO_SUCH_FILE');
      const r = await t.put(`${f}/In/big.DAT`, Readable.from([big.subarray(0, 1_000_000), big.subarray(1_000_000)]), { mkdirs: true });
      assert.deepEqual([r.path, r.bytes, r.skipped], [`${f}/In/big.DAT`, big.length, false]);
      assert.ok((await t.getBuffer(`${f}/In/big.DAT`)).equals(big));
      const streamed = await t.get(`${f}/In/big.DAT`, async (stream, size) => {
        let bytes = 0;
        for await (const c of stream) bytes += (c as Buffer).length;
        return [bytes, size];
      });
      assert.deepEqual(streamed, [big.length, big.length]);
      await t.rename(`${f}/In/big.DAT`, `${f}/Archive/2026/big.DAT`, { mkdirs: true });
      await rejectsWith(t.rename(`${f}/notes.txt`, `${f}/Archive/2026/big.DAT`), 'EEXIST');
      await t.rename(`${f}/notes.txt`, `${f}/Archive/2026/big.DAT`, { overwrite: true });
      assert.equal(fs.readFileSync(local(f, 'Archive/2026/big.DAT'), 'utf8'), 'x');
      await t.delete(`${f}/Archive/2026/big.DAT`);
      await t.mkdir(`${f}/a/b/c`);
      assert.ok(fs.statSync(local(f, 'a/b/c')).isDirectory());
      assert.deepEqual(files(local(f, 'In')), [], 'no temporary file left');
      assert.equal(t.protocol, protocol);
      assert.equal(t.fingerprint, hub.pin);
    });

    it('an existing target under each policy and each upload mode', async () => {
      const t = session();
      for (const mode of ['temp-name', 'temp-folder', 'direct'] as const) {
        const f = folder();
        const target = `${f}/TA_123_SEL_MN2708_00000001.DAT`;
        await t.put(target, 'first', { mode });
        await rejectsWith(t.put(target, 'second', { mode }), 'EEXIST');
        assert.equal((await t.put(target, 'second', { mode, ifExists: 'skip' })).skipped, true);
        assert.equal(fs.readFileSync(local(target), 'utf8'), 'first', `${mode}: never replaced unless asked`);
        assert.equal((await t.put(target, 'third', { mode, ifExists: 'suffix' })).path, `${f}/TA_123_SEL_MN2708_00000001_1.DAT`);
        await t.put(target, 'fourth', { mode, ifExists: 'overwrite' });
        assert.equal(fs.readFileSync(local(target), 'utf8'), 'fourth');
        assert.deepEqual(files(local(f)), ['TA_123_SEL_MN2708_00000001.DAT', 'TA_123_SEL_MN2708_00000001_1.DAT'], `${mode}: nothing else left`);
      }
    });

    it('a hub that takes any new file in In/ at once: the temporary folder mode lets it take only whole files', async () => {
      const f = folder();
      const inbox = local(f, 'In');
      fs.mkdirSync(inbox);
      fs.mkdirSync(local(f, 'taken'));
      const taken: { name: string; size: number }[] = [];
      const sweep = () => {
        for (const nm of fs.readdirSync(inbox)) {
          try {
            const size = fs.statSync(path.join(inbox, nm)).size;
            fs.renameSync(path.join(inbox, nm), local(f, 'taken', `${taken.length}-${nm}`));
            taken.push({ name: nm, size });
          } catch {
            // gone meanwhile
          }
        }
      };
      const w = fs.watch(inbox, sweep);
      const timer = setInterval(sweep, 1);
      try {
        const t = session();
        await t.put(`${f}/In/TA_123_SEL_MN2708_00000001.DAT`, big, { mode: 'temp-folder', tempFolder: `${f}/upload` });
        await t.put(`${f}/In/TA_123_SEL_MN2708_00000002.DAT`, big, { mode: 'temp-folder', tempFolder: `${f}/upload` });
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(taken, [1, 2].map((i) => ({ name: `TA_123_SEL_MN2708_0000000${i}.DAT`, size: big.length })), 'only whole files, each once');
        assert.deepEqual(files(local(f, 'upload')), []);
      } finally {
        w.close();
        clearInterval(timer);
      }
    });

    it('a done marker is put after the file it marks', async () => {
      const f = folder();
      const t = session();
      await t.put(`${f}/TA_123_SEL_MN2708_00000002.DAT`, 'whole', { doneMarker: '.done' });
      assert.deepEqual(files(local(f)), ['TA_123_SEL_MN2708_00000002.DAT', 'TA_123_SEL_MN2708_00000002.DAT.done']);
      assert.equal(fs.readFileSync(local(f, 'TA_123_SEL_MN2708_00000002.DAT.done'), 'utf8'), '');
    });

    it('a cut upload (the source fails half way) leaves nothing under the final name nor a temporary file, without waiting for another operation', async () => {
      const t = session();
      for (const mode of ['temp-name', 'direct'] as const) {
        const f = folder();
        const source = new Readable({ read() {} });
        source.push(big.subarray(0, 2_000_000));
        setTimeout(() => source.destroy(new Error('the source broke')), 100);
        await assert.rejects(t.put(`${f}/cut.DAT`, source, { mode }));
        // Removed at once, over a new connection where the failure took the old one with it.
        const until = Date.now() + 3000;
        while (files(local(f)).length && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
        assert.deepEqual(files(local(f)), [], `${mode}: nothing left`);
      }
    });

    it('a connection cut mid-download fails the download; the next operation reconnects', async () => {
      const f = folder();
      fs.writeFileSync(local(f, 'big.DAT'), Buffer.alloc(64 * 1024 * 1024, 'y'));
      const t = session({ operationTimeoutMs: 3000 });
      let restarted: Promise<void> | undefined;
      const got = t.get(`${f}/big.DAT`, async (stream) => {
        let bytes = 0;
        for await (const c of stream) {
          bytes += (c as Buffer).length;
          if (!restarted && bytes > 1_000_000) restarted = hub.cutConnections();
          await new Promise((r) => setImmediate(r));
        }
        return bytes;
      });
      await assert.rejects(got, (err: Error & { code?: string }) => !!err.code, 'never a short file taken as whole');
      await restarted;
      assert.equal((await t.list(f)).length, 1);
    });

    it('a server that stops answering fails the operation within its timeout, and close releases every socket', async () => {
      const silent = net.createServer({ allowHalfOpen: true }, () => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const port = (silent.address() as net.AddressInfo).port;
      const held = () => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().filter((h) => h instanceof net.Socket && (h as net.Socket).remotePort === port).length;
      try {
        for (let i = 0; i < 10; i++) {
          const t = openTransport({ ...hub.settings(), port, connectTimeoutMs: 200, operationTimeoutMs: 300, retries: 0 } as TransportSettings);
          const started = Date.now();
          await rejectsWith(t.list('.'), 'ETIMEDOUT');
          assert.ok(Date.now() - started < 3000);
          await t.close();
        }
        const until = Date.now() + 3000;
        while (held() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        assert.equal(held(), 0, 'sockets still held');
      } finally {
        silent.close();
      }
    });

    it('a refused connection is ECONNREFUSED, tried again with backoff, then reported', async () => {
      const free = net.createServer();
      await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
      const port = (free.address() as net.AddressInfo).port;
      await new Promise((r) => free.close(r));
      const t = openTransport({ ...hub.settings(), port, retries: 2, backoffInitialMs: 20 } as TransportSettings);
      open.push(t);
      await rejectsWith(t.list('.'), 'ECONNREFUSED');
    });

    it('a changed host key or certificate is refused before any secret is sent; no pin shows what to pin', async () => {
      const changed = session({ [PIN]: hub.otherPin });
      const err = await rejectsWith(changed.list('.'), MISMATCH);
      assert.ok(err.message.includes(hub.pin) && err.message.includes(hub.otherPin));
      const unpinned = session({ [PIN]: '' });
      const shown = await rejectsWith(unpinned.list('.'), NOT_PINNED);
      assert.ok(shown.message.includes(hub.pin), 'the refusal shows what the server presented');
      assert.equal(unpinned.fingerprint, hub.pin);
      await session({ [PIN]: '', [INSECURE]: true }).list('.');
      await rejectsWith(session({ [PIN]: protocol === 'ftps' ? 'SHA1 Fingerprint=AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD' : 'MD5:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99' }).list('.'), 'BAD_PIN');
      await session({ [PIN]: `${hub.otherPin}\n${hub.pin}` }).list('.'); // a hub rotating its key or certificate
    });

    if (protocol === 'ftps') it('implicit TLS against an explicit server says which setting to check, at once', async () => {
      const started = Date.now();
      const err = await rejectsWith(session({ tls: 'implicit' }).list('.'), 'TLS_MISMATCH');
      assert.match(err.message, /explicit or implicit/);
      assert.ok(Date.now() - started < 1500, 'not retried');
    });

    it('a wrong password is AUTH_FAILED, not retried, and never in the message', async () => {
      const t = session(protocol === 'ftps' ? { password: 'wrong-password-123' } : { privateKey: undefined, password: 'wrong-password-123' });
      const started = Date.now();
      const err = await rejectsWith(t.list('.'), 'AUTH_FAILED');
      assert.ok(!err.message.includes('wrong-password-123'));
      assert.ok(Date.now() - started < 2500, 'not retried');
    });

    it('names with control characters are refused from every operation (EBADPATH)', async () => {
      const t = session();
      const badPath = (p: Promise<unknown>) => assert.rejects(p, (err: { code?: string }) => err.code === 'EBADPATH');
      for (const bad of ['a\r\nDELE x', 'a\tb', 'a\u0000b']) {
        await badPath(t.put(`In/${bad}`, 'x'));
        await badPath(t.delete(bad));
        await badPath(t.rename('x', bad));
        await badPath(t.getBuffer(bad));
        await badPath(t.list(bad));
      }
    });

    it('a full disk fails the upload with nothing left behind (a 1 MB tmpfs; needs mount rights)', async (t) => {
      const f = folder();
      const small = local(f, 'small');
      fs.mkdirSync(small);
      const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
      if (mounted.status !== 0) return t.skip(`skipped: cannot mount a tmpfs here (${String(mounted.stderr).trim() || mounted.status})`);
      try {
        const tr = session();
        for (const mode of ['temp-name', 'direct'] as const) {
          await assert.rejects(tr.put(`${f}/small/TA_123_SEL_MN2708_00000009.DAT`, big, { mode }), (err: { code?: string }) => typeof err.code === 'string');
          const until = Date.now() + 3000;
          while (files(small).length && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
          assert.deepEqual(files(small), [], `${mode}: nothing left`);
        }
        await tr.put(`${f}/small/TA_123_SEL_MN2708_00000009.DAT`, 'fits');
        assert.equal(fs.readFileSync(path.join(small, 'TA_123_SEL_MN2708_00000009.DAT'), 'utf8'), 'fits', 'the connection is usable afterwards');
      } finally {
        await Promise.all(open.splice(0).map((x) => x.close()));
        spawnSync('umount', ['-l', small]);
      }
    });

    it('operations leave in the order they were asked for', async () => {
      const f = folder();
      const t = session();
      const done: string[] = [];
      await Promise.all([
        t.put(`${f}/1.DAT`, big).then(() => done.push('1')),
        t.put(`${f}/2.DAT`, 'small').then(() => done.push('2')),
        t.list(f).then((l) => done.push(`list ${l.length}`)),
      ]);
      assert.deepEqual(done, ['1', '2', 'list 2']);
    });
  });

  describe(`accounts that may do little, over ${protocol.toUpperCase()}`, { skip }, () => {
    it('read-only: uploads fail with nothing left behind; Test connection reports what may be done', async () => {
      const hub = await startHub(protocol, { readOnly: true });
      const t = hub.open();
      try {
        fs.mkdirSync(path.join(hub.root, 'Out'));
        fs.writeFileSync(path.join(hub.root, 'Out', 'GO_1.DAT'), 'staff');
        await assert.rejects(t.put('Out/ro.DAT', 'data'));
        assert.deepEqual(files(path.join(hub.root, 'Out')), ['GO_1.DAT']);
        const probe = hub.open();
        const access = await probe.probeFolder('Out', true).finally(() => probe.close());
        assert.equal(access.list, 'yes');
        assert.equal(access.read, 'yes');
        assert.equal(access.stat, 'yes');
        assert.notEqual(access.write, 'yes');
        assert.equal(access.rename, 'untried');
        assert.deepEqual(files(path.join(hub.root, 'Out')), ['GO_1.DAT'], 'the probe left nothing');
      } finally {
        await t.close();
        await hub.stop();
      }
    });

    it('stat refused: uploads still work, and an existing target is still refused where listing tells', async () => {
      const hub = await startHub(protocol, { refuse: ['stat'] });
      const t = hub.open();
      try {
        const r = await t.put('TA_123_SEL_MN2708_00000001.DAT', 'whole file');
        assert.deepEqual([r.path, r.bytes], ['TA_123_SEL_MN2708_00000001.DAT', 10]);
        assert.equal(fs.readFileSync(path.join(hub.root, 'TA_123_SEL_MN2708_00000001.DAT'), 'utf8'), 'whole file');
        await rejectsWith(t.put('TA_123_SEL_MN2708_00000001.DAT', 'again'), 'EEXIST');
        assert.equal(fs.readFileSync(path.join(hub.root, 'TA_123_SEL_MN2708_00000001.DAT'), 'utf8'), 'whole file', 'never replaced');
        const access = await t.probeFolder('.', true);
        assert.equal(access.write, 'yes');
        assert.equal(access.delete, 'yes');
        assert.deepEqual(files(hub.root), ['TA_123_SEL_MN2708_00000001.DAT'], 'the probe left nothing');
      } finally {
        await t.close();
        await hub.stop();
      }
    });

    it('renames refused: direct uploads (with a done marker) work, the default says why it cannot', async () => {
      const hub = await startHub(protocol, { refuse: ['rename'] });
      const t = hub.open();
      try {
        await rejectsWith(t.put('TA_123_SEL_MN2708_00000003.DAT', 'x'), 'PERMISSION_DENIED');
        const r = await t.put('TA_123_SEL_MN2708_00000003.DAT', big, { mode: 'direct', doneMarker: '.done' });
        assert.equal(r.bytes, big.length);
        assert.equal(fs.statSync(path.join(hub.root, 'TA_123_SEL_MN2708_00000003.DAT')).size, big.length);
        assert.deepEqual(files(hub.root), ['TA_123_SEL_MN2708_00000003.DAT', 'TA_123_SEL_MN2708_00000003.DAT.done']);
        const access = await t.probeFolder('.', true);
        assert.deepEqual([access.write, access.rename, access.delete], ['yes', { no: 'PERMISSION_DENIED' }, 'yes']);
        assert.ok(t.connected, 'a refusal is not a lost connection');
      } finally {
        await t.close();
        await hub.stop();
      }
    });
  });
}
