/**
 * esr-sftp-in: list, get, or poll a remote folder. In poll mode each file is claimed, sent as one message, and
 * only archived / deleted / left once the flow confirms it by sending the message back into this node
 * (a Catch node sends failures back, which moves the file to the error folder).
 */
import * as path from 'node:path';
import { finished } from 'node:stream/promises';
import { checkName, checkRelative } from '../../core/transport';
import { createHash } from 'node:crypto';
import { auditRecord, parseDays, Poller, Watchdog, type AfterAction, type Claim, type ClaimTicket as PollerTicket, type PollerEvent } from '../../core/poller';
import { auditBus, noteFileCode, takeFileFacts } from '../shared/audit';
import { evaluate, type Node, type NodeAPI, type NodeMessage } from '../shared/node-red';
import { errorCode, OwnStatus } from '../shared/status';
import { messagesFor } from '../shared/messages';
import { esrNameFacts } from '../shared/esr-name';
import { stateStoreFor } from '../shared/state';
import { runtimeId } from '../shared/runtime-id';
import { handOut, isStreamMisuse } from '../shared/streams';
import type { ServerNode } from '../esr-sftp-server/server-settings';

interface InConfig {
  name?: string;
  server: string;
  operation: 'poll' | 'list' | 'get';
  folder: string;
  folderType: string;
  filename: string;
  filenameType: string;
  glob?: string;
  output: 'buffer' | 'stream';
  intervalSec: number | string;
  stableSec: number | string;
  maxPerPoll: number | string;
  /** One file at a time: the next is taken only once the last is confirmed (change files build on each other). */
  inOrder?: boolean;
  after: AfterAction;
  /** rename (default) or ledger: claimed in the state store only, for mailboxes that refuse renames or writes. */
  claim?: 'rename' | 'ledger';
  archiveFolder?: string;
  errorFolder?: string;
  claimTimeoutMin: number | string;
  maxAttempts: number | string;
  /** The esr-state node keeping the ledger and leases; empty for the default local folder. */
  state?: string;
  /** Missing-file watchdog (poll mode): a file is expected by this local time, "HH:MM" (empty: no watchdog)… */
  expectBy?: string;
  /** …on these days ("mon-fri", "daily", "mon,wed,fri"), in this time zone (default Europe/London). */
  expectDays?: string;
  expectTimeZone?: string;
}

/** What a polled message carries so that it can be confirmed when it comes back (never a path: see the poller). */
interface ClaimTicket extends PollerTicket {
  node: string;
  attempt: number;
  deliveryId: string;
}

function number(v: unknown, dflt: number): number {
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 && v !== '' ? n : dflt;
}

export = function register(RED: NodeAPI): void {
  const t = messagesFor(RED, 'esr-sftp-in');
  const connection = messagesFor(RED, 'esr-sftp-server');
  function EsrSftpIn(this: Node, config: InConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const server = RED.nodes.getNode(config.server) as ServerNode | null;
    if (!server) {
      node.status({ fill: 'red', shape: 'ring', text: t('status.noServer') });
      node.on('input', (_msg, _send, done) => done(new Error(t('errors.noServer'))));
      return;
    }
    // Its own status: the connection's states, its own transfers and its own errors (see OwnStatus).
    const own = new OwnStatus(node);
    const { session, detach: unsubscribe } = server.attach((s) => own.session(s, connection));
    // The polled folder is fixed at deploy: a string or an environment variable.
    const pollFolder = () => {
      const f = config.folderType === 'env' ? String(RED.util.evaluateNodeProperty(config.folder, 'env', node, {}) ?? '') : config.folder;
      if (config.folderType && config.folderType !== 'str' && config.folderType !== 'env') throw new Error(t('errors.folderType'));
      return checkRelative(f || '.', 'folder');
    };

    let poller: Poller | undefined;
    let watchdog: Watchdog | undefined;
    let watchTimer: NodeJS.Timeout | undefined;
    /** The watchdog waits for the next poll to end (a file was still settling at its check). */
    let watchAfterPoll = false;
    // The audit trail: each step of a file's life goes on the runtime's audit bus (esr-audit nodes send it on), with
    // the file's SHA-256 and, once esr-read has read it, the facts of its summary (noted under the claim's token).
    const bus = auditBus(RED);
    const z = (node as unknown as { z?: string }).z;
    const inFlight = new Map<string, { token?: string; sha256?: string }>();
    let source: { node: string; name?: string; ledger?: string } = { node: node.id, ...(config.name ? { name: config.name } : {}) };
    const onEvent = (event: PollerEvent) => {
      const known = inFlight.get(event.name);
      let facts = known?.token ? takeFileFacts(known.token) : undefined;
      if (known?.sha256) facts = { ...facts, sha256: facts?.sha256 ?? known.sha256 };
      if (event.outcome !== 'taken') inFlight.delete(event.name);
      bus.emit('audit', { kind: 'file', record: auditRecord(event, event.outcome === 'taken' ? undefined : facts, source), node: node.id, z });
    };
    /** A file was taken: its token and hash for the audit trail, and the watchdog told (durably, before it is sent). */
    const remember = async (claim: Claim, content?: Buffer) => {
      inFlight.set(claim.name, { token: claim.token, ...(content ? { sha256: createHash('sha256').update(content).digest('hex') } : {}) });
      if (inFlight.size > 1000) inFlight.delete(inFlight.keys().next().value!);
      await watchdog?.fileTaken().catch((err) => report(err, { topic: 'esr-sftp-in' }));
    };
    // Streams being read (and the last ones read), by claim token: settles once the stream was read, or its claim was
    // handed back (the download or the flow failed). Kept for a while after, for a Catch message that comes late.
    const streaming = new Map<string, Promise<'read' | 'released'>>();
    const follow = (token: string, outcome: Promise<'read' | 'released'>) => {
      streaming.set(token, outcome);
      if (streaming.size > 100) streaming.delete(streaming.keys().next().value!);
    };
    let timer: NodeJS.Timeout | undefined;
    let polling: Promise<void> | undefined;
    let closing = false;

    const messageFor = (claim: Claim, payload: unknown): NodeMessage => ({
      payload,
      filename: claim.name,
      topic: claim.name,
      esr: esrNameFacts(claim.name),
      sftp: { path: claim.source, size: claim.size, mtime: claim.mtime, attempt: claim.attempt, deliveryId: claim.deliveryId },
      esrClaim: { node: node.id, name: claim.name, token: claim.token, attempt: claim.attempt, deliveryId: claim.deliveryId } satisfies ClaimTicket,
    });

    // A poll cut short by a redeploy (its connection closes) is not an error: its claims are recovered at the next start.
    // Poll errors stay red until a poll goes through without one.
    const report = (err: unknown, msg: NodeMessage) => {
      if (closing) return;
      own.fail(err, t('status.error'), 'poll');
      node.error(err, msg);
    };

    /** One poll; true when it went through without an error. */
    const pollOnce = async (): Promise<boolean> => {
      if (!poller) return false;
      if (config.output === 'stream') {
        const { claims, errors } = await poller.poll();
        let clean = errors.length === 0;
        for (const error of errors) report(error, { topic: 'esr-sftp-in' });
        for (const claim of claims) {
          await remember(claim);
          let over!: (outcome: 'read' | 'released') => void;
          follow(claim.token, new Promise((resolve) => (over = resolve)));
          try {
            // The connection is held until the flow has read the stream (or the inactivity timeout ends it);
            // a download that fails errors the stream, so the reader of the message sees it too.
            let misuse: unknown;
            await session.get(claim.path, async (stream) => {
              handOut(stream); // so that a copy (a second wire) is known at once: see shared/streams
              node.send(messageFor(claim, stream));
              // A stream wired to two nodes is the flow's fault, not the server's: ended at once, handed back.
              await finished(stream).catch((err) => {
                if (!isStreamMisuse(err)) throw err;
                misuse = err;
              });
            });
            if (misuse) throw misuse;
            over('read');
          } catch (err) {
            const misused = isStreamMisuse(err);
            await poller.release(claim, { counted: !misused }).catch(() => undefined);
            over('released');
            // A stream wired to two nodes: the node that got the copy has told Catch already; one message is enough.
            if (misused) own.fail(err, t('status.error'), 'poll');
            else report(err, { topic: 'esr-sftp-in', filename: claim.name });
            clean = false;
          }
        }
        return clean;
      }
      const { files, errors } = await poller.takeFiles();
      for (const { claim, content } of files) {
        await remember(claim, content);
        node.send(messageFor(claim, content));
      }
      // Errors go to Catch nodes with a message that has no claim: wired back, it is ignored (no loop).
      for (const { claim, error } of errors) report(error, { topic: 'esr-sftp-in', filename: claim?.name });
      return errors.length === 0;
    };

    const schedule = () => {
      if (closing) return;
      timer = setTimeout(tick, number(config.intervalSec, 60) * 1000);
    };
    const tick = () => {
      if (polling || closing) return;
      polling = pollOnce()
        .then(
          (clean) => {
            if (clean && !closing) own.succeed(undefined, 'poll');
          },
          (err) => report(err, { topic: 'esr-sftp-in' }),
        )
        .finally(() => {
          polling = undefined;
          schedule();
          if (watchAfterPoll) {
            watchAfterPoll = false;
            clearTimeout(watchTimer);
            watchTimer = setTimeout(watch, 0);
          }
        });
    };

    if (config.operation === 'poll') {
      try {
        const f = pollFolder();
        const target = server.target;
        poller = new Poller(session, stateStoreFor(RED, config.state, t('errors.noState')), {
          folder: f,
          // What the ledger is about: the server, folder and pattern (never this node's id).
          ledger: `${target.username}@${target.host}:${target.port}/${f} ${config.glob || '*'}`,
          glob: config.glob || undefined,
          stableMs: number(config.stableSec, 5) * 1000,
          maxPerPoll: Math.max(1, number(config.maxPerPoll, 10)),
          oneAtATime: config.inOrder === true,
          after: config.after || 'archive',
          claim: config.claim === 'ledger' ? 'ledger' : 'rename',
          archiveFolder: config.archiveFolder || path.posix.join(f, 'archive'),
          errorFolder: config.errorFolder || path.posix.join(f, 'error'),
          claimTimeoutMs: number(config.claimTimeoutMin, 10) * 60_000,
          maxAttempts: Math.max(1, number(config.maxAttempts, 3)),
          owner: `${runtimeId(RED)}-${node.id.replace(/[^A-Za-z0-9._-]/g, '_')}`,
          onEvent,
        });
        source = { ...source, ledger: poller.options.ledger };
        if (config.expectBy && String(config.expectBy).trim()) {
          watchdog = new Watchdog(stateStoreFor(RED, config.state, t('errors.noState')), `watchdog:${poller.options.ledger}`, {
            time: String(config.expectBy),
            days: parseDays(String(config.expectDays ?? '')),
            timeZone: config.expectTimeZone || undefined,
          });
        }
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: (err as { code?: string }).code === 'EBADPATH' ? t('status.badFolder') : (err as { code?: string }).code ?? t('status.error') });
        node.error(err);
        unsubscribe(); // this node will not use the connection: no listener left on the server node
        node.on('input', (_msg, _send, done) => done(err as Error));
        return;
      }
      timer = setTimeout(tick, 0);
      if (watchdog) watchTimer = setTimeout(watch, 0);
    }

    /**
     * The watchdog's round: after any poll in progress (a file taken by it counts), check; then again at the next
     * deadline (at least every 5 minutes, so that a changed system clock is caught up with).
     */
    async function watch(): Promise<void> {
      if (closing || !watchdog) return;
      try {
        await polling;
        if (poller && poller.arriving > 0) {
          // A file is there, still settling (the first poll after a start only sees it): not missing. Checked again
          // after the next poll, which takes it.
          watchAfterPoll = true;
          watchTimer = setTimeout(watch, 5 * 60_000);
          return;
        }
        const alert = await watchdog.check();
        if (alert && !closing) {
          const text = t('status.missing', { time: alert.expectedBy });
          const err = Object.assign(new Error(t('errors.missing', { time: alert.expectedBy, day: alert.day, zone: alert.timeZone })), { code: alert.code });
          own.fail(err, text, 'watchdog', text);
          const glob = config.glob || '*';
          node.error(err, { topic: 'esr-sftp-in', payload: { ...alert, glob }, alert: { ...alert, glob } });
          bus.emit('audit', { kind: 'missing', alert: { ...alert, file: glob, source }, node: node.id, z });
        }
      } catch (err) {
        report(err, { topic: 'esr-sftp-in' });
      }
      if (closing) return;
      const wait = Math.min(Math.max(watchdog.nextCheck() - Date.now() + 50, 1000), 5 * 60_000);
      watchTimer = setTimeout(watch, wait);
    }

    node.on('input', (msg, send, done) => {
      const ticket = msg.esrClaim as ClaimTicket | undefined;
      const work = async () => {
        if (config.operation === 'poll') {
          if (ticket && ticket.node === node.id && poller) {
            // The confirm step: the message came back. With msg.error (from a Catch node) the file failed.
            try {
              // A failure reported while the file's stream is still being read waits for it: a download that broke off
              // hands the claim back itself. A stream wired to two nodes is the flow's fault: handed back, not failed.
              const outcome = msg.error ? await streaming.get(ticket.token) : undefined;
              if (outcome === 'released') return;
              if (msg.error) {
                // Red until a file goes through, and in the audit record: the code of its error (never its message).
                const code = errorCode(msg.error);
                if (code) noteFileCode(ticket.token, code);
                if (isStreamMisuse(msg.error)) await poller.release(ticket, { counted: false });
                else await poller.fail(ticket);
                own.fail(msg.error, '', 'file', code ? t('status.failedCode', { file: ticket.name, code }) : t('status.failed', { file: ticket.name }));
              } else {
                await poller.complete(ticket);
                own.succeed(undefined, 'watchdog'); // a file came (late, maybe): the missing-file alert is over
                own.succeed({ fill: 'green', shape: 'dot', text: t('status.done', { file: ticket.name }) }, 'file');
              }
            } catch (err) {
              // Not done(err): a Catch wired back would turn a recorded confirmation into a failure. The settlement is
              // in the ledger (or the claim times out) and the next poll finishes it.
              own.fail(err, t('status.confirmFailed'), 'file');
              node.error(err);
            }
            return;
          }
          if (ticket) throw new Error(t('errors.foreignClaim'));
          if (msg.error) return; // a Catch node's message without a claim (e.g. a poll error): nothing to settle
          if (msg.topic === 'poll') {
            clearTimeout(timer);
            tick();
          }
          return; // anything else coming back (records of a file, ...) is not a confirmation
        }
        const dir = checkRelative(String((await evaluate(RED, node, config.folder || '.', config.folderType || 'str', msg)) ?? '.') || '.', 'folder');
        if (config.operation === 'list') {
          const entries = await session.list(dir, config.glob || undefined);
          send({ ...msg, payload: entries.map((e) => ({ ...e, esr: esrNameFacts(e.name) })) });
          return;
        }
        const name = String((await evaluate(RED, node, config.filename || 'filename', config.filenameType || 'msg', msg)) ?? '');
        if (!name) throw new Error(t('errors.noFileName'));
        checkName(name);
        const remote = path.posix.join(dir, name);
        if (config.output === 'stream') {
          let misuse: unknown;
          await session.get(remote, async (stream, size) => {
            handOut(stream);
            send({ ...msg, payload: stream, filename: path.posix.basename(remote), esr: esrNameFacts(path.posix.basename(remote)), sftp: { path: remote, size } });
            // A stream wired to two nodes is the flow's fault, not the server's (see shared/streams).
            await finished(stream).catch((err) => {
              if (!isStreamMisuse(err)) throw err;
              misuse = err;
            });
          });
          if (misuse) throw misuse;
        } else {
          const content = await session.getBuffer(remote);
          send({ ...msg, payload: content, filename: path.posix.basename(remote), esr: esrNameFacts(path.posix.basename(remote)), sftp: { path: remote, size: content.length } });
        }
      };
      work().then(
        () => {
          own.succeed(undefined, 'input');
          done();
        },
        (err) => {
          own.fail(err, t('status.error'), 'input');
          done(err);
        },
      );
    });

    node.on('close', (_removed, done) => {
      closing = true;
      poller?.close(); // files in flight are handed back at once by the next poller (messages in flight are lost)
      clearTimeout(timer);
      clearTimeout(watchTimer);
      unsubscribe();
      const waiting = polling ?? Promise.resolve();
      // A poll in progress ends when the config node closes its connection.
      Promise.race([waiting, new Promise((r) => setTimeout(r, 2000))]).then(() => done());
    });
  }

  RED.nodes.registerType('esr-sftp-in', EsrSftpIn as never);
};
