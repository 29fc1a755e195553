/**
 * SFTP transfer speed against OpenSSH's own client: the same ≥ 100 MB file, the same local sshd, the same run.
 * Ratio = OpenSSH's time / ours, so higher is better (target ≥ 1.0).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { SftpSession } from '../core/transport';
import { SSHD_SKIP, startSshd } from '../test/support/sshd';

const MB = 1024 * 1024;

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function benchSftp(dataDir: string, print: (name: string, value: number, unit: string) => void): Promise<void> {
  if (SSHD_SKIP) {
    process.stderr.write(`sftp benchmark ${SSHD_SKIP}\n`);
    return;
  }
  const local = path.join(dataDir, 'sftp-120mb.bin');
  if (!fs.existsSync(local) || fs.statSync(local).size !== 120 * MB) {
    const out = fs.openSync(local, 'w');
    for (let i = 0; i < 120; i++) fs.writeSync(out, randomBytes(MB));
    fs.closeSync(out);
  }
  const sshd = await startSshd();
  const settings = { host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostFingerprint: sshd.fingerprint, root: sshd.root };
  // Both sides pay for connecting: OpenSSH's `sftp -b` logs in for each transfer, so ours opens a fresh session too.
  const ours = async (fn: (s: SftpSession) => Promise<unknown>) => {
    const session = new SftpSession(settings);
    try {
      await fn(session);
    } finally {
      await session.close();
    }
  };
  try {
    const sftpArgs = ['-q', '-b', '-', '-P', String(sshd.port), '-i', path.join(sshd.dir, 'user_key'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', `${sshd.username}@127.0.0.1`];
    const back = path.join(dataDir, 'sftp-back.bin');
    let refPut = Infinity, refGet = Infinity, ourPut = Infinity, ourGet = Infinity;
    // Best of three each, interleaved, so a noisy moment hurts both sides alike.
    for (let i = 0; i < 3; i++) {
      refPut = Math.min(refPut, time(() => execFileSync('sftp', sftpArgs, { input: `put ${local} ${sshd.root}/ref.bin\n` })));
      // The local file is read in 1 MiB chunks, as a caller streaming a big file would (Node's default is 64 KiB).
      ourPut = Math.min(ourPut, await timeAsync(() => ours((s) => s.put('ours.bin', fs.createReadStream(local, { highWaterMark: 1024 * 1024 }), { ifExists: 'overwrite' }))));
      refGet = Math.min(refGet, time(() => execFileSync('sftp', sftpArgs, { input: `get ${sshd.root}/ref.bin ${back}\n` })));
      ourGet = Math.min(ourGet, await timeAsync(() => ours((s) => s.get('ours.bin', (stream) => pipeline(stream, fs.createWriteStream(back))))));
    }
    fs.rmSync(back, { force: true });
    print('sftp_get_ratio_vs_openssh', refGet / ourGet, 'x');
    print('sftp_put_ratio_vs_openssh', refPut / ourPut, 'x');
    print('sftp_get_mb_per_s', 120 / (ourGet / 1000), 'MB/s');
    print('sftp_put_mb_per_s', 120 / (ourPut / 1000), 'MB/s');
  } finally {
    await sshd.stop();
  }
}
