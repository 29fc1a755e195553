/**
 * The simulated hub's answer to a refresh request: a GDR file (`GO_<VPD>_GDW_GDR_<date>_<seq>.DAT`, the codec's `gdr`
 * layout) put in `In/` is read, checked (sound, this trust's VPD) and answered with a full GO file (GOF) of the
 * synthetic trust's staff as they stand now, written into each GDW feed folder under `Out/`. ESR answers such a
 * request with the next full file; this stands in for it. A request that is not sound, or for another VPD, is
 * not answered (it is listed in `refused`, by name and code only).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildFileName, loadLayout, readAll } from '../../core/codec';
import { currentFileRecords, writeGoFile, type SyntheticTrust } from '../../core/synthetic';

export interface GdrResponderOptions {
  /** the hub's served folder: requests are looked for in `root/In` */
  root: string;
  trust: SyntheticTrust;
  /** the change-file days the hub has sent: the full file holds the staff after the last of them */
  days: number;
  /** the feed folders (relative to root, e.g. `Out/identity`) that receive the full file */
  feeds: string[];
  /** the sequence number of the first full file sent (later answers count on from it) */
  firstSequence: number;
  /** how often In/ is looked at, ms (default 500) */
  intervalMs?: number;
  /** the moment of an answer (default now): its date names the file, and it is the file's run end */
  now?: () => Date;
}

export interface GdrResponder {
  /** requests answered: the GDR's name and the full file's name */
  answered: { request: string; file: string }[];
  /** requests not answered: the GDR's name and why (a code) */
  refused: { request: string; code: string }[];
  close(): void;
}

const GDR_NAME = /^GO_[A-Za-z0-9]{3}_GDW_GDR_\d{8}_\d{8}\.DAT$/;

/** Starts looking for refresh requests in `root/In`; `close()` stops it. */
export function startGdrResponder(options: GdrResponderOptions): GdrResponder {
  const inDir = path.join(options.root, 'In');
  const seen = new Set<string>();
  const result: GdrResponder = { answered: [], refused: [], close: () => clearInterval(timer) };
  let sequence = options.firstSequence;
  let busy = false;
  const now = options.now ?? (() => new Date());

  async function answer(name: string): Promise<void> {
    const { records, summary } = await readAll(loadLayout('gdr'), path.join(inDir, name), { fileName: name });
    if (!summary.sound || summary.file.vpd !== options.trust.vpd || !records[0]?.timestamp) {
      result.refused.push({ request: name, code: !summary.sound ? 'GDR_NOT_SOUND' : summary.file.vpd !== options.trust.vpd ? 'GDR_OTHER_VPD' : 'GDR_NO_TIMESTAMP' });
      return;
    }
    const at = now();
    const date = at.toISOString().slice(0, 10);
    const file = buildFileName(loadLayout('go-gdw'), { vpd: options.trust.vpd, subtype: 'GDW', extractType: 'F', date, sequence: sequence++ });
    const runDate = at.toISOString().slice(0, 19);
    for (const feed of options.feeds) {
      const dir = path.join(options.root, feed);
      fs.mkdirSync(dir, { recursive: true });
      // Written under another name first: a poller never sees half a file.
      const part = path.join(dir, `.${file}.part`);
      await writeGoFile(part, 'GDW', currentFileRecords(options.trust, 'GDW', options.days, file, runDate));
      fs.renameSync(part, path.join(dir, file));
    }
    result.answered.push({ request: name, file });
  }

  const timer = setInterval(() => {
    if (busy || !fs.existsSync(inDir)) return;
    busy = true;
    (async () => {
      for (const name of fs.readdirSync(inDir).sort()) {
        if (!GDR_NAME.test(name) || seen.has(name)) continue;
        seen.add(name);
        try {
          await answer(name);
        } catch (err) {
          result.refused.push({ request: name, code: (err as { code?: string }).code ?? 'GDR_UNREADABLE' });
        }
      }
    })().finally(() => (busy = false));
  }, options.intervalMs ?? 500);
  timer.unref();
  return result;
}
