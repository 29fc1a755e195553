/**
 * A real OpenSSH server for tests: Debian's sshd on 127.0.0.1, a random port, throw-away host and user keys,
 * serving SFTP over a temporary folder. `.ci/run` installs openssh-server when sshd is missing.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SftpSettings } from '../../core/transport';

export const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => fs.existsSync(p));
export const SFTP_SERVER = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/libexec/sftp-server'].find((p) => fs.existsSync(p));
export const SSHD_SKIP = SSHD && SFTP_SERVER ? false : 'skipped: OpenSSH sshd is not installed (.ci/run installs openssh-server)';

export interface SshdOptions {
  /** Extra sshd_config lines, e.g. "MaxStartups 1:100:1". */
  config?: string[];
  /** Serve SFTP read-only (sftp-server -R). */
  readOnly?: boolean;
  /** More sftp-server flags, e.g. ['-P', 'rename,remove'] to refuse those requests. */
  sftpFlags?: string[];
}

export interface TestSshd {
  host: string;
  port: number;
  username: string;
  /** The folder SFTP paths are rooted in (absolute path on this machine, which is also the server). */
  root: string;
  /** The user's private key (OpenSSH format, no passphrase). */
  privateKey: string;
  /** The same key encrypted with `passphrase`. */
  encryptedKey: string;
  passphrase: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it: SHA256:... */
  fingerprint: string;
  /** A different host key's fingerprint, for mismatch tests. */
  otherFingerprint: string;
  dir: string;
  /** Everything sshd wrote to stderr (for checking that no secret is logged by us, and for debugging). */
  log(): string;
  stop(): Promise<void>;
  /** Restart on the same port with other options (e.g. read-only). Sessions already open go on. */
  restart(options?: SshdOptions): Promise<void>;
  /** Kill every open session (sshd's children), as when the hub goes down: clients see their connection cut. */
  killSessions(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function keygen(file: string, passphrase = ''): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'esr-test', '-f', file]);
}

function fingerprintOf(pubFile: string): string {
  return execFileSync('ssh-keygen', ['-lf', pubFile], { encoding: 'utf8' }).split(' ')[1];
}

/** Resolves once something accepts connections on 127.0.0.1:`port`; throws naming `server` after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, server = 'sshd'): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${server} did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  if (!SSHD || !SFTP_SERVER) throw new Error('sshd is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-sshd-'));
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  keygen(path.join(dir, 'host_key'));
  keygen(path.join(dir, 'other_host_key'));
  keygen(path.join(dir, 'user_key'));
  fs.copyFileSync(path.join(dir, 'user_key'), path.join(dir, 'user_key_enc'));
  const passphrase = 'correct horse battery staple';
  execFileSync('ssh-keygen', ['-q', '-p', '-N', passphrase, '-P', '', '-f', path.join(dir, 'user_key_enc')]);
  fs.copyFileSync(path.join(dir, 'user_key.pub'), path.join(dir, 'authorized_keys'));
  fs.chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true }); // privilege separation dir
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (opts: SshdOptions) => {
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'LogLevel ERROR',
      `Subsystem sftp ${[SFTP_SERVER, ...(opts.readOnly ? ['-R'] : []), ...(opts.sftpFlags ?? [])].join(' ')}`,
      ...(opts.config ?? []),
    ];
    fs.writeFileSync(path.join(dir, 'sshd_config'), config.join('\n') + '\n');
    child = spawn(SSHD!, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<never>((_, reject) => child!.once('exit', (code) => reject(new Error(`sshd exited (${code}): ${log}`))));
    await Promise.race([waitForPort(port, 10_000), exited]);
    exited.catch(() => undefined);
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const c = child;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  await start(options);
  return {
    host: '127.0.0.1',
    port,
    username: os.userInfo().username,
    root,
    privateKey: fs.readFileSync(path.join(dir, 'user_key'), 'utf8'),
    encryptedKey: fs.readFileSync(path.join(dir, 'user_key_enc'), 'utf8'),
    passphrase,
    fingerprint: fingerprintOf(path.join(dir, 'host_key.pub')),
    otherFingerprint: fingerprintOf(path.join(dir, 'other_host_key.pub')),
    dir,
    log: () => log,
    stop,
    killSessions: () => {
      if (child?.pid) spawnSync('pkill', ['-KILL', '-P', String(child.pid)]);
    },
    restart: async (opts = {}) => {
      await stop();
      await start(opts);
    },
  };
}

/** Short timeouts and backoff so that fault tests finish quickly. */
export const FAST = { operationTimeoutMs: 1500, connectTimeoutMs: 2000, retries: 3, backoffInitialMs: 50, backoffMaxMs: 200, keepaliveIntervalMs: 0 };

/** Session settings for this server (key login, pinned host key, its root), fast timeouts, then `extra`. */
export function sessionSettings(sshd: TestSshd, extra: Partial<SftpSettings> = {}): SftpSettings {
  return { host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostFingerprint: sshd.fingerprint, root: sshd.root, ...FAST, ...extra };
}
