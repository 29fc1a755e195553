/**
 * A real FTPS server for tests: Debian's ProFTPD (proftpd-core, with mod_tls from proftpd-mod-crypto) on 127.0.0.1,
 * a random control port and passive port range, a throw-away self-signed certificate and a throw-away virtual user
 * (AuthUserFile, no system account) chrooted into a temporary folder. TLS is required on the control and data
 * connections, and by default data connections must resume the control connection's TLS session, as many hubs demand.
 * The server never reads /etc/proftpd: every setting is in a proftpd.conf of its own. `.ci/run` installs proftpd-core
 * and proftpd-mod-crypto when proftpd is missing.
 *
 * ProFTPD must be started as root (it chroots the user and switches to the user's uid per session), which the tests
 * are in CI. The virtual user has the test process's own uid and gid, so what the client uploads belongs to the test
 * process and what the test writes into `root` the client can overwrite, rename and delete.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitForPort } from './sshd';

export const PROFTPD = ['/usr/sbin/proftpd', '/usr/local/sbin/proftpd'].find((p) => fs.existsSync(p));
/** The folder holding mod_tls.so (Debian puts it in proftpd-mod-crypto, not proftpd-core). */
export const PROFTPD_MODULES = ['/usr/lib/proftpd', '/usr/libexec/proftpd', '/usr/local/libexec/proftpd'].find((d) => fs.existsSync(path.join(d, 'mod_tls.so')));
const OPENSSL = (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, 'openssl')));
export const FTPSD_SKIP =
  !PROFTPD || !PROFTPD_MODULES
    ? 'skipped: no FTPS server is installed (.ci/run installs proftpd)'
    : !OPENSSL
      ? 'skipped: openssl is not installed (the FTPS test server makes its certificates with it)'
      : process.getuid?.() !== 0
        ? 'skipped: the test FTPS server (proftpd) must be started as root'
        : false;

/**
 * Command lists for `refuse`, by what a hub may not allow, and what ProFTPD answers (checked with basic-ftp):
 * - rename: RNFR is answered "550 <path>: Operation not permitted" (so RNTO is never reached).
 * - stat: SIZE and MDTM "550 <path>: Operation not permitted", MLST "550 Unable to handle command".
 * - list: MLSD "550 Unable to handle command"; NLST "450" (after EPSV); LIST and STAT <path> are NOT refused but
 *   answered with an EMPTY listing (226 / 213): ProFTPD hides what <Limit LIST> denies rather than refusing it.
 * - write: STOR, STOU, APPE "550 <path>: Operation not permitted", sent before the data connection is accepted: the
 *   server then drops the passive listener, so a client that already started TLS on the data socket (basic-ftp does)
 *   may see ECONNRESET on the data socket before it reads the 550.
 * - delete: DELE "550 <path>: Operation not permitted".
 * - mkdir: MKD "550 <path>: Permission denied".
 * The commands stay in FEAT, as on hubs that refuse them.
 */
export const REFUSE = {
  rename: ['RNFR', 'RNTO'],
  stat: ['SIZE', 'MDTM', 'MLST'],
  list: ['LIST', 'NLST', 'MLSD', 'STAT'],
  write: ['STOR', 'STOU', 'APPE'],
  delete: ['DELE'],
  mkdir: ['MKD', 'XMKD'],
} as const;

export interface FtpsdOptions {
  /** Implicit TLS: the control connection is TLS from its first byte (FTPS as on port 990). Default: explicit AUTH TLS. */
  implicit?: boolean;
  /**
   * Refuse everything that changes the tree, each answered 550 (see REFUSE): STOR, STOU, APPE, DELE, RNFR/RNTO, MKD,
   * RMD, SITE CHMOD/CHGRP, MFMT, MFF. Reading, listing and CWD still work.
   */
  readOnly?: boolean;
  /**
   * FTP commands to refuse everywhere (a <Limit ...> DenyAll block), e.g. REFUSE.rename; mostly answered 550, but
   * see REFUSE for LIST and NLST. ProFTPD's command groups (READ, WRITE, DIRS, ALL) work too.
   */
  refuse?: readonly string[];
  /**
   * Whether data connections must resume the control connection's TLS session (default true; false sets ProFTPD's
   * `TLSOptions NoSessionReuseRequired`). A client that does not reuse it gets "425 Unable to build data connection".
   */
  sessionReuse?: boolean;
  /** Serve the other certificate (otherCertPem, otherFingerprint256): a hub whose certificate changed. */
  otherCert?: boolean;
  /**
   * Extra proftpd.conf lines (server context), e.g. "TimeoutIdle 5" or "TLSProtocol TLSv1.2". They come before ours,
   * and ProFTPD takes the first of a repeated directive, so they override ours ("TLSRequired off" allows plain FTP).
   */
  config?: readonly string[];
}

export interface TestFtpsd {
  host: string;
  /** The control port (explicit or implicit TLS, as started). */
  port: number;
  /** The first and last passive data port (all on 127.0.0.1). */
  passivePorts: [number, number];
  username: string;
  password: string;
  /** The folder the user is chrooted into, i.e. FTP path "/" (absolute path on this machine, which is also the server). */
  root: string;
  /** The server's certificate (PEM) and its file (the one served unless started with otherCert). */
  certPem: string;
  certFile: string;
  /** The certificate's SHA-256 fingerprint as Node's getPeerCertificate().fingerprint256 prints it (AA:BB:...). */
  fingerprint256: string;
  /** A different throw-away certificate, for mismatch tests (served with the otherCert option). */
  otherCertPem: string;
  otherCertFile: string;
  otherFingerprint256: string;
  /** The options the server is running with now. */
  options: FtpsdOptions;
  dir: string;
  /**
   * What proftpd logged: its own log (it writes to stderr in the foreground), then mod_tls's log, then one line per
   * command with its reply code: `2026-01-01 12:00:00,000 esrtest "RNTO b.txt" 550` (passwords show as "PASS (hidden)").
   */
  log(): string;
  stop(): Promise<void>;
  /** Restart on the same ports with other options (e.g. read-only); sessions open at the time are cut. */
  restart(options?: FtpsdOptions): Promise<void>;
}

const PASSIVE_PORTS = 64; // two runtimes open many data connections; closed ones wait in TIME_WAIT (8 ran out: 425 EPSV in CI)

interface Cert {
  certFile: string;
  keyFile: string;
  pem: string;
  fingerprint256: string;
}

async function selfSignedCert(dir: string, name: string): Promise<Cert> {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '7', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'];
  await new Promise<void>((resolve, reject) => execFile('openssl', args, (err, _out, stderr) => (err ? reject(new Error(`openssl req failed: ${stderr}`)) : resolve())));
  fs.chmodSync(keyFile, 0o600);
  const pem = fs.readFileSync(certFile, 'utf8');
  return { certFile, keyFile, pem, fingerprint256: new X509Certificate(pem).fingerprint256 };
}

/** Process groups of servers still running, ended if the test process exits without stop(). */
const running = new Set<number>();
let exitHook = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A run of free ports below the kernel's ephemeral range, so no outgoing connection takes one while the server runs. */
async function freePortRange(count: number): Promise<[number, number]> {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: the default range
  }
  const low = 20000;
  const high = Math.max(low + 1000, ephemeralLow) - count;
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = low + Math.floor(Math.random() * (high - low));
    let ok = true;
    for (let p = first; p < first + count && ok; p++) ok = await portFree(p);
    if (ok) return [first, first + count - 1];
  }
  throw new Error('no free passive port range');
}

function commandList(commands: readonly string[]): string {
  for (const c of commands) if (!/^[A-Za-z_]+$/.test(c)) throw new Error(`not an FTP command: ${JSON.stringify(c)}`);
  return commands.map((c) => c.toUpperCase()).join(' ');
}

export async function startFtpsd(options: FtpsdOptions = {}): Promise<TestFtpsd> {
  if (FTPSD_SKIP) throw new Error(FTPSD_SKIP);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => running.forEach((pid) => killGroup(pid, 'SIGKILL')));
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-ftpsd-')); // 0700: proftpd refuses log files in world-writable folders
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  const [cert, other] = await Promise.all([selfSignedCert(dir, 'server'), selfSignedCert(dir, 'other')]);
  const username = 'esrtest';
  const password = randomBytes(12).toString('hex');
  const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: password + '\n', encoding: 'utf8' }).trim();
  const uid = process.getuid!();
  const gid = process.getgid!();
  const passwd = path.join(dir, 'ftpd.passwd');
  const group = path.join(dir, 'ftpd.group');
  fs.writeFileSync(passwd, `${username}:${hash}:${uid}:${gid}:esr test:${root}:/bin/false\n`, { mode: 0o600 });
  fs.writeFileSync(group, `${username}:x:${gid}:${username}\n`, { mode: 0o600 });
  const port = await freePort();
  const passivePorts = await freePortRange(PASSIVE_PORTS);
  const files = { tls: path.join(dir, 'tls.log'), commands: path.join(dir, 'commands.log') };
  let child: ChildProcess | undefined;
  let stderr = '';
  let current: FtpsdOptions = options;

  const start = async (opts: FtpsdOptions) => {
    const served = opts.otherCert ? other : cert;
    const tlsOptions = [...(opts.implicit ? ['UseImplicitSSL'] : []), ...(opts.sessionReuse === false ? ['NoSessionReuseRequired'] : [])];
    const config = [
      `ModulePath ${PROFTPD_MODULES}`,
      'LoadModule mod_tls.c',
      // First: ProFTPD takes the first of a repeated directive, so these win over ours below.
      ...(opts.config ?? []),
      'ServerType standalone',
      'ServerName "esr test FTPS"',
      'ServerIdent on "esr test FTPS ready"',
      'DefaultAddress 127.0.0.1',
      'UseIPv6 off',
      'SocketBindTight on',
      `Port ${port}`,
      `PassivePorts ${passivePorts[0]} ${passivePorts[1]}`,
      // Everything a default build keeps under /run goes into our folder, or is off.
      `PidFile ${path.join(dir, 'proftpd.pid')}`,
      `ScoreboardFile ${path.join(dir, 'proftpd.scoreboard')}`,
      'ControlsEngine off',
      `ControlsSocket ${path.join(dir, 'proftpd.sock')}`,
      'DelayTable none',
      'WtmpLog off',
      'UseLastlog off',
      'UseReverseDNS off',
      'UseFtpUsers off',
      'CapabilitiesEngine off',
      // Only our user file: never PAM, /etc/passwd or /etc/group.
      'AuthOrder mod_auth_file.c',
      `AuthUserFile ${passwd}`,
      `AuthGroupFile ${group}`,
      'RequireValidShell off',
      ...(uid === 0 ? ['RootLogin on'] : []),
      'DefaultRoot ~',
      'Umask 022',
      'AllowOverwrite on',
      'AllowStoreRestart on',
      'AllowRetrieveRestart on',
      'MaxLoginAttempts 10',
      'LogFormat commands "%{iso8601} %u \\"%r\\" %s"',
      `ExtendedLog ${files.commands} ALL commands`,
      'TLSEngine on',
      `TLSLog ${files.tls}`,
      'TLSProtocol TLSv1.2 TLSv1.3',
      'TLSRequired on',
      `TLSRSACertificateFile ${served.certFile}`,
      `TLSRSACertificateKeyFile ${served.keyFile}`,
      'TLSVerifyClient off',
      ...(tlsOptions.length ? [`TLSOptions ${tlsOptions.join(' ')}`] : []),
      ...(opts.readOnly ? ['<Limit WRITE RNFR SITE_CHMOD SITE_CHGRP MFMT MFF>', '  DenyAll', '</Limit>'] : []),
      ...(opts.refuse?.length ? [`<Limit ${commandList(opts.refuse)}>`, '  DenyAll', '</Limit>'] : []),
    ];
    const conf = path.join(dir, 'proftpd.conf');
    fs.writeFileSync(conf, config.join('\n') + '\n');
    // -n: in the foreground, logging to stderr; -c: our config only. In a process group of its own (the master forks
    // one process per session), which stop() and the exit hook kill as a whole.
    const c = spawn(PROFTPD!, ['-n', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    child = c;
    running.add(c.pid!);
    const from = stderr.length;
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) => c.once('exit', (code) => reject(new Error(`proftpd exited (${code}): ${stderr.slice(from)}`))));
    exited.catch(() => undefined);
    try {
      await Promise.race([waitForPort(port, 10_000, 'proftpd'), exited]);
    } catch (err) {
      killGroup(c.pid!, 'SIGKILL');
      running.delete(c.pid!);
      throw err;
    }
    current = opts;
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    // The whole process group, master and sessions, at once: on SIGTERM the master takes up to ~0.4 s (it gives its
    // sessions time to end, and sleeps after any session ends), and it keeps nothing that needs a clean shutdown.
    // Clients see their connections close, as when a hub goes down.
    killGroup(c.pid!, 'SIGKILL');
    await exited;
    running.delete(c.pid!);
  };
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  await start(options);
  return {
    host: '127.0.0.1',
    port,
    passivePorts,
    username,
    password,
    root,
    certPem: cert.pem,
    certFile: cert.certFile,
    fingerprint256: cert.fingerprint256,
    otherCertPem: other.pem,
    otherCertFile: other.certFile,
    otherFingerprint256: other.fingerprint256,
    get options() {
      return current;
    },
    dir,
    log: () => [stderr, read(files.tls), read(files.commands)].filter(Boolean).join('\n'),
    stop,
    restart: async (opts = {}) => {
      await stop();
      await start(opts);
    },
  };
}
