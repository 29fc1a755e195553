/** Errors of the SFTP transport: operation, remote path and SFTP/system code; never file contents or secrets. */

/** SFTP status codes (draft-ietf-secsh-filexfer) as names. */
const STATUS: Record<number, string> = {
  1: 'EOF',
  2: 'NO_SUCH_FILE',
  3: 'PERMISSION_DENIED',
  4: 'FAILURE',
  5: 'BAD_MESSAGE',
  6: 'NO_CONNECTION',
  7: 'CONNECTION_LOST',
  8: 'OP_UNSUPPORTED',
};

export class SftpError extends Error {
  constructor(
    readonly operation: string,
    readonly path: string | undefined,
    /** SFTP status name (NO_SUCH_FILE, PERMISSION_DENIED ...), a system code (ECONNRESET ...) or one of ours. */
    readonly code: string,
    detail: string,
  ) {
    super(`sftp ${operation}${path ? ` ${path}` : ''}: ${detail} [${code}]`);
    this.name = 'SftpError';
  }
}

/** Wraps whatever ssh2 / ssh2-sftp-client threw. The original message is kept only when it is known to be safe. */
export function toSftpError(err: unknown, operation: string, path?: string): SftpError {
  if (err instanceof SftpError) return err;
  const e = err as { code?: unknown; message?: string; level?: string };
  let code: string;
  if (typeof e?.code === 'number') code = STATUS[e.code] ?? `SFTP_${e.code}`;
  else if (typeof e?.code === 'string') code = e.code;
  else if (e?.level === 'client-authentication') code = 'AUTH_FAILED';
  else if (/No response from server|Not connected|Channel not open|Unable to start subsystem/i.test(e?.message ?? '')) code = 'CONNECTION_LOST';
  else code = 'ERROR';
  // ssh2's messages describe protocol states and never carry file contents; secrets are never in them.
  const detail = (e?.message ?? String(err)).replace(/\s+/g, ' ').slice(0, 200);
  return new SftpError(operation, path, code, detail);
}
