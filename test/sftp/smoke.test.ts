import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SftpSession } from '../../core/sftp';
import { SSHD_SKIP, startSshd, type TestSshd } from '../support/sshd';

describe('sftp smoke', { skip: SSHD_SKIP }, () => {
  let sshd: TestSshd;
  before(async () => (sshd = await startSshd()));
  after(async () => sshd?.stop());
  it('puts and gets', async () => {
    const s = new SftpSession({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostFingerprint: sshd.fingerprint, root: sshd.root });
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const r = await s.put('a/b.DAT', data, { mkdirs: true });
    assert.equal(r.bytes, data.length);
    assert.ok(fs.readFileSync(path.join(sshd.root, 'a/b.DAT')).equals(data));
    const back = await s.getBuffer('a/b.DAT');
    assert.ok(back.equals(data));
    assert.deepEqual((await s.list('a')).map((e) => e.name), ['b.DAT']);
    await s.close();
  });
});
