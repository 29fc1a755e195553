/**
 * The SFTP transport against a real OpenSSH server, with a TCP proxy in between that injects faults.
 * Numbers refer to the failure list of the SFTP issue.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TransportError, SftpSession, type SessionStatus, type SftpSettings } from '../../core/transport';
import { CHUNK, WINDOW } from '../../core/transport/sftp-transfer';
import { SSHD_SKIP, sessionSettings, startSshd, type TestSshd } from '../support/sshd';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { rejectsWith } from '../support/rejects';

function files(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

describe('SFTP transport against OpenSSH', { skip: SSHD_SKIP }, () => {
  let sshd: TestSshd;
  let proxy: FaultProxy;
  const sessions: SftpSession[] = [];
  const open = (extra: Partial<SftpSettings> = {}, viaProxy = true) => {
    const s = new SftpSession(sessionSettings(sshd, viaProxy ? { port: proxy.port, ...extra } : extra));
    sessions.push(s);
    return s;
  };

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

  it('1. an upload cut after N bytes leaves no file under the final name; the retry gives an identical file', async () => {
    const s = open();
    const data = randomBytes(3 * 1024 * 1024);
    await s.list('.');
    proxy.cutAfter('up', 500_000);
    await assert.rejects(s.put('In/TA_123_SEL_MN2708_00000001.DAT', data, { mkdirs: true }));
    assert.ok(!fs.existsSync(path.join(sshd.root, 'In/TA_123_SEL_MN2708_00000001.DAT')));
    const result = await s.put('In/TA_123_SEL_MN2708_00000001.DAT', data, { mkdirs: true });
    assert.equal(result.bytes, data.length);
    assert.ok(fs.readFileSync(path.join(sshd.root, 'In/TA_123_SEL_MN2708_00000001.DAT')).equals(data));
    assert.deepEqual(files(path.join(sshd.root, 'In')), ['TA_123_SEL_MN2708_00000001.DAT'], 'the cut upload\'s temporary file was removed after reconnecting');
  });

  it('streams a download with backpressure: a consumer that does not read holds back the transfer', async () => {
    const s = open();
    const data = randomBytes(20 * 1024 * 1024);
    fs.writeFileSync(path.join(sshd.root, 'big.bin'), data);
    let buffered = 0;
    const back = await s.get('big.bin', async (stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('data', () => stream.pause()); // the consumer stops after its first chunk
      await new Promise((r) => setTimeout(r, 700));
      buffered = stream.readableLength;
      const ended = new Promise((r) => stream.once('end', r));
      stream.resume();
      await ended;
      return Buffer.concat(chunks);
    });
    assert.ok(back.equals(data));
    assert.ok(buffered > 0 && buffered <= 3 * CHUNK * WINDOW, `held ${buffered} bytes while the consumer was not reading`);
  });

  it('6. a server that stops answering: timeout, recovery, no hung promise, no leaked socket', async () => {
    const s = open();
    fs.writeFileSync(path.join(sshd.root, 'six.DAT'), 'x');
    await s.list('.');
    assert.equal(proxy.openConnections(), 1);
    proxy.blackhole(true);
    const started = Date.now();
    await rejectsWith(s.stat('six.DAT'), 'ETIMEDOUT');
    assert.ok(Date.now() - started < 5000);
    proxy.blackhole(false);
    assert.equal((await s.stat('six.DAT'))?.size, 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(proxy.openConnections(), 1, 'the dead connection was closed');
  });

  it('7. a reset during end() raises no unhandled exception and leaves no listeners or sockets behind', async () => {
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    await new Promise((r) => setTimeout(r, 100));
    const socketsBefore = sockets();
    const errorsBefore = process.listenerCount('uncaughtException');
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('uncaughtException', onUnhandled);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (let i = 0; i < 5; i++) {
        const s = open();
        await s.list('.');
        const closing = s.close();
        proxy.resetAll();
        await closing;
        assert.equal(s.listenerCount('status'), 0);
      }
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('uncaughtException', onUnhandled);
      process.off('unhandledRejection', onUnhandled);
    }
    assert.equal(process.listenerCount('uncaughtException'), errorsBefore);
    assert.equal(proxy.openConnections(), 0);
    assert.ok(sockets() <= socketsBefore, `sockets before ${socketsBefore}, after ${sockets()}`);
  });

  it('8. connections refused or dropped at start-up: backoff, then success', async () => {
    const s = open();
    const statuses: SessionStatus[] = [];
    s.on('status', (st: SessionStatus) => statuses.push(st));
    const before = proxy.accepted;
    proxy.refuseNext(2);
    assert.deepEqual(await s.list('.').then((l) => Array.isArray(l)), true);
    assert.equal(proxy.accepted - before, 3);
    assert.ok(statuses.some((st) => st.state === 'error'));
    assert.equal(statuses.at(-1)?.state, 'connected');
  });

  it('8b. refused more often than the retries allow: the error is reported, and a later call succeeds', async () => {
    const s = open({ retries: 1 });
    proxy.refuseNext(5);
    await assert.rejects(s.list('.'), (err: TransportError) => err instanceof TransportError && err.operation === 'connect');
    proxy.clear();
    assert.ok(Array.isArray(await s.list('.')));
  });

  it('9. a connection dropped while idle between polls is detected and replaced', async () => {
    const s = open();
    await s.list('.');
    proxy.resetAll();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(Array.isArray(await s.list('.')));
    assert.equal(proxy.openConnections(), 1);
  });

  it('9c. a connection that ends during an operation fails it at once, and a list is tried again on a new one', async () => {
    fs.mkdirSync(path.join(sshd.root, 'big9c'), { recursive: true });
    for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(sshd.root, 'big9c', `f${i}`), '');
    // Long enough that, if the client waited for an answer that cannot come, the list would fail with ETIMEDOUT.
    const s = open({ operationTimeoutMs: 20_000 });
    await s.list('.');
    // Reset the connection between two READDIR requests of one listing: ssh2 then sends a CLOSE for the folder handle
    // into the dead connection and waits for its answer for ever.
    const sftp = await s.withChannel('test', async (c) => c as unknown as { readdir: (...a: unknown[]) => unknown });
    const readdir = sftp.readdir;
    let calls = 0;
    sftp.readdir = function (this: unknown, where: unknown, ...rest: unknown[]) {
      if (Buffer.isBuffer(where) && ++calls === 2) proxy.resetAll();
      return readdir.call(this, where, ...rest);
    };
    const listed = await s.list('big9c');
    assert.equal(listed.length, 300);
    assert.equal(calls >= 2, true, 'the connection was reset mid-listing');
  });

  it('9b. keepalives notice a connection that died silently while idle', async () => {
    const s = open({ keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
    const statuses: string[] = [];
    s.on('status', (st: SessionStatus) => statuses.push(st.state));
    await s.list('.');
    proxy.blackhole(true); // no RST, no FIN: the peer simply stops answering
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(s.connected, false, 'the dead connection was noticed without any operation');
    assert.ok(statuses.includes('disconnected'));
    proxy.blackhole(false);
    assert.ok(Array.isArray(await s.list('.')));
  });

  describe('11. when the target exists', () => {
    for (const variant of ['with posix-rename', 'server without posix-rename', 'posix-rename turned off'] as const) {
      it(`each policy behaves as documented (${variant})`, async () => {
        const s = open({ usePosixRename: variant !== 'posix-rename turned off' });
        if (variant === 'server without posix-rename') {
          // As if the server did not offer the extension: ssh2 then refuses the request itself.
          await s.list('.');
          delete (await s.withChannel('test', async (c) => c as unknown as { _extensions: Record<string, string> }))._extensions['posix-rename@openssh.com'];
        }
        const dir = `exists-${variant.replace(/ /g, '-')}`;
        await s.mkdir(dir);
        const target = `${dir}/GO_123_GDW_GOC_20261120_00000001.DAT`;
        await s.put(target, 'one');
        await rejectsWith(s.put(target, 'two'), 'EEXIST');
        assert.equal(fs.readFileSync(path.join(sshd.root, target), 'utf8'), 'one');
        assert.deepEqual(await s.put(target, 'three', { ifExists: 'skip' }), { path: target, bytes: 0, skipped: true });
        assert.equal(fs.readFileSync(path.join(sshd.root, target), 'utf8'), 'one');
        await s.put(target, 'four', { ifExists: 'overwrite' });
        assert.equal(fs.readFileSync(path.join(sshd.root, target), 'utf8'), 'four');
        const suffixed = await s.put(target, 'five', { ifExists: 'suffix' });
        assert.equal(suffixed.path, `${dir}/GO_123_GDW_GOC_20261120_00000001_1.DAT`);
        assert.equal(fs.readFileSync(path.join(sshd.root, suffixed.path), 'utf8'), 'five');
        assert.deepEqual(files(path.join(sshd.root, dir)), ['GO_123_GDW_GOC_20261120_00000001.DAT', 'GO_123_GDW_GOC_20261120_00000001_1.DAT'], 'no temporary files left');
      });
    }
  });

  it('13. hostile names are refused and nothing is written outside the root', async () => {
    const s = open();
    for (const bad of ['../x.DAT', '/etc/x.DAT', 'a\0b.DAT', 'a\\b.DAT', 'In/../../x.DAT', 'x.DAT\n[audit] forged', 'x\r.DAT', 'x\t.DAT', 'x\x1b.DAT', 'x\x7f.DAT']) {
      await assert.rejects(s.put(bad, 'x'), (err: Error & { code?: string }) => err.code === 'EBADPATH', bad);
      await assert.rejects(s.rename('six.DAT', bad), (err: Error & { code?: string }) => err.code === 'EBADPATH', bad);
    }
    await assert.rejects(s.list('..'), (err: Error & { code?: string }) => err.code === 'EBADPATH');
    assert.ok(!fs.existsSync(path.join(sshd.root, '..', 'x.DAT')));
  });

  it('10 closes against a server that never answers leave no socket open', async () => {
    const silent = net.createServer({ allowHalfOpen: true }, () => undefined); // accepts, then says nothing and never closes
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const held = () =>
      (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().filter((h) => h instanceof net.Socket && (h as net.Socket).remotePort === port).length;
    try {
      for (let i = 0; i < 10; i++) {
        const s = new SftpSession({ ...sessionSettings(sshd), port, connectTimeoutMs: 200, operationTimeoutMs: 300, retries: 0 });
        await assert.rejects(s.list('.'));
        await s.close();
      }
      const until = Date.now() + 3000;
      while (held() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.equal(held(), 0, 'sockets still held');
    } finally {
      silent.close();
    }
  });

  describe('14. host keys and secrets', () => {
    it('refuses a changed host key', async () => {
      const s = open({ hostFingerprint: sshd.otherFingerprint });
      const err = await rejectsWith(s.list('.'), 'HOST_KEY_MISMATCH');
      assert.ok(err.message.includes(sshd.fingerprint) && err.message.includes(sshd.otherFingerprint));
    });

    it('refuses an empty pin, showing what to pin, unless insecure mode is on', async () => {
      const s = open({ hostFingerprint: '' });
      const err = await rejectsWith(s.list('.'), 'HOST_KEY_NOT_PINNED');
      assert.ok(err.message.includes(sshd.fingerprint));
      assert.equal(s.fingerprint, sshd.fingerprint);
      const insecure = open({ hostFingerprint: '', acceptAnyHostKey: true });
      assert.ok(Array.isArray(await insecure.list('.')));
    });

    it('accepts several pins, one per line, for a hub rotating its key', async () => {
      const s = open({ hostFingerprint: `${sshd.otherFingerprint}\n${sshd.fingerprint}\n` });
      assert.ok(Array.isArray(await s.list('.')));
    });

    it('refuses an MD5 or hex pin with what to pin instead, without connecting', async () => {
      const before = proxy.accepted;
      for (const pin of ['MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48', '16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48', 'a'.repeat(64)]) {
        const err = await rejectsWith(open({ hostFingerprint: pin }).list('.'), 'BAD_PIN');
        assert.match(err.message, /pin the SHA256 fingerprint that `ssh-keygen -lf` prints/);
      }
      assert.equal(proxy.accepted, before, 'never retried, never connected');
    });

    it('refuses a PuTTY v3 key with the command that converts it', async () => {
      const ppk = 'PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: test\nPublic-Lines: 2\nAAAA\nBBBB\n';
      const err = await rejectsWith(open({ privateKey: ppk, passphrase: '' }).list('.'), 'BAD_KEY');
      assert.match(err.message, /PuTTY key format v3 is not supported: convert it with `puttygen key\.ppk -O private-openssh`/);
    });

    it('accepts the pin in any form ssh-keygen -lf prints', async () => {
      const s = open({ hostFingerprint: `256 ${sshd.fingerprint} root@host (ED25519)` });
      assert.ok(Array.isArray(await s.list('.')));
    });

    it('fails cleanly on a wrong key passphrase, without retrying, and never shows a secret', async () => {
      const wrong = 'not the passphrase';
      const s = open({ privateKey: sshd.encryptedKey, passphrase: wrong });
      const seen: string[] = [];
      s.on('status', (st: SessionStatus) => seen.push(JSON.stringify(st)));
      const before = proxy.accepted;
      const err = await rejectsWith(s.list('.'), 'BAD_KEY');
      assert.ok(proxy.accepted - before <= 1, 'no retries for a bad key');
      const right = open({ privateKey: sshd.encryptedKey, passphrase: sshd.passphrase });
      assert.ok(Array.isArray(await right.list('.')));
      for (const text of [err.message, err.stack ?? '', ...seen]) {
        assert.ok(!text.includes(wrong) && !text.includes(sshd.passphrase) && !text.includes('PRIVATE KEY'), text);
      }
    });

    it('reports a wrong user key as an authentication failure', async () => {
      const other = open({ privateKey: sshd.encryptedKey, passphrase: sshd.passphrase, username: 'nobody-here' });
      await rejectsWith(other.list('.'), 'AUTH_FAILED');
    });
  });
});

describe('SFTP transport: server-side refusals', { skip: SSHD_SKIP }, () => {
  it('4. a read-only server: the upload fails with its code, no temporary file is left', async () => {
    const sshd = await startSshd({ readOnly: true });
    const s = new SftpSession(sessionSettings(sshd));
    try {
      await rejectsWith(s.put('ro.DAT', 'data'), 'PERMISSION_DENIED');
      assert.deepEqual(files(sshd.root), []);
    } finally {
      await s.close();
      await sshd.stop();
    }
  });

  it('an upload account refused `stat` still uploads, and an existing target is still refused or skipped', async () => {
    const sshd = await startSshd({ sftpFlags: ['-P', 'stat,lstat'] });
    const s = new SftpSession(sessionSettings(sshd));
    try {
      await rejectsWith(s.stat('anything.DAT'), 'PERMISSION_DENIED');
      const r = await s.put('TA_123_SEL_MN2708_00000001.DAT', 'whole file');
      assert.deepEqual([r.path, r.bytes, r.skipped], ['TA_123_SEL_MN2708_00000001.DAT', 10, false]);
      assert.equal(fs.readFileSync(path.join(sshd.root, 'TA_123_SEL_MN2708_00000001.DAT'), 'utf8'), 'whole file');
      await rejectsWith(s.put('TA_123_SEL_MN2708_00000001.DAT', 'again'), 'EEXIST');
      assert.equal((await s.put('TA_123_SEL_MN2708_00000001.DAT', 'again', { ifExists: 'skip' })).skipped, false, 'put, then found to exist: kept as it was');
      assert.equal(fs.readFileSync(path.join(sshd.root, 'TA_123_SEL_MN2708_00000001.DAT'), 'utf8'), 'whole file', 'never replaced');
      assert.equal((await s.put('TA_123_SEL_MN2708_00000001.DAT', 'third', { ifExists: 'suffix' })).path, 'TA_123_SEL_MN2708_00000001_1.DAT');
      assert.deepEqual(files(sshd.root), ['TA_123_SEL_MN2708_00000001.DAT', 'TA_123_SEL_MN2708_00000001_1.DAT'], 'no temporary file left');
    } finally {
      await s.close();
      await sshd.stop();
    }
  });

  describe('upload modes, with a hub that takes any new file in In/ at once', () => {
    /** Takes every file that appears in In/ (as such a hub does) and records what it took. */
    function watcher(root: string): { taken: { name: string; content: string }[]; stop(): void } {
      const inbox = path.join(root, 'In');
      fs.mkdirSync(inbox, { recursive: true });
      fs.mkdirSync(path.join(root, 'taken'), { recursive: true });
      const taken: { name: string; content: string }[] = [];
      const sweep = () => {
        for (const n of fs.readdirSync(inbox)) {
          try {
            const content = fs.readFileSync(path.join(inbox, n), 'utf8');
            fs.renameSync(path.join(inbox, n), path.join(root, 'taken', `${taken.length}-${n}`));
            taken.push({ name: n, content });
          } catch {
            // gone meanwhile
          }
        }
      };
      const w = fs.watch(inbox, sweep);
      const timer = setInterval(sweep, 1);
      return { taken, stop: () => (w.close(), clearInterval(timer)) };
    }
    const big = 'x'.repeat(4 * 1024 * 1024);

    it('temp-name (the default) lets such a hub take a part file; temp-folder never does', async () => {
      const sshd = await startSshd();
      const s = new SftpSession(sessionSettings(sshd));
      const w = watcher(sshd.root);
      try {
        await s.put('In/TA_123_SEL_MN2708_00000001.DAT', big).catch(() => undefined);
        assert.ok(w.taken.some((t) => t.name.endsWith('.part')), 'the hub took the temporary file: what temp-folder is for');
        w.taken.length = 0;
        const r = await s.put('In/TA_123_SEL_MN2708_00000002.DAT', big, { mode: 'temp-folder' });
        assert.equal(r.path, 'In/TA_123_SEL_MN2708_00000002.DAT');
        await new Promise((res) => setTimeout(res, 100));
        assert.deepEqual(w.taken.map((t) => [t.name, t.content.length]), [['TA_123_SEL_MN2708_00000002.DAT', big.length]], 'only the whole file');
        assert.deepEqual(fs.readdirSync(path.join(sshd.root, '.esr-upload')), [], 'nothing left in the temporary folder');
      } finally {
        w.stop();
        await s.close();
        await sshd.stop();
      }
    });

    it('direct, for a hub that refuses renames: the file under its final name, a done marker after it, existing targets kept', async () => {
      const sshd = await startSshd({ sftpFlags: ['-P', 'rename,posix-rename'] });
      const s = new SftpSession(sessionSettings(sshd));
      try {
        await rejectsWith(s.put('TA_123_SEL_MN2708_00000003.DAT', 'x'), 'PERMISSION_DENIED'); // the default needs a rename
        const r = await s.put('TA_123_SEL_MN2708_00000003.DAT', big, { mode: 'direct', doneMarker: '.done' });
        assert.deepEqual([r.path, r.bytes], ['TA_123_SEL_MN2708_00000003.DAT', big.length]);
        assert.equal(fs.readFileSync(path.join(sshd.root, 'TA_123_SEL_MN2708_00000003.DAT'), 'utf8').length, big.length);
        assert.equal(fs.readFileSync(path.join(sshd.root, 'TA_123_SEL_MN2708_00000003.DAT.done'), 'utf8'), '');
        await rejectsWith(s.put('TA_123_SEL_MN2708_00000003.DAT', 'other', { mode: 'direct' }), 'EEXIST');
        assert.equal((await s.put('TA_123_SEL_MN2708_00000003.DAT', 'other', { mode: 'direct', ifExists: 'skip' })).skipped, true);
        assert.equal((await s.put('TA_123_SEL_MN2708_00000003.DAT', 'other', { mode: 'direct', ifExists: 'suffix' })).path, 'TA_123_SEL_MN2708_00000003_1.DAT');
        assert.equal(fs.readFileSync(path.join(sshd.root, 'TA_123_SEL_MN2708_00000003.DAT'), 'utf8').length, big.length, 'never replaced');
      } finally {
        await s.close();
        await sshd.stop();
      }
    });
  });

  it('5. permission denied on rename and delete goes to the error path once, without looping', async () => {
    const sshd = await startSshd({ sftpFlags: ['-P', 'rename,posix-rename,remove'] });
    const s = new SftpSession(sessionSettings(sshd));
    try {
      fs.writeFileSync(path.join(sshd.root, 'five.DAT'), 'x');
      const started = Date.now();
      await rejectsWith(s.rename('five.DAT', 'moved.DAT'), 'PERMISSION_DENIED');
      await rejectsWith(s.delete('five.DAT'), 'PERMISSION_DENIED');
      assert.ok(Date.now() - started < 3000);
      assert.deepEqual(files(sshd.root), ['five.DAT']);
      assert.ok(s.connected, 'a refusal is not a lost connection');
    } finally {
      await s.close();
      await sshd.stop();
    }
  });
});
