/**
 * FTPS transfer speed against curl: the same ≥ 100 MB file, the same local ProFTPD (test/support/ftpsd.ts: explicit
 * TLS required on control and data connections, data connections resuming the control connection's TLS session),
 * the same run. Ratio = curl's time / ours, so higher is better.
 *
 * curl runs as `curl -sS --ssl-reqd --cacert <server cert> ftp://user:pass@127.0.0.1:<port>/<file>`: `ftp://` with
 * --ssl-reqd is explicit FTPS (AUTH TLS, then PBSZ 0 / PROT P, so the data connections are TLS too, which the
 * server demands anyway: `TLSRequired on`). The certificate verifies as is: it is issued to CN=127.0.0.1 with
 * subjectAltName IP:127.0.0.1, so neither --resolve nor -k is needed. Ours pins the same certificate's SHA-256.
 * Both sides connect and log in afresh for each transfer.
 *
 * What the times hold besides the bytes (seen with strace, 2026-11, curl 7.88.1, ProFTPD 1.3.8):
 * - ProFTPD's standalone master, after a session ends, sleeps about 0.4 s before it accepts the next connection
 *   (a login right after another session's end took ~240 ms instead of ~75 ms). Each transfer starts 0.5 s after
 *   the last one ended (untimed), so neither side pays for the other's session. Ours also opens a connection that
 *   does not log in, to see the certificate before trusting it (probeCertificate, ~30 ms), as it does in use.
 * - curl 7.88 starts the TLS handshake on the passive data connection before RETR/STOR and then waits on that socket
 *   (poll timeouts of ~0.2 s, then ~1 s) rather than on the control connection, so each of its transfers stalls for
 *   0.1–1.2 s before the first byte. Best of three keeps its least stalled run.
 * With ~0.5 s of data per transfer these fixed costs weigh heavily: the MB/s lines below are end to end too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { FtpsSession } from '../core/transport';
import { FTPSD_SKIP, startFtpsd } from '../test/support/ftpsd';

const MB = 1024 * 1024;
const SIZE_MB = 120;

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 500));

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function curlVersion(): string | undefined {
  try {
    return execFileSync('curl', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
  } catch {
    return undefined;
  }
}

export async function benchFtps(dataDir: string, print: (name: string, value: number, unit: string) => void): Promise<void> {
  if (FTPSD_SKIP) {
    process.stderr.write(`ftps benchmark ${FTPSD_SKIP}\n`);
    return;
  }
  if (!curlVersion()) {
    process.stderr.write('ftps benchmark skipped: curl is not installed (apt-get install curl)\n');
    return;
  }
  // The same file as the SFTP benchmark (random bytes, so nothing on the way can compress it).
  const local = path.join(dataDir, 'sftp-120mb.bin');
  if (!fs.existsSync(local) || fs.statSync(local).size !== SIZE_MB * MB) {
    const out = fs.openSync(local, 'w');
    for (let i = 0; i < SIZE_MB; i++) fs.writeSync(out, randomBytes(MB));
    fs.closeSync(out);
  }
  const ftpsd = await startFtpsd();
  const settings = { host: ftpsd.host, port: ftpsd.port, username: ftpsd.username, password: ftpsd.password, tls: 'explicit' as const, certFingerprint: ftpsd.fingerprint256 };
  const ours = async (fn: (s: FtpsSession) => Promise<unknown>) => {
    const session = new FtpsSession(settings);
    try {
      await fn(session);
    } finally {
      await session.close();
    }
  };
  const base = `ftp://${encodeURIComponent(ftpsd.username)}:${encodeURIComponent(ftpsd.password)}@127.0.0.1:${ftpsd.port}`;
  const curl = (...args: string[]) => execFileSync('curl', ['-sS', '--ssl-reqd', '--cacert', ftpsd.certFile, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const back = path.join(dataDir, 'ftps-back.bin');
    let refPut = Infinity, refGet = Infinity, ourPut = Infinity, ourGet = Infinity;
    // Best of three each, interleaved, so a noisy moment hurts both sides alike.
    for (let i = 0; i < 3; i++) {
      await pause();
      refPut = Math.min(refPut, time(() => curl('-T', local, `${base}/ref.bin`)));
      await pause();
      // The local file is read in 1 MiB chunks, as in the SFTP benchmark.
      ourPut = Math.min(ourPut, await timeAsync(() => ours((s) => s.put('ours.bin', fs.createReadStream(local, { highWaterMark: MB }), { ifExists: 'overwrite' }))));
      await pause();
      refGet = Math.min(refGet, time(() => curl(`${base}/ref.bin`, '-o', back)));
      await pause();
      ourGet = Math.min(ourGet, await timeAsync(() => ours((s) => s.get('ours.bin', (stream) => pipeline(stream, fs.createWriteStream(back))))));
    }
    fs.rmSync(back, { force: true });
    for (const name of ['ref.bin', 'ours.bin']) {
      const size = fs.statSync(path.join(ftpsd.root, name)).size;
      if (size !== SIZE_MB * MB) throw new Error(`ftps benchmark: ${name} holds ${size} bytes, not ${SIZE_MB * MB}`);
    }
    // Both sides must have used TLS on the data connections: ProFTPD logs PROT P for each session that asked for it.
    const prot = (ftpsd.log().match(/"PROT P" 200/g) ?? []).length;
    if (prot < 12) throw new Error(`ftps benchmark: only ${prot} of 12 sessions asked for TLS data connections (PROT P)`);
    print('ftps_get_ratio_vs_curl', refGet / ourGet, 'x');
    print('ftps_put_ratio_vs_curl', refPut / ourPut, 'x');
    print('ftps_get_mb_per_s', SIZE_MB / (ourGet / 1000), 'MB/s');
    print('ftps_put_mb_per_s', SIZE_MB / (ourPut / 1000), 'MB/s');
    print('ftps_curl_get_mb_per_s', SIZE_MB / (refGet / 1000), 'MB/s');
    print('ftps_curl_put_mb_per_s', SIZE_MB / (refPut / 1000), 'MB/s');
  } finally {
    await ftpsd.stop();
  }
}
