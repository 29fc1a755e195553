/** Node status dots for the connection: connecting, connected, transferring (with bytes), error. */
import type { SessionStatus } from '../../core/transport';
import type { Node } from './node-red';
import type { Messages } from './messages';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** `t`: the esr-sftp-server catalogue, which holds the connection texts. */
export function showSessionStatus(node: Node, s: SessionStatus, t: Messages): void {
  switch (s.state) {
    case 'connecting':
      return node.status({ fill: 'yellow', shape: 'ring', text: t('status.connecting') });
    case 'connected':
      return node.status({ fill: 'green', shape: 'dot', text: t('status.connected') });
    case 'disconnected':
      return node.status({ fill: 'grey', shape: 'ring', text: t('status.disconnected') });
    case 'transferring':
      return node.status({ fill: 'blue', shape: 'dot', text: t('status.transferring', { operation: s.operation, size: formatBytes(s.bytes) }) });
    case 'error':
      return node.status({ fill: 'red', shape: 'ring', text: s.code });
  }
}
