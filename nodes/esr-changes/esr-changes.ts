/**
 * esr-changes: the records of GO files from esr-read in, one event per person and change out (joiner, leaver,
 * mover, change, rehire), over a durable staff snapshot per feed (VPD + subtype) in the esr-state store. Outputs:
 * 1 events (a sequence per file, for core join), 2 alerts, 3 refresh requests (GDR files for the hub's In/),
 * 4 files done (with msg.esrClaim: wire back to esr-sftp-in to confirm). A file is confirmed only after its events
 * were handed on and the snapshot was written (see core/changes/feed.ts for the crash rule).
 */
import { randomUUID } from 'node:crypto';
import { ChangeFeeds, FileRun, type Alert, type PersonViewInput, type Step } from '../../core/changes';
import type { EsrRecord } from '../../core/codec';
import type { Node, NodeAPI, NodeMessage } from '../shared/node-red';
import { messagesFor } from '../shared/messages';
import { noteFileCode } from '../shared/audit';
import { stateStoreFor } from '../shared/state';
import { limitError, limitFor } from '../shared/limits';

interface ChangesConfig {
  name?: string;
  state?: string;
  maxLeaverPercent: number | string;
  future: 'now' | 'onTheDay';
  gaps: 'alert' | 'hold';
  holdHours: number | string;
  refresh: 'never' | 'onGap' | 'onTimeout';
  firstFull: 'baseline' | 'joiners';
  /** Feeds whose waiting events are released after a restart before their next file, e.g. "123 GDW, 456 EXP". */
  feeds?: string;
  /** Whose snapshots: a name, else this node's id (see ChangeOptions.snapshot). */
  snapshot?: string;
}

/** A file being collected from esr-read's messages. */
interface Collecting {
  run?: FileRun;
  next: number;
  /** Messages that came before their turn, by index. */
  early: Map<number, NodeMessage>;
  count?: number;
}

/** What a file's step needs to finish: the message that confirms it and its input's done. */
interface Tag {
  msg: NodeMessage;
  done: (err?: Error) => void;
}

type Send = (msgs: (NodeMessage | NodeMessage[] | null)[]) => void;

/** Codes for the audit record of the polled file a step belongs to (by its claim's token). */
function noteCodes(tag: Tag | undefined, codes: string[]): void {
  const token = (tag?.msg.esrClaim as { token?: unknown } | undefined)?.token;
  if (typeof token === 'string') for (const code of codes) noteFileCode(token, code);
}

/** Alerts that are errors for Catch nodes (others — a refresh written — are news). */
const ERRORS = new Set(['CHANGES_SEQUENCE_GAP', 'CHANGES_GAP_TIMEOUT', 'CHANGES_SAFETY_STOP', 'CHANGES_OUT_OF_ORDER', 'CHANGES_FILE_CHANGED', 'CHANGES_NO_BASELINE', 'CHANGES_REFRESH_UNSUPPORTED']);

function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export = function register(RED: NodeAPI): void {
  const t = messagesFor(RED, 'esr-changes');
  function EsrChanges(this: Node, config: ChangesConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const share = Number(config.maxLeaverPercent);
    let feeds: ChangeFeeds<Tag> | undefined;
    const feedsFor = () =>
      (feeds ??= new ChangeFeeds<Tag>(stateStoreFor(RED, config.state, t('errors.noState')), {
        maxLeaverShare: Number.isFinite(share) && share >= 0 && String(config.maxLeaverPercent) !== '' ? share / 100 : 0.05,
        future: config.future === 'onTheDay' ? 'onTheDay' : 'now',
        gaps: config.gaps === 'hold' ? 'hold' : 'alert',
        holdMs: Math.max(1, Number(config.holdHours) || 6) * 3600_000,
        refresh: config.refresh === 'onGap' || config.refresh === 'onTimeout' ? config.refresh : 'never',
        firstFull: config.firstFull === 'joiners' ? 'joiners' : 'baseline',
        // Each esr-changes node keeps its own snapshots (two systems fed from one GO feed each take every file), the
        // same across redeploys and on every runtime that runs this flow.
        snapshot: config.snapshot || node.id,
      }));
    const collecting = new Map<string, Collecting>();
    // The people of one file are held until it ends (and a feed's snapshot has as many): past this bound the file
    // fails (TOO_MANY_PEOPLE) and the rest of its sequence is dropped.
    const maxPeople = limitFor(RED, 'changesPeople');
    const overLimit = new Set<string>();
    let queue: Promise<void> = Promise.resolve();
    const later = (work: () => Promise<void>) => (queue = queue.then(work, work));

    const fail = (err: unknown) => {
      node.status({ fill: 'red', shape: 'ring', text: (err as { code?: string }).code ?? t('status.failed') });
    };

    /** Hands a step on: alerts, events, a refresh request; commits; then confirms the file. */
    async function handle(step: Step<Tag>, send: Send): Promise<void> {
      const file = step.file?.name;
      noteCodes(step.tag, step.alerts.map((a) => a.code)); // the file's audit record tells what held or stopped it
      for (const alert of step.alerts) {
        const msg: NodeMessage = { topic: alert.code, payload: alert, filename: file, feed: step.feed };
        send([null, msg, null, null]);
        if (ERRORS.has(alert.code) && step.outcome !== 'refused') node.error(codedError(`esr-changes: ${alert.message}`, alert.code), msg);
      }
      if (step.refresh) {
        send([null, null, { topic: 'refresh', payload: step.refresh.data, filename: step.refresh.fileName, esr: { layout: 'gdr', name: step.refresh.fileName, from: step.refresh.from }, feed: step.feed }, null]);
      }
      if (step.events.length) {
        const id = randomUUID();
        const count = step.events.length;
        send([step.events.map((event, index) => ({ topic: event.kind, payload: event, filename: file, feed: step.feed, parts: { id, index, count } })), null, null, null]);
      }
      await step.commit();
      const tag = step.tag;
      switch (step.outcome) {
        case 'applied':
        case 'repeat':
        case 'skipped': {
          if (tag) {
            const { payload: _p, parts: _parts, ...rest } = tag.msg;
            send([null, null, null, { ...rest, topic: 'file', payload: { file: step.file, outcome: step.outcome, events: step.events.length, alerts: step.alerts.map((a) => a.code) }, filename: file }]);
            tag.done();
          }
          node.status({ fill: step.alerts.some((a) => ERRORS.has(a.code)) ? 'yellow' : 'green', shape: 'dot', text: t(`status.${step.outcome}`, { file: file ?? '', count: step.events.length }) });
          return;
        }
        case 'released':
          node.status({ fill: 'green', shape: 'dot', text: t('status.released', { count: step.events.length }) });
          return;
        case 'held':
          tag?.done();
          node.status({ fill: 'yellow', shape: 'ring', text: t('status.held', { file: file ?? '' }) });
          return;
        case 'stopped':
          tag?.done();
          node.status({ fill: 'red', shape: 'dot', text: t('status.stopped', { file: file ?? '' }) });
          return;
        case 'refused': {
          const alert: Alert | undefined = step.alerts[0];
          const err = codedError(`esr-changes: ${alert ? alert.message : t('errors.discarded', { file: file ?? '' })}`, alert?.code ?? 'CHANGES_DISCARDED');
          node.status({ fill: 'red', shape: 'ring', text: alert?.code ?? 'CHANGES_DISCARDED' });
          // The error carries the file's message (and its claim), so that a Catch node can fail the file.
          if (tag) tag.done(err);
          else node.error(err);
          return;
        }
      }
    }

    async function drain(first: Step<Tag> | undefined, send: Send): Promise<void> {
      let step = first;
      while (step) {
        await handle(step, send);
        step = await feedsFor().next();
      }
    }

    const sendOut: Send = (msgs) => node.send(msgs as (NodeMessage | null)[]);

    // Events waiting for their day, and files held past their time limit, come out without any input.
    const openFeeds = (config.feeds ?? '')
      .split(/[,;\n]/)
      .map((s) => s.trim().split(/[\s:]+/))
      .filter((p) => p.length === 2 && p[0] && p[1])
      .map(([vpd, subtype]) => ({ vpd, subtype }));
    const tick = () =>
      later(async () => {
        try {
          if (openFeeds.length) await feedsFor().open(openFeeds);
          if (feeds) await drain(await feeds.next(), sendOut);
        } catch (err) {
          fail(err);
          node.error(err);
        }
      });
    const timer = setInterval(tick, 60_000);
    if (openFeeds.length) setTimeout(tick, 0);

    node.on('input', (msg, send, done) => {
      const out: Send = (msgs) => send(msgs as (NodeMessage | null)[]);
      if (msg.topic === 'accept' || msg.topic === 'discard') {
        later(async () => {
          const feed = typeof msg.payload === 'string' && msg.payload ? msg.payload : undefined;
          const step = msg.topic === 'accept' ? await feedsFor().accept(feed) : await feedsFor().discard(feed);
          if (!step) {
            node.warn(t('warnings.nothingStopped'));
            return;
          }
          noteCodes(step.tag, [msg.topic === 'accept' ? 'CHANGES_ACCEPTED' : 'CHANGES_DISCARDED']);
          await drain(step, out);
        }).then(
          () => done(),
          (err) => {
            fail(err);
            done(err as Error);
          },
        );
        return;
      }
      try {
        const parts = msg.parts as { id?: unknown; index?: unknown; count?: unknown } | undefined;
        const esr = msg.esr as Record<string, unknown> | undefined;
        if (!parts || typeof parts.id !== 'string' || typeof parts.index !== 'number' || !esr) throw codedError(t('errors.badInput'), 'CHANGES_BAD_INPUT');
        if (overLimit.has(parts.id)) {
          if (typeof parts.count === 'number' || msg.reset) overLimit.delete(parts.id);
          done();
          return;
        }
        let c = collecting.get(parts.id);
        if (!c) collecting.set(parts.id, (c = { next: 0, early: new Map() }));
        if (msg.reset) {
          // esr-read found the file not sound: nothing of it is taken.
          collecting.delete(parts.id);
          done();
          return;
        }
        if (typeof parts.count === 'number') c.count = parts.count;
        c.early.set(parts.index, msg);
        let last: NodeMessage | undefined;
        for (let m = c.early.get(c.next); m; m = c.early.get(c.next)) {
          c.early.delete(c.next++);
          add(c, m);
          last = m;
          if (c.run && c.run.people.size > maxPeople) {
            collecting.delete(parts.id);
            if (typeof parts.count !== 'number') overLimit.add(parts.id);
            const name = typeof esr.name === 'string' && esr.name ? esr.name : t('errors.theFile');
            throw limitError(t('errors.tooManyPeople', { file: name, limit: maxPeople }), 'TOO_MANY_PEOPLE', maxPeople);
          }
        }
        if (c.count === undefined || c.next < c.count) {
          done();
          return;
        }
        collecting.delete(parts.id);
        const run = c.run!;
        const facts = (last ?? msg).esr as Record<string, unknown>;
        const extract = facts.extract;
        if (typeof facts.name !== 'string' || typeof facts.vpd !== 'string' || typeof facts.subtype !== 'string' || (extract !== 'full' && extract !== 'changes') || !String(facts.layout ?? '').startsWith('go-')) {
          throw codedError(t('errors.notGo'), 'CHANGES_NOT_GO');
        }
        run.facts = { name: facts.name, vpd: facts.vpd, subtype: facts.subtype, extract, sequence: typeof facts.sequence === 'number' ? facts.sequence : undefined, date: typeof facts.date === 'string' ? facts.date : undefined };
        node.status({ fill: 'blue', shape: 'dot', text: t('status.working', { file: facts.name }) });
        const tag: Tag = { msg: last ?? msg, done };
        later(async () => {
          try {
            await drain(await feedsFor().take(run, tag), out);
          } catch (err) {
            fail(err);
            done(err as Error);
          }
        });
      } catch (err) {
        fail(err);
        done(err as Error);
      }
    });

    function add(c: Collecting, m: NodeMessage): void {
      c.run ??= new FileRun({ name: '', vpd: '', subtype: '', extract: 'changes' });
      const p = m.payload;
      if (m.topic === 'person' && p && typeof p === 'object' && !Array.isArray(p)) c.run.addPerson(p as PersonViewInput);
      else if (Array.isArray(p)) for (const r of p) c.run.add(r as EsrRecord);
      else if (p && typeof p === 'object' && typeof (p as EsrRecord).recordType === 'string') c.run.add(p as EsrRecord);
    }

    node.on('close', (_removed, done) => {
      clearInterval(timer);
      queue.then(() => {
        feeds?.forget();
        collecting.clear();
        done();
      }, done);
    });
  }

  RED.nodes.registerType('esr-changes', EsrChanges as never);
};
