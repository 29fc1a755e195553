/**
 * One test hub over either protocol, so that the transport and poller suites run the same cases over SFTP
 * (OpenSSH, test/support/sshd.ts) and FTPS (ProFTPD, test/support/ftpsd.ts). Both serve a local folder, `root`,
 * that the tests read and write directly.
 */
import { openTransport, type Transport, type TransportSettings } from '../../core/transport';
import { FAST as SFTP_FAST, SSHD_SKIP, sessionSettings, startSshd, type TestSshd } from './sshd';
import { FTPSD_SKIP, REFUSE, startFtpsd, type TestFtpsd } from './ftpsd';

/** What a hub account may not do. */
export type Refusal = 'rename' | 'stat' | 'list' | 'write' | 'delete';

export interface HubOptions {
  /** Nothing may be changed: no upload, rename, delete or new folder. */
  readOnly?: boolean;
  refuse?: Refusal[];
  /** FTPS only: implicit TLS. */
  implicit?: boolean;
}

export interface TestHub {
  protocol: 'sftp' | 'ftps';
  /** For test names: "SFTP", "FTPS (explicit)" … */
  label: string;
  host: string;
  port: number;
  root: string;
  /** The pin of the server's host key or certificate, and of another one. */
  pin: string;
  otherPin: string;
  /** Settings to reach it (fast timeouts), with `extra` over them. */
  settings(extra?: Record<string, unknown>): TransportSettings;
  open(extra?: Record<string, unknown>): Transport;
  restart(options?: HubOptions): Promise<void>;
  /** Cut every open connection at once, as when the hub goes down; the server goes on taking new ones. */
  cutConnections(): Promise<void>;
  stop(): Promise<void>;
}

export const FAST = { operationTimeoutMs: 1500, connectTimeoutMs: 2000, retries: 3, backoffInitialMs: 50, backoffMaxMs: 200 };

const SFTP_REFUSE: Record<Refusal, string> = { rename: 'rename,posix-rename', stat: 'stat,lstat', list: 'opendir,readdir', write: 'open', delete: 'remove' };

function sshdOptions(o: HubOptions) {
  const refused = (o.refuse ?? []).map((r) => SFTP_REFUSE[r]).join(',');
  return { readOnly: o.readOnly, sftpFlags: refused ? ['-P', refused] : [] };
}

function ftpsdOptions(o: HubOptions) {
  return { readOnly: o.readOnly, implicit: o.implicit, refuse: (o.refuse ?? []).flatMap((r) => REFUSE[r]) };
}

/** The protocols to run a suite over, each with its skip reason where its server is not installed. */
export const PROTOCOLS: { protocol: 'sftp' | 'ftps'; skip: string | false }[] = [
  { protocol: 'sftp', skip: SSHD_SKIP },
  { protocol: 'ftps', skip: FTPSD_SKIP },
];

export async function startHub(protocol: 'sftp' | 'ftps', options: HubOptions = {}): Promise<TestHub> {
  if (protocol === 'sftp') {
    const sshd: TestSshd = await startSshd(sshdOptions(options));
    const settings = (extra: Record<string, unknown> = {}): TransportSettings => ({ protocol: 'sftp', ...sessionSettings(sshd), ...SFTP_FAST, ...extra });
    return {
      protocol,
      label: 'SFTP',
      host: sshd.host,
      port: sshd.port,
      root: sshd.root,
      pin: sshd.fingerprint,
      otherPin: sshd.otherFingerprint,
      settings,
      open: (extra) => openTransport(settings(extra)),
      restart: (o = {}) => sshd.restart(sshdOptions(o)),
      cutConnections: async () => sshd.killSessions(),
      stop: () => sshd.stop(),
    };
  }
  const ftpsd: TestFtpsd = await startFtpsd(ftpsdOptions(options));
  const settings = (extra: Record<string, unknown> = {}): TransportSettings =>
    ({
      protocol: 'ftps',
      host: ftpsd.host,
      port: ftpsd.port,
      username: ftpsd.username,
      password: ftpsd.password,
      tls: ftpsd.options.implicit ? 'implicit' : 'explicit',
      certFingerprint: ftpsd.fingerprint256,
      ...FAST,
      ...extra,
    }) as TransportSettings;
  return {
    protocol,
    label: options.implicit ? 'FTPS (implicit)' : 'FTPS',
    host: ftpsd.host,
    port: ftpsd.port,
    root: ftpsd.root,
    pin: ftpsd.fingerprint256,
    otherPin: ftpsd.otherFingerprint256,
    settings,
    open: (extra) => openTransport(settings(extra)),
    restart: (o = {}) => ftpsd.restart(ftpsdOptions(o)),
    cutConnections: () => ftpsd.restart(ftpsd.options),
    stop: () => ftpsd.stop(),
  };
}
