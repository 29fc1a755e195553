/** Settings and the connection test of esr-sftp-server, kept apart from the node so that they can be tested. */
import { parsePins, SftpSession, type SessionStatus, type SftpSettings } from '../../core/transport';
import type { Node } from '../shared/node-red';

export interface ServerConfig {
  name?: string;
  host: string;
  port: number | string;
  username: string;
  root?: string;
  hostFingerprint?: string;
  acceptAnyHostKey?: boolean;
  timeoutSec?: number | string;
  keepaliveSec?: number | string;
}

export interface ServerNode extends Node {
  /** Where the deployed node connects (for the connection test's use of stored secrets). */
  target: { host: string; port: number; username: string; acceptAnyHostKey: boolean; pins: string };
  session(): SftpSession;
  /** Calls `listener` with each status change of the connection; returns the unsubscribe function. */
  onStatus(listener: (status: SessionStatus) => void): () => void;
}

/** The pins as one comparable string (sorted, normalised); '' when none or unusable. */
export function pinsOf(text: string | undefined): string {
  try {
    return parsePins(text).sort().join('\n');
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
    if (typeof v === 'string') out[k] = v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => process.env[name] ?? '');
  }
  return out as T;
}

export function settingsFrom(config: ServerConfig, credentials: Record<string, string | undefined> = {}): SftpSettings {
  const seconds = (v: unknown, dflt: number) => (Number(v) > 0 ? Number(v) * 1000 : dflt);
  return {
    host: String(config.host ?? '').trim(),
    port: Number(config.port) || 22,
    username: String(config.username ?? '').trim(),
    root: (config.root ?? '').trim() || '.',
    hostFingerprint: (config.hostFingerprint ?? '').trim(),
    acceptAnyHostKey: config.acceptAnyHostKey === true,
    password: credentials.password || undefined,
    privateKey: credentials.privateKey || undefined,
    passphrase: credentials.passphrase || undefined,
    operationTimeoutMs: seconds(config.timeoutSec, 30_000),
    keepaliveIntervalMs: seconds(config.keepaliveSec, 10_000),
  };
}

/** What the "test connection" button reports. Never secrets. */
export interface TestResult {
  ok: boolean;
  fingerprint?: string;
  pinned?: boolean;
  code?: string;
  message?: string;
}

export async function testConnection(settings: SftpSettings): Promise<TestResult> {
  const session = new SftpSession({ ...settings, retries: 0, connectTimeoutMs: 10_000, operationTimeoutMs: 10_000 });
  try {
    await session.list('.');
    return { ok: true, fingerprint: session.fingerprint, pinned: !settings.acceptAnyHostKey };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, fingerprint: session.fingerprint, code: e.code, message: e.message };
  } finally {
    await session.close();
  }
}

