/**
 * esr-audit: the audit trail of polled files, and missing-file alerts, from the esr-sftp-in nodes of this runtime
 * (all of them, or those on the same flow tab) — no wire, like a Status or Catch node. Output 1: one message per step
 * of each file (taken, done, failed, retried, moved-to-error); output 2: missing-file alerts. Facts only, never a value:
 * wire output 1 to a file node (append, one line each) for a JSON-lines log.
 */
import { auditBus, type AuditMessage } from '../shared/audit';
import type { Node, NodeAPI } from '../shared/node-red';

interface AuditConfig {
  name?: string;
  /** all: every esr-sftp-in of the runtime; flow: those on this node's flow tab. */
  scope?: 'all' | 'flow';
}

export = function register(RED: NodeAPI): void {
  function EsrAudit(this: Node, config: AuditConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const z = (node as unknown as { z?: string }).z;
    const bus = auditBus(RED);
    const listener = (m: AuditMessage) => {
      if (config.scope === 'flow' && m.z !== z) return;
      if (m.kind === 'file') node.send([{ topic: m.record.outcome, filename: m.record.file, payload: m.record }, null]);
      else node.send([null, { topic: 'missing', filename: m.alert.file, payload: m.alert }]);
    };
    bus.on('audit', listener);
    node.on('close', (_removed, done) => {
      bus.off('audit', listener);
      done();
    });
  }

  RED.nodes.registerType('esr-audit', EsrAudit as never);
};
