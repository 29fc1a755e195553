/** Settings and the connection test of esr-sftp-server, kept apart from the node so that they can be tested. */
import { openTransport, parseCertPins, parsePins, type FolderAccess, type SessionStatus, type Transport, type TransportSettings } from '../../core/transport';
import type { Node } from '../shared/node-red';

export interface ServerConfig {
  name?: string;
  /** 'sftp' (default) or 'ftps'. */
  protocol?: string;
  host: string;
  port: number | string;
  username: string;
  root?: string;
  hostFingerprint?: string;
  acceptAnyHostKey?: boolean;
  /** FTPS: 'explicit' (default), 'implicit' or 'none' (plain FTP). */
  ftpTls?: string;
  certFingerprint?: string;
  acceptAnyCertificate?: boolean;
  allowPlainFtp?: boolean;
  timeoutSec?: number | string;
  keepaliveSec?: number | string;
}

/** Where the deployed node connects and what it trusts (for the connection test's use of stored secrets). */
export interface ServerTarget {
  protocol: 'sftp' | 'ftps';
  host: string;
  port: number;
  username: string;
  /** Host keys (SFTP) or certificates (FTPS) pinned, as one comparable string; '' when none. */
  pins: string;
  /** Any host key or certificate accepted (insecure), or plain FTP allowed. */
  insecure: boolean;
}

export interface ServerNode extends Node {
  target: ServerTarget;
  session(): Transport;
  /**
   * A node's view of the connection: `listener` gets the connection's states and the progress of this view's own
   * operations only (see StatusRouter); `detach` stops them.
   */
  attach(listener: (status: SessionStatus) => void): { session: Transport; detach: () => void };
}

/** The pins as one comparable string (sorted, normalised); '' when none or unusable. */
export function pinsOf(text: string | undefined, protocol: 'sftp' | 'ftps' = 'sftp'): string {
  try {
    return (protocol === 'ftps' ? parseCertPins(text) : parsePins(text)).sort().join('\n');
  } catch {
    return '';
  }
}

/**
 * `${NAME}` in a value typed into the dialog, resolved from the environment as the runtime resolves it at deploy
 * (the examples configure the hub as `${ESR_HUB_HOST}` …), so that *Test connection* reaches the same server.
 */
export function resolveEnv<T extends Record<string, unknown>>(values: T): T {
  const out: Record<string, unknown> = { ...values };
  for (const [k, v] of Object.entries(out)) {
    const resolve = (text: string) => text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => process.env[name] ?? '');
    if (typeof v === 'string') out[k] = resolve(v);
    else if (Array.isArray(v)) out[k] = v.map((item) => (typeof item === 'string' ? resolve(item) : item));
  }
  return out as T;
}

export const protocolOf = (config: Pick<ServerConfig, 'protocol'>): 'sftp' | 'ftps' => (config.protocol === 'ftps' ? 'ftps' : 'sftp');

/** The default port of a configuration: 22 (SFTP), 21 (FTPS explicit, plain FTP) or 990 (FTPS implicit). */
export function defaultPort(config: Pick<ServerConfig, 'protocol' | 'ftpTls'>): number {
  if (protocolOf(config) === 'sftp') return 22;
  return config.ftpTls === 'implicit' ? 990 : 21;
}

export function settingsFrom(config: ServerConfig, credentials: Record<string, string | undefined> = {}): TransportSettings {
  const seconds = (v: unknown, dflt: number) => (Number(v) > 0 ? Number(v) * 1000 : dflt);
  const common = {
    host: String(config.host ?? '').trim(),
    port: Number(config.port) || defaultPort(config),
    username: String(config.username ?? '').trim(),
    root: (config.root ?? '').trim() || '.',
    password: credentials.password || undefined,
    operationTimeoutMs: seconds(config.timeoutSec, 30_000),
  };
  if (protocolOf(config) === 'ftps') {
    const tls = config.ftpTls === 'implicit' || config.ftpTls === 'none' ? config.ftpTls : 'explicit';
    return {
      protocol: 'ftps',
      ...common,
      tls,
      certFingerprint: (config.certFingerprint ?? '').trim(),
      acceptAnyCertificate: config.acceptAnyCertificate === true,
      allowPlainFtp: config.allowPlainFtp === true,
    };
  }
  return {
    protocol: 'sftp',
    ...common,
    hostFingerprint: (config.hostFingerprint ?? '').trim(),
    acceptAnyHostKey: config.acceptAnyHostKey === true,
    privateKey: credentials.privateKey || undefined,
    passphrase: credentials.passphrase || undefined,
    keepaliveIntervalMs: seconds(config.keepaliveSec, 10_000),
  };
}

export function targetOf(settings: TransportSettings): ServerTarget {
  const ftps = settings.protocol === 'ftps';
  return {
    protocol: ftps ? 'ftps' : 'sftp',
    host: settings.host,
    port: settings.port!,
    username: settings.username,
    pins: ftps ? pinsOf(settings.certFingerprint, 'ftps') : pinsOf(settings.hostFingerprint),
    insecure: ftps ? settings.acceptAnyCertificate === true || settings.tls === 'none' : settings.acceptAnyHostKey === true,
  };
}

/** What the "test connection" button reports. Never secrets, never a file's content or a name in it. */
export interface TestResult {
  ok: boolean;
  protocol?: string;
  fingerprint?: string;
  pinned?: boolean;
  code?: string;
  message?: string;
  /** What the account may do in the root and in each folder asked about. */
  access?: FolderAccess[];
}

/**
 * Connects with `settings` and reports what the account may do in the root and in `folders` (list, stat, read,
 * and — only with `tryWrites` — write, rename and delete an empty `.esr-probe-…` file). A folder the account
 * may not list is reported, not a failure: only a connection that cannot be made is.
 */
export async function testConnection(settings: TransportSettings, folders: string[] = [], tryWrites = false): Promise<TestResult> {
  const session = openTransport({ ...settings, retries: 0, connectTimeoutMs: 10_000, operationTimeoutMs: 10_000 } as TransportSettings);
  const insecure = settings.protocol === 'ftps' ? settings.acceptAnyCertificate === true || settings.tls === 'none' : settings.acceptAnyHostKey === true;
  try {
    await session.ready();
    const access: FolderAccess[] = [];
    for (const folder of ['.', ...new Set(folders.filter((f) => f && f !== '.'))]) {
      access.push(await session.probeFolder(folder, tryWrites));
    }
    return { ok: true, protocol: session.protocol, fingerprint: session.fingerprint, pinned: !insecure, access };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, protocol: session.protocol, fingerprint: session.fingerprint, code: e.code, message: e.message };
  } finally {
    await session.close();
  }
}
