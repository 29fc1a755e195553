/** Settings and the connection test of esr-sftp-server, kept apart from the node so that they can be tested. */
import { EventEmitter } from 'node:events';
import { openTransport, parseCertPins, parsePins, TransportError, type FolderAccess, type SessionStatus, type Transport, type TransportSettings } from '../../core/transport';
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

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * `${NAME}` in a value typed into the dialog, resolved from the environment as the runtime resolves it at deploy
 * (the examples configure the hub as `${ESR_HUB_HOST}` …), so that *Test connection* reaches the same server; also
 * inside a value (`sftp.${DOMAIN}`), which Node-RED leaves as it is. A variable that is not set stays `${NAME}`,
 * for unsetEnvIn to report.
 */
export function resolveEnv<T extends Record<string, unknown>>(values: T): T {
  const out: Record<string, unknown> = { ...values };
  for (const [k, v] of Object.entries(out)) {
    const resolve = (text: string) => text.replace(ENV_REF, (ref, name: string) => process.env[name] ?? ref);
    if (typeof v === 'string') out[k] = resolve(v);
    else if (Array.isArray(v)) out[k] = v.map((item) => (typeof item === 'string' ? resolve(item) : item));
  }
  return out as T;
}

export const protocolOf = (config: Pick<ServerConfig, 'protocol'>): 'sftp' | 'ftps' => (config.protocol === 'ftps' ? 'ftps' : 'sftp');

/** A `${NAME}` a server setting refers to that is not set in the environment (see unsetEnvIn). */
export interface UnsetEnv {
  name: string;
  /** The setting that refers to it: host, port, username, root, hostFingerprint, certFingerprint … */
  setting: string;
}

/**
 * The first `${NAME}` in the settings the configured protocol uses whose variable is not set (an empty value is set:
 * Node-RED passes it on as ""). Node-RED leaves an unset `${NAME}` as it is, so that without this check the hub
 * would be looked up as the text `${ESR_HUB_HOST}`. The protocol itself may be unset (it then means SFTP, as the
 * examples document); a pin that "accept any" makes unused is not needed either.
 */
export function unsetEnvIn(config: ServerConfig): UnsetEnv | undefined {
  const resolved = resolveEnv(config as unknown as Record<string, unknown>) as unknown as ServerConfig;
  const ftps = protocolOf(resolved) === 'ftps';
  const used = ['host', 'port', 'username', 'root', 'timeoutSec'];
  if (ftps) used.push('ftpTls', ...(resolved.acceptAnyCertificate === true || resolved.ftpTls === 'none' ? [] : ['certFingerprint']));
  else used.push('keepaliveSec', ...(resolved.acceptAnyHostKey === true ? [] : ['hostFingerprint']));
  for (const setting of used) {
    const value = (resolved as unknown as Record<string, unknown>)[setting];
    if (typeof value !== 'string') continue;
    for (const m of value.matchAll(ENV_REF)) if (process.env[m[1]] === undefined) return { name: m[1], setting };
  }
  return undefined;
}

/** The error of a setting whose variable is not set: `<protocol> connect: NAME is not set (…) [ENV_NOT_SET]`. */
export function envNotSetError(unset: UnsetEnv, protocol: 'sftp' | 'ftps'): TransportError {
  return new TransportError('connect', undefined, 'ENV_NOT_SET', `${unset.name} is not set (the server's ${unset.setting} is \${${unset.name}}): set it where Node-RED runs, or type the value`, protocol);
}

/**
 * A transport that cannot be opened: every operation fails at once with `error` (and reports it as the status), no
 * connection is tried. For a configuration that cannot work, such as an unset `${NAME}`.
 */
export class UnavailableTransport extends EventEmitter implements Transport {
  readonly fingerprint = undefined;
  readonly connected = false;
  readonly protocol: Transport['protocol'];

  constructor(private readonly error: TransportError) {
    super();
    this.protocol = error.protocol;
  }

  private fail(): Promise<never> {
    this.emit('status', { state: 'error', code: this.error.code } satisfies SessionStatus);
    return Promise.reject(this.error);
  }

  ready = () => this.fail();
  list = () => this.fail();
  stat = () => this.fail();
  get = () => this.fail();
  getBuffer = () => this.fail();
  put = () => this.fail();
  rename = () => this.fail();
  delete = () => this.fail();
  mkdir = () => this.fail();
  probeFolder = () => this.fail();
  drop(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The default port of a configuration: 22 (SFTP), 21 (FTPS explicit, plain FTP) or 990 (FTPS implicit). */
export function defaultPort(config: Pick<ServerConfig, 'protocol' | 'ftpTls'>): number {
  if (protocolOf(config) === 'sftp') return 22;
  return config.ftpTls === 'implicit' ? 990 : 21;
}

/**
 * The transport settings of a configuration (a `${NAME}` in it resolved from the environment when set; see
 * unsetEnvIn for one that is not). Durations in the configuration are seconds; in the settings, milliseconds.
 */
export function settingsFrom(given: ServerConfig, credentials: Record<string, string | undefined> = {}): TransportSettings {
  const config = resolveEnv(given as unknown as Record<string, unknown>) as unknown as ServerConfig;
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
