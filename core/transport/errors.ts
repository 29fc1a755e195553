/** Errors of the transports: protocol, operation, remote path and a code; never file contents or secrets. */

export type Protocol = 'sftp' | 'ftps' | 'ftp';

/**
 * A failed operation on the hub. The message reads `<protocol> <operation> <path>: <detail> [<code>]`.
 * `code`: an SFTP status name (NO_SUCH_FILE, PERMISSION_DENIED …), an FTP reply as `FTP_<nnn>`, a system code
 * (ECONNRESET …) or one of ours (EEXIST, HOST_KEY_MISMATCH, CERT_MISMATCH, CLOSED …).
 */
export class TransportError extends Error {
  constructor(
    readonly operation: string,
    readonly path: string | undefined,
    readonly code: string,
    detail: string,
    readonly protocol: Protocol = 'sftp',
  ) {
    super(`${protocol} ${operation}${path ? ` ${path}` : ''}: ${detail} [${code}]`);
    this.name = 'TransportError';
  }
}

/** SFTP status codes (draft-ietf-secsh-filexfer) as names. */
const SFTP_STATUS: Record<number, string> = {
  1: 'EOF',
  2: 'NO_SUCH_FILE',
  3: 'PERMISSION_DENIED',
  4: 'FAILURE',
  5: 'BAD_MESSAGE',
  6: 'NO_CONNECTION',
  7: 'CONNECTION_LOST',
  8: 'OP_UNSUPPORTED',
};

/** Wraps whatever ssh2 / ssh2-sftp-client threw. The original message is kept only when it is known to be safe. */
export function toSftpError(err: unknown, operation: string, path?: string): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as { code?: unknown; message?: string; level?: string };
  let code: string;
  if (typeof e?.code === 'number') code = SFTP_STATUS[e.code] ?? `SFTP_${e.code}`;
  else if (typeof e?.code === 'string') code = e.code;
  else if (e?.level === 'client-authentication') code = 'AUTH_FAILED';
  else if (/No response from server|Not connected|Channel not open|Unable to start subsystem/i.test(e?.message ?? '')) code = 'CONNECTION_LOST';
  else if (/Timed out/i.test(e?.message ?? '')) code = 'ETIMEDOUT';
  else code = 'ERROR';
  // ssh2's messages describe protocol states and never carry file contents; secrets are never in them.
  const detail = (e?.message ?? String(err)).replace(/\s+/g, ' ').slice(0, 200);
  return new TransportError(operation, path, code, detail, 'sftp');
}
