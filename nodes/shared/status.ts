/**
 * Status dots. Each node shows its own state: passing states (the connection's, a transfer's progress) and the
 * node's own errors, which stay until the node next succeeds. Texts carry a code or a count, never a value.
 */
import type { SessionStatus } from '../../core/transport';
import type { Node, NodeStatus } from './node-red';
import type { Messages } from './messages';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The dot for a connection state or a transfer. `t`: the esr-sftp-server catalogue, which holds these texts. */
export function sessionStatus(s: SessionStatus, t: Messages): NodeStatus {
  switch (s.state) {
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: t('status.connecting') };
    case 'connected':
      return { fill: 'green', shape: 'dot', text: t('status.connected') };
    case 'disconnected':
      return { fill: 'grey', shape: 'ring', text: t('status.disconnected') };
    case 'transferring':
      return { fill: 'blue', shape: 'dot', text: t('status.transferring', { operation: s.operation, size: formatBytes(s.bytes) }) };
    case 'error':
      return { fill: 'red', shape: 'ring', text: s.code };
  }
}

/**
 * The code of an error (e.g. `NO_SUCH_FILE`), or undefined: never its message, which may hold a value. Only a
 * code-shaped string counts (a letter, then letters, digits, `_`, `.` or `-`; at most 64), so no value gets through.
 */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^[A-Za-z][\w.-]{0,63}$/.test(code) ? code : undefined;
}

/**
 * One node's status dot. `show` sets a passing state (connection, progress, idle); `fail` a red ring held until
 * `succeed` clears it, whatever passing states come meanwhile; `succeed` shows its status (or, without one, the
 * last passing state). Errors have a kind, so that e.g. a poller's clean poll clears a poll error but not a failed
 * file. Updates reach Node-RED at most once per `minIntervalMs` (the latest state wins; none after the node
 * closes), so that a node may call these per record.
 */
export class OwnStatus {
  /** Held errors by kind; the most recent is shown. */
  private readonly errors = new Map<string, NodeStatus>();
  private passing: NodeStatus = {};
  private shown = '';
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly node: Node,
    private readonly minIntervalMs = 250,
  ) {
    node.on('close', (_removed: boolean, done: () => void) => {
      this.closed = true;
      clearTimeout(this.timer);
      done();
    });
  }

  /** A passing state: shown at once unless one of the node's own errors is held, else once it is cleared. */
  show(status: NodeStatus): void {
    this.passing = status;
    this.update();
  }

  /** A connection state or a transfer of this node's (see sessionStatus). */
  session(s: SessionStatus, t: Messages): void {
    this.show(sessionStatus(s, t));
  }

  /**
   * The node's own error: a red ring with the error's code (`fallback` when it has none), or `text` when given
   * (it must name no value), held until `succeed` clears its kind.
   */
  fail(err: unknown, fallback: string, kind = 'node', text?: string): void {
    this.errors.delete(kind); // the most recent error last
    this.errors.set(kind, { fill: 'red', shape: 'ring', text: text ?? errorCode(err) ?? fallback });
    this.update();
  }

  /** The node succeeded: clears the held errors of `kind` (all when omitted) and shows `status`, if given. */
  succeed(status?: NodeStatus, kind?: string): void {
    // Called per record: when it changes nothing (no status, no error held of its kind) it does nothing at all.
    if (!status && (kind === undefined ? this.errors.size === 0 : !this.errors.has(kind))) return;
    if (kind === undefined) this.errors.clear();
    else this.errors.delete(kind);
    if (status) this.passing = status;
    this.update();
  }

  /** Whether an error of `kind` (any, when omitted) is held. */
  failing(kind?: string): boolean {
    return kind === undefined ? this.errors.size > 0 : this.errors.has(kind);
  }

  private current(): NodeStatus {
    return [...this.errors.values()].at(-1) ?? this.passing;
  }

  private update(): void {
    if (this.closed || this.timer) return; // a pending update shows the latest state when it runs
    const wait = this.lastAt + this.minIntervalMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, wait);
      this.timer.unref?.();
    } else this.flush();
  }

  private flush(): void {
    if (this.closed) return;
    const status = this.current();
    const key = JSON.stringify(status);
    if (key === this.shown) return;
    this.shown = key;
    this.lastAt = Date.now();
    this.node.status(status);
  }
}
