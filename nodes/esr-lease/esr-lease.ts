/**
 * esr-lease: lets a message through on one runtime only — the one that holds the named lease in the state store —
 * for jobs that must run once however many runtimes run the flow (e.g. the daily read of a trust system's export,
 * which would otherwise be sent to ESR twice). The lease lasts *Hold for* minutes from each message that passes and
 * is renewed by the next; when its runtime stops, another takes it over once it has lapsed.
 */
import type { Node, NodeAPI } from '../shared/node-red';
import { messagesFor } from '../shared/messages';
import { OwnStatus } from '../shared/status';
import { stateStoreFor } from '../shared/state';
import { runtimeId } from '../shared/runtime-id';

interface LeaseConfig {
  name?: string;
  /** What the job is, e.g. "roster pay variations to ESR": runtimes running the same job share it. */
  lease: string;
  holdMin: number | string;
  state?: string;
}

export = function register(RED: NodeAPI): void {
  const t = messagesFor(RED, 'esr-lease');
  function EsrLease(this: Node, config: LeaseConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const own = new OwnStatus(node);
    const holdMs = Math.max(1000, (Number(config.holdMin) || 60) * 60_000);
    const owner = `${runtimeId(RED)}`;
    node.on('input', (msg, send, done) => {
      const work = async () => {
        if (!config.lease) throw new Error(t('errors.noLease'));
        const store = stateStoreFor(RED, config.state, t('errors.noState'));
        if (await store.lease(`job:${config.lease}`, owner, holdMs)) {
          own.succeed({ fill: 'green', shape: 'dot', text: t('status.held') });
          send(msg);
        } else own.succeed({ fill: 'grey', shape: 'ring', text: t('status.elsewhere') });
      };
      work().then(
        () => done(),
        (err) => {
          own.fail(err, t('status.failed'));
          done(err as Error);
        },
      );
    });
  }

  RED.nodes.registerType('esr-lease', EsrLease as never);
};
