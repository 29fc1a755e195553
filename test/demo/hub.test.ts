/**
 * The embedded SFTP hub of the demo, driven by the project's own client (SftpSession, Poller) and, where the client
 * would refuse to send a request (paths with '..'), by raw SFTP requests on the session's channel.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, type SFTPWrapper } from 'ssh2';
import { SftpSession, fingerprint, type SftpSettings } from '../../core/transport';
import { Poller } from '../../core/poller';
import { generateUserKey, startHub, type Hub } from '../../demo/hub/sftp-hub';
import { FAST } from '../support/sshd';
import { tempState } from '../support/temp-state';
import { rejectsWith } from '../support/rejects';

const USER = 'trust';
const PASSWORD = 'not-a-real-password';
const name = (date: string, seq: number) => `GO_123_GDW_GOC_${date}_${String(seq).padStart(8, '0')}.DAT`;

/** A raw SFTP request on the session's channel (for requests SftpSession would not send). */
function raw<T = void>(s: SftpSession, request: (sftp: SFTPWrapper, cb: (err?: Error | null, value?: T) => void) => void): Promise<T> {
  return s.withChannel('raw', (sftp) => new Promise<T>((resolve, reject) => request(sftp, (err, value) => (err ? reject(err) : resolve(value as T)))));
}

/** READDIR as the server answers it, '.' and '..' included (ssh2 leaves them out unless asked). */
function readdirFull(s: SftpSession, dir: string): Promise<{ filename: string; longname: string }[]> {
  type Full = (location: string, opts: { full: boolean }, cb: (err: Error | undefined, list: { filename: string; longname: string }[]) => void) => void;
  return raw(s, (sftp, cb) => (sftp.readdir as unknown as Full).call(sftp, dir, { full: true }, cb));
}

/** Whether one login attempt with exactly these credentials succeeds (SftpSession never sends an empty password). */
function logsIn(hub: Hub, method: { type: 'password'; username: string; password: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const client = new Client();
    client.on('ready', () => (client.end(), resolve(true)));
    client.on('error', () => resolve(false));
    client.connect({ host: hub.host, port: hub.port, username: method.username, authHandler: [method], hostVerifier: () => true, readyTimeout: 5000 });
  });
}

function openFds(): number | undefined {
  return fs.existsSync('/proc/self/fd') ? fs.readdirSync('/proc/self/fd').length : undefined;
}

async function eventually(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

describe('the demo SFTP hub', () => {
  let dir: string;
  let root: string;
  let hub: Hub;
  const userKey = generateUserKey();
  const sessions: SftpSession[] = [];

  const open = (extra: Partial<SftpSettings> = {}) => {
    const s = new SftpSession({ host: hub.host, port: hub.port, username: USER, privateKey: userKey.privateKey, hostFingerprint: hub.fingerprint, ...FAST, ...extra });
    sessions.push(s);
    return s;
  };
  const local = (...p: string[]) => path.join(root, ...p);
  const write = (rel: string, content: string | Buffer = rel) => {
    fs.mkdirSync(path.dirname(local(rel)), { recursive: true });
    fs.writeFileSync(local(rel), content);
  };
  const read = (rel: string) => fs.readFileSync(local(rel), 'utf8');
  const names = (rel: string) => fs.readdirSync(local(rel)).sort();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-hub-'));
    root = path.join(dir, 'root');
    fs.mkdirSync(root);
    hub = await startHub({ root, username: USER, authorizedKey: userKey.publicKey, password: PASSWORD });
  });
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
  });
  after(async () => {
    await hub?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('logging in', () => {
    it('accepts the user key with the pinned host key, whose fingerprint is the one ssh-keygen -lf prints', async () => {
      const s = open();
      assert.deepEqual(await s.list('.'), []);
      assert.equal(s.fingerprint, hub.fingerprint, 'the client saw the advertised host key');
      assert.match(hub.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
      assert.match(hub.hostPublicKey, /^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
      const blob = Buffer.from(hub.hostPublicKey.split(' ')[1], 'base64');
      assert.equal(fingerprint(blob), hub.fingerprint);
      const pub = path.join(dir, 'host.pub');
      fs.writeFileSync(pub, hub.hostPublicKey + '\n');
      let keygen: string | undefined;
      try {
        keygen = execFileSync('ssh-keygen', ['-lf', pub], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      } catch {
        // ssh-keygen is not installed: the check above stands
      }
      if (keygen) assert.equal(keygen.split(' ')[1], hub.fingerprint);
    });

    it('refuses a connection that pins another host key', async () => {
      const other = Buffer.from(generateUserKey().publicKey.split(' ')[1], 'base64');
      const err = await rejectsWith(open({ hostFingerprint: fingerprint(other) }).list('.'), 'HOST_KEY_MISMATCH');
      assert.ok(err.message.includes(hub.fingerprint));
    });

    it('refuses a key that is not the authorized one, and the right key for another user', async () => {
      await rejectsWith(open({ privateKey: generateUserKey().privateKey }).list('.'), 'AUTH_FAILED');
      await rejectsWith(open({ username: 'someone-else' }).list('.'), 'AUTH_FAILED');
    });

    it('accepts the password when one is set, and refuses a wrong one', async () => {
      assert.ok(Array.isArray(await open({ privateKey: undefined, password: PASSWORD }).list('.')));
      await rejectsWith(open({ privateKey: undefined, password: 'wrong password' }).list('.'), 'AUTH_FAILED');
    });

    it('accepts no password when none is set (an empty one counts as none)', async () => {
      for (const password of [undefined, '']) {
        const keyOnly = await startHub({ root, username: USER, authorizedKey: userKey.publicKey, password });
        try {
          const s = open({ port: keyOnly.port, hostFingerprint: keyOnly.fingerprint, privateKey: undefined, password: PASSWORD });
          await rejectsWith(s.list('.'), 'AUTH_FAILED');
          assert.equal(await logsIn(keyOnly, { type: 'password', username: USER, password: '' }), false, 'an empty password is refused');
          assert.notEqual(keyOnly.fingerprint, hub.fingerprint, 'each hub without a host key generates its own');
        } finally {
          await keyOnly.close();
        }
      }
    });
  });

  describe('files', () => {
    it('lists a folder with sizes, times and kinds, and with ls -l long names', async () => {
      write('list/GO_1.DAT', 'abc');
      write('list/GO_2.DAT', 'abcdef');
      fs.mkdirSync(local('list/archive'));
      const when = new Date('2026-11-20T10:00:00Z');
      fs.utimesSync(local('list/GO_1.DAT'), when, when);
      const s = open();
      const entries = (await s.list('list')).sort((a, b) => (a.name < b.name ? -1 : 1));
      assert.deepEqual(
        entries.map((e) => [e.name, e.path, e.size, e.isFile, e.isDirectory]),
        [
          ['GO_1.DAT', 'list/GO_1.DAT', 3, true, false],
          ['GO_2.DAT', 'list/GO_2.DAT', 6, true, false],
          ['archive', 'list/archive', entries[2].size, false, true],
        ],
      );
      assert.equal(entries[0].mtime, when.getTime());
      assert.deepEqual((await s.list('list', 'GO_*.DAT')).map((e) => e.name).sort(), ['GO_1.DAT', 'GO_2.DAT']);
      const rawList = await readdirFull(s, 'list');
      assert.deepEqual(rawList.map((e) => e.filename).sort(), ['.', '..', 'GO_1.DAT', 'GO_2.DAT', 'archive']);
      const line = rawList.find((e) => e.filename === 'GO_2.DAT')!.longname;
      assert.match(line, /^-rw[-rwx]{7}\s+1\s+\d+\s+\d+\s+6 [A-Z][a-z]{2} [ \d]\d ( \d{4}|\d\d:\d\d) GO_2\.DAT$/);
      assert.match(rawList.find((e) => e.filename === 'archive')!.longname, /^d/);
    });

    it('lists a folder of more than one READDIR batch completely', async () => {
      for (let i = 0; i < 250; i++) write(`many/F${String(i).padStart(3, '0')}.DAT`, 'x');
      const listed = (await open().list('many')).map((e) => e.name).sort();
      assert.equal(listed.length, 250);
      assert.equal(listed[249], 'F249.DAT');
    });

    it('gets a file as a Buffer and as a stream', async () => {
      const data = randomBytes(1024 * 1024 + 123);
      write('get/big.bin', data);
      const s = open();
      assert.ok((await s.getBuffer('get/big.bin')).equals(data));
      const { digest, size } = await s.get('get/big.bin', async (stream, size) => {
        const hash = createHash('sha256');
        for await (const chunk of stream) hash.update(chunk as Buffer);
        return { digest: hash.digest('hex'), size };
      });
      assert.equal(size, data.length);
      assert.equal(digest, createHash('sha256').update(data).digest('hex'));
      assert.equal((await s.getBuffer('get/big.bin')).length, data.length, 'the file can be read again: the handle was closed');
    });

    it('a READ past the end gets EOF', async () => {
      write('eof.txt', 'four');
      const s = open();
      const handle = await raw<Buffer>(s, (sftp, cb) => sftp.open('eof.txt', 'r', cb));
      const got = await raw<number>(s, (sftp, cb) => sftp.read(handle, Buffer.alloc(10), 0, 10, 0, (err, n) => cb(err, n)));
      assert.equal(got, 4);
      // ssh2 turns an EOF status into a read of 0 bytes unless the callback asks to see it.
      const atEnd = await raw<number>(s, (sftp, cb) => sftp.read(handle, Buffer.alloc(10), 0, 10, 4, Object.assign((err?: Error) => cb(null, (err as { code?: number } | undefined)?.code), { _wantEOFError: true })));
      assert.equal(atEnd, 1, 'the status is SSH_FX_EOF');
      await raw(s, (sftp, cb) => sftp.close(handle, cb));
    });

    it('puts a file atomically, with each ifExists policy', async () => {
      const s = open();
      const target = `put/${name('20261120', 1)}`;
      const big = randomBytes(3 * 1024 * 1024);
      assert.deepEqual(await s.put(target, big, { mkdirs: true }), { path: target, bytes: big.length, skipped: false });
      assert.ok(fs.readFileSync(local(target)).equals(big));
      await rejectsWith(s.put(target, 'two'), 'EEXIST');
      assert.ok(fs.readFileSync(local(target)).equals(big), 'ifExists fail keeps the file');
      assert.deepEqual(await s.put(target, 'three', { ifExists: 'skip' }), { path: target, bytes: 0, skipped: true });
      await s.put(target, 'four', { ifExists: 'overwrite' });
      assert.equal(read(target), 'four');
      const suffixed = await s.put(target, 'five', { ifExists: 'suffix' });
      assert.equal(suffixed.path, `put/${name('20261120', 1).replace('.DAT', '_1.DAT')}`);
      assert.equal(read(suffixed.path), 'five');
      assert.deepEqual(names('put'), [name('20261120', 1), name('20261120', 1).replace('.DAT', '_1.DAT')], 'no temporary files left');
    });

    it("'/Out/x' and 'Out/x' are the same file", async () => {
      write('same/x.DAT', 'same');
      const absolute = open({ root: '/' });
      assert.equal((await absolute.getBuffer('same/x.DAT')).toString(), 'same'); // the session asks for /same/x.DAT
      assert.equal((await open().getBuffer('same/x.DAT')).toString(), 'same'); // ... and this one for same/x.DAT
      assert.equal(await raw<string>(absolute, (sftp, cb) => sftp.realpath('.', cb)), '/');
      assert.equal(await raw<string>(absolute, (sftp, cb) => sftp.realpath('same//./x.DAT/', cb)), '/same/x.DAT');
    });

    it('a plain rename moves a file but never replaces one', async () => {
      write('ren/a.DAT', 'a');
      write('ren/b.DAT', 'b');
      const s = open();
      await s.rename('ren/a.DAT', 'ren/moved/a.DAT', { mkdirs: true });
      assert.ok(!fs.existsSync(local('ren/a.DAT')));
      assert.equal(read('ren/moved/a.DAT'), 'a');
      await rejectsWith(raw(s, (sftp, cb) => sftp.rename('ren/b.DAT', 'ren/moved/a.DAT', cb)), 'FAILURE');
      assert.equal(read('ren/b.DAT'), 'b');
      assert.equal(read('ren/moved/a.DAT'), 'a');
      fs.mkdirSync(local('ren/d1'));
      fs.mkdirSync(local('ren/d2'));
      await rejectsWith(raw(s, (sftp, cb) => sftp.rename('ren/d1', 'ren/d2', cb)), 'FAILURE');
      await raw(s, (sftp, cb) => sftp.rename('ren/d1', 'ren/d3', cb));
      assert.ok(fs.statSync(local('ren/d3')).isDirectory());
      await rejectsWith(s.rename('ren/missing.DAT', 'ren/x.DAT'), 'NO_SUCH_FILE');
    });

    it('of two clients renaming at once exactly one succeeds: one file to two names, or two files to one name', async () => {
      const a = open();
      const b = open();
      await Promise.all([a.list('.'), b.list('.')]);
      fs.mkdirSync(local('race'));
      for (let i = 0; i < 30; i++) {
        write(`race/f${i}.DAT`, `file ${i}`);
        const claims = await Promise.allSettled([a.rename(`race/f${i}.DAT`, `race/f${i}.a`), b.rename(`race/f${i}.DAT`, `race/f${i}.b`)]);
        assert.equal(claims.filter((r) => r.status === 'fulfilled').length, 1, `round ${i}: one claim`);
        assert.equal(names('race').filter((n) => n.startsWith(`f${i}.`)).length, 1, `round ${i}: one copy of the file`);

        write(`race/g${i}.a`, 'from a');
        write(`race/g${i}.b`, 'from b');
        const [byA, byB] = await Promise.allSettled([a.rename(`race/g${i}.a`, `race/g${i}.DAT`), b.rename(`race/g${i}.b`, `race/g${i}.DAT`)]);
        assert.equal([byA, byB].filter((r) => r.status === 'fulfilled').length, 1, `round ${i}: one file under the name`);
        const loser = byA.status === 'fulfilled' ? 'b' : 'a';
        assert.equal(read(`race/g${i}.DAT`), `from ${byA.status === 'fulfilled' ? 'a' : 'b'}`);
        assert.equal(read(`race/g${i}.${loser}`), `from ${loser}`, `round ${i}: the other file is kept`);
      }
    });

    it('offers posix-rename@openssh.com, which replaces the target atomically', async () => {
      write('posix/new.DAT', 'new');
      write('posix/old.DAT', 'old');
      const s = open();
      await s.list('.');
      const sftp = await s.withChannel('test', async (c) => c as SFTPWrapper & { _extensions: Record<string, string> });
      assert.equal(sftp._extensions['posix-rename@openssh.com'], '1');
      await raw(s, (ch, cb) => ch.ext_openssh_rename('posix/new.DAT', 'posix/old.DAT', cb));
      assert.deepEqual(names('posix'), ['old.DAT']);
      assert.equal(read('posix/old.DAT'), 'new');
      write('posix/next.DAT', 'next');
      await s.rename('posix/next.DAT', 'posix/old.DAT', { overwrite: true });
      assert.equal(read('posix/old.DAT'), 'next');
      assert.equal((s as unknown as { posixRename?: boolean }).posixRename, true, 'the session used the extension');
    });

    it('creates, stats and deletes', async () => {
      const s = open();
      await s.mkdir('made/a/b');
      assert.ok(fs.statSync(local('made/a/b')).isDirectory());
      write('made/a/b/f.DAT', '12345');
      const st = await s.stat('made/a/b/f.DAT');
      assert.equal(st?.size, 5);
      assert.equal(st?.isFile, true);
      assert.equal((await s.stat('made/a'))?.isDirectory, true);
      assert.equal(await s.stat('made/none.DAT'), undefined);
      await rejectsWith(raw(s, (sftp, cb) => sftp.mkdir('made/a', cb)), 'FAILURE');
      await rejectsWith(raw(s, (sftp, cb) => sftp.rmdir('made/a', cb)), 'FAILURE');
      await s.delete('made/a/b/f.DAT');
      assert.ok(!fs.existsSync(local('made/a/b/f.DAT')));
      await rejectsWith(s.delete('made/a/b/f.DAT'), 'NO_SUCH_FILE');
      await raw(s, (sftp, cb) => sftp.rmdir('made/a/b', cb));
      assert.ok(!fs.existsSync(local('made/a/b')));
      await rejectsWith(raw(s, (sftp, cb) => sftp.opendir('made/nothing', cb)), 'NO_SUCH_FILE');
      await rejectsWith(raw(s, (sftp, cb) => sftp.mkdir('made/no/parent', cb)), 'NO_SUCH_FILE');
    });

    it('honours open flags and setstat', async () => {
      const s = open();
      write('flags/log.txt', 'one\n');
      await raw(s, (sftp, cb) => sftp.appendFile('flags/log.txt', 'two\n', cb));
      assert.equal(read('flags/log.txt'), 'one\ntwo\n');
      await rejectsWith(raw(s, (sftp, cb) => sftp.open('flags/log.txt', 'wx', cb)), 'FAILURE');
      await rejectsWith(raw(s, (sftp, cb) => sftp.open('flags/absent.txt', 'r', cb)), 'NO_SUCH_FILE');
      await rejectsWith(raw(s, (sftp, cb) => sftp.open('flags', 'r', cb)), 'FAILURE');
      await raw(s, (sftp, cb) => sftp.writeFile('flags/log.txt', 'new', cb));
      assert.equal(read('flags/log.txt'), 'new', "'w' truncates");
      await raw(s, (sftp, cb) => sftp.chmod('flags/log.txt', 0o640, cb));
      assert.equal(fs.statSync(local('flags/log.txt')).mode & 0o777, 0o640);
      const when = new Date('2025-01-02T03:04:05Z');
      await raw(s, (sftp, cb) => sftp.utimes('flags/log.txt', when, when, cb));
      assert.equal(fs.statSync(local('flags/log.txt')).mtimeMs, when.getTime());
      const created = await raw<Buffer>(s, (sftp, cb) => sftp.open('flags/made.txt', 'w', { mode: 0o600 }, cb));
      await raw(s, (sftp, cb) => sftp.fchmod(created, 0o604, cb));
      await raw(s, (sftp, cb) => sftp.close(created, cb));
      assert.equal(fs.statSync(local('flags/made.txt')).mode & 0o777, 0o604);
    });

    it("paths with '..' and links to outside stay inside the served folder", async () => {
      fs.writeFileSync(path.join(dir, 'secret.txt'), 'outside');
      fs.mkdirSync(path.join(dir, 'elsewhere'), { recursive: true });
      fs.symlinkSync(path.join(dir, 'elsewhere'), local('link-out'));
      fs.symlinkSync(path.join(dir, 'secret.txt'), local('secret-link'));
      fs.symlinkSync(path.join(dir, 'not-yet.txt'), local('dangling'));
      fs.mkdirSync(local('inside'), { recursive: true });
      fs.symlinkSync(local('inside'), local('link-in'));
      const s = open();
      for (const p of ['../secret.txt', '/../secret.txt', 'In/../../secret.txt']) {
        await rejectsWith(raw(s, (sftp, cb) => sftp.open(p, 'r', cb)), 'NO_SUCH_FILE'); // <root>/secret.txt does not exist
      }
      await raw(s, (sftp, cb) => sftp.writeFile('../../escaped.txt', 'x', cb));
      assert.ok(fs.existsSync(local('escaped.txt')), "'..' stops at the top of the served folder");
      assert.ok(!fs.existsSync(path.join(dir, 'escaped.txt')) && !fs.existsSync(path.join(dir, '..', 'escaped.txt')));
      assert.equal(await raw<string>(s, (sftp, cb) => sftp.realpath('../..', cb)), '/');
      assert.deepEqual(
        (await readdirFull(s, '..')).map((e) => e.filename).sort(),
        ['.', '..', ...fs.readdirSync(root)].sort(),
        "the listing of '..' is the served folder",
      );
      await rejectsWith(raw(s, (sftp, cb) => sftp.readdir('link-out', cb)), 'PERMISSION_DENIED');
      await rejectsWith(raw(s, (sftp, cb) => sftp.writeFile('link-out/planted.txt', 'x', cb)), 'PERMISSION_DENIED');
      await rejectsWith(raw(s, (sftp, cb) => sftp.readFile('secret-link', cb)), 'PERMISSION_DENIED');
      await rejectsWith(raw(s, (sftp, cb) => sftp.stat('secret-link', cb)), 'PERMISSION_DENIED');
      await rejectsWith(raw(s, (sftp, cb) => sftp.writeFile('dangling', 'x', cb)), 'PERMISSION_DENIED');
      await rejectsWith(raw(s, (sftp, cb) => sftp.rename('inside', 'link-out/moved', cb)), 'PERMISSION_DENIED');
      assert.ok(!fs.existsSync(path.join(dir, 'not-yet.txt')) && fs.readdirSync(path.join(dir, 'elsewhere')).length === 0, 'nothing written outside');
      assert.ok((await raw<{ isSymbolicLink(): boolean }>(s, (sftp, cb) => sftp.lstat('secret-link', cb))).isSymbolicLink(), 'the link itself can be seen');
      await raw(s, (sftp, cb) => sftp.writeFile('link-in/ok.txt', 'ok', cb));
      assert.equal(read('inside/ok.txt'), 'ok', 'a link that stays inside is followed');
      await rejectsWith(raw(s, (sftp, cb) => sftp.rmdir('..', cb)), 'PERMISSION_DENIED'); // not "not empty": never tried
      await rejectsWith(raw(s, (sftp, cb) => sftp.rename('/', 'inside/root', cb)), 'PERMISSION_DENIED');
      await rejectsWith(raw(s, (sftp, cb) => sftp.ext_openssh_rename('inside', '/', cb)), 'PERMISSION_DENIED');
      await raw(s, (sftp, cb) => sftp.unlink('secret-link', cb));
      assert.equal(fs.readFileSync(path.join(dir, 'secret.txt'), 'utf8'), 'outside', 'removing a link removes only the link');
    });
  });

  it('runs the poller: a file is claimed, downloaded, completed and archived', async () => {
    write(`Out/${name('20261120', 2)}`, 'second');
    write(`Out/${name('20261120', 1)}`, 'first');
    write('Out/upload.DAT.part', 'still being written');
    const s = open();
    const p = new Poller(s, tempState(), { folder: 'Out', ledger: 'hub Out', owner: 'hub-test', stableMs: 0 });
    const { files, errors } = await p.takeFiles();
    assert.deepEqual(errors, []);
    assert.deepEqual(files.map((f) => [f.claim.name, f.content.toString()]), [[name('20261120', 1), 'first'], [name('20261120', 2), 'second']]);
    assert.equal(names('Out/.esr-claims').length, 2, 'both wait in the claim folder');
    assert.deepEqual((await p.takeFiles()).files, [], 'a claimed file is not taken twice');
    for (const f of files) await p.complete(f.claim);
    assert.deepEqual(names('Out/archive'), [name('20261120', 1), name('20261120', 2)]);
    assert.deepEqual(names('Out/.esr-claims'), []);
    assert.deepEqual(names('Out'), ['.esr-claims', 'archive', 'upload.DAT.part']);
    assert.equal(fs.readFileSync(local('Out/archive', name('20261120', 1)), 'utf8'), 'first');
  });

  it('answers every request when many are in flight at once, as at the demo deploy', async () => {
    for (let i = 0; i < 20; i++) write(`busy/Out/GO_${i}.DAT`, 'x'.repeat(1000 * i));
    const s = open(); // FAST: a request left unanswered fails with ETIMEDOUT within 1.5 s
    // Pollers and puts sharing one session, all started at once.
    const caller = async (k: number) => {
      for (let round = 0; round < 5; round++) {
        const data = randomBytes(40_000 + k);
        const [listed, st, put, got] = await Promise.all([
          s.list('busy/Out'),
          s.stat('busy/Out/GO_3.DAT'),
          s.put(`busy/In/TA_${k}_${round}.DAT`, data, { mkdirs: true }),
          s.getBuffer('busy/Out/GO_19.DAT'),
        ]);
        assert.equal(listed.length, 20);
        assert.equal(st?.size, 3000);
        assert.equal(put.bytes, data.length);
        assert.equal(got.length, 19_000);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, k) => caller(k)));
    assert.equal(names('busy/In').length, 8 * 5, 'every put arrived, no temporary file left');

    // Requests pipelined on the channel itself, answers and errors mixed: each gets its own answer.
    const call = <T>(send: (cb: (err: Error | null | undefined, value?: T) => void) => void) =>
      new Promise<T | string>((resolve) => send((err, value) => resolve(err ? `code ${(err as { code?: number }).code}` : (value as T))));
    const burst = await s.withChannel('burst', (sftp) =>
      Promise.all(
        Array.from({ length: 200 }, (_, n) => {
          if (n % 4 === 0) return call<{ filename: string }[]>((cb) => sftp.readdir('busy/Out', cb)).then((l) => (typeof l === 'string' ? l : l.length));
          if (n % 4 === 1) return call((cb) => sftp.open('busy/Out/missing.DAT', 'r', cb));
          return call<{ size: number }>((cb) => sftp.stat(`busy/Out/GO_${n % 20}.DAT`, cb)).then((st) => (typeof st === 'string' ? st : st.size));
        }),
      ),
    );
    assert.deepEqual(
      burst,
      Array.from({ length: 200 }, (_, n) => (n % 4 === 0 ? 20 : n % 4 === 1 ? 'code 2' : 1000 * (n % 20))),
    );
  });

  it('closes the files a client left open when its connection ends, and keeps serving', { skip: openFds() === undefined ? 'no /proc/self/fd' : false }, async () => {
    write('fds/a.txt', 'a');
    const s = open();
    await s.list('.');
    const before = openFds()!;
    for (let i = 0; i < 5; i++) await raw<Buffer>(s, (sftp, cb) => sftp.open('fds/a.txt', 'r', cb));
    await raw<Buffer>(s, (sftp, cb) => sftp.open('fds/b.txt', 'w', cb));
    assert.ok(openFds()! >= before + 6, 'the hub holds the files open');
    s.drop();
    assert.ok(await eventually(() => openFds()! <= before), `open fds: before ${before}, now ${openFds()}`);
    assert.equal((await open().getBuffer('fds/a.txt')).toString(), 'a');
  });

  it('survives a client that breaks the protocol', async () => {
    const socket = net.connect(hub.port, hub.host);
    socket.on('error', () => undefined); // the hub may reset it
    await new Promise((r) => socket.once('connect', r));
    socket.write('SSH-2.0-nonsense\r\n' + randomBytes(4096).toString('binary'));
    await new Promise((r) => setTimeout(r, 200));
    socket.destroy();
    write('still/here.DAT', 'here');
    assert.deepEqual((await open().list('still')).map((e) => [e.name, e.size]), [['here.DAT', 4]]);
  });
});

describe('closing the demo SFTP hub', () => {
  it('ends connected sessions, cuts connections that do not end, and stops listening', { timeout: 10_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-hub-'));
    const sessions: SftpSession[] = [];
    let stubborn: net.Socket | undefined;
    try {
      const key = generateUserKey();
      const hub = await startHub({ root: dir, username: USER, authorizedKey: key.publicKey, port: 0 });
      const s = new SftpSession({ host: hub.host, port: hub.port, username: USER, privateKey: key.privateKey, hostFingerprint: hub.fingerprint, ...FAST, retries: 0 });
      sessions.push(s);
      fs.writeFileSync(path.join(dir, 'f.txt'), 'f');
      await raw<Buffer>(s, (sftp, cb) => sftp.open('f.txt', 'r', cb));
      // A peer that never closes its side: only cutting the connection ends it.
      const socket = (stubborn = net.connect({ host: hub.host, port: hub.port, allowHalfOpen: true }));
      socket.on('error', () => undefined);
      socket.resume(); // reads (and drops) the hub's greeting, so that its end is seen
      await new Promise((r) => socket.once('connect', r));
      const cut = new Promise<void>((r) => socket.once('end', () => r())); // the hub closed its side
      await hub.close(); // resolves although the peer never closes its side (a hang fails the test by its time limit)
      assert.ok(await eventually(() => !s.connected), 'the session saw the connection end');
      assert.ok(await Promise.race([cut.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]), 'the stubborn connection was cut');
      const refused = await new Promise<boolean>((resolve) => {
        const c = net.connect(hub.port, hub.host);
        c.once('connect', () => (c.destroy(), resolve(false)));
        c.once('error', () => resolve(true));
      });
      assert.ok(refused, 'no longer listening');
      await hub.close(); // a second close is harmless
    } finally {
      stubborn?.destroy();
      await Promise.all(sessions.map((x) => x.close()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
