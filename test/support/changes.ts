/**
 * Helpers for the esr-changes tests: synthetic GO files read with the codec and fed into a ChangeFeeds, and the
 * events the synthetic trust's days should give.
 */
import * as path from 'node:path';
import { detectLayout, readAll, type EsrRecord } from '../../core/codec';
import { ChangeFeeds, FileRun, type ChangeEvent, type Step } from '../../core/changes';
import { addDays } from '../../core/synthetic/random';
import type { SyntheticTrust } from '../../core/synthetic';

/** A file's records read with the codec, in a FileRun (facts from its name, as esr-read gives them). */
export async function runOf(file: string): Promise<FileRun> {
  const layout = detectLayout(path.basename(file))!;
  const { records, summary } = await readAll(layout, file);
  if (!summary.sound) throw new Error(`${path.basename(file)} is not sound`);
  return runOfRecords(records, { name: path.basename(file), vpd: summary.file.vpd!, subtype: summary.file.subtype!, extract: summary.file.extract!, sequence: summary.file.sequence, date: summary.file.date });
}

export function runOfRecords(records: Iterable<EsrRecord>, facts: ConstructorParameters<typeof FileRun>[0]): FileRun {
  const run = new FileRun(facts);
  for (const r of records) run.add(r);
  return run;
}

/** Takes a file and everything it makes ready; returns every step, each committed after its events were taken. */
export async function takeAll(feeds: ChangeFeeds, run: FileRun): Promise<Step[]> {
  const steps: Step[] = [];
  let step: Step | undefined = await feeds.take(run);
  while (step) {
    steps.push(step);
    await step.commit();
    step = await feeds.next();
  }
  return steps;
}

/** The events as short strings, sorted: `kind personId categories effectiveDate`. */
export function brief(events: ChangeEvent[]): string[] {
  return events.map((e) => `${e.kind} ${e.personId} ${[...e.categories].sort().join(',')} ${e.effectiveDate ?? ''}`).sort();
}

/** What day `day` of the synthetic trust should give, in the form of brief(). */
export function expectedOn(trust: SyntheticTrust, subtype: 'GDW' | 'EXP', day: number): string[] {
  const c = trust.changesOn(day);
  const effective = addDays(c.date, -1);
  const out: string[] = [];
  for (const p of c.joiners) out.push(`joiner ${p.personId}  ${effective}`);
  for (const p of c.leavers) out.push(`leaver ${p.personId}  ${p.terminationDate}`);
  for (const { person, kind } of c.changed) {
    if (kind === 'hours') out.push(`mover ${person.personId} hours ${effective}`);
    if (kind === 'grade') out.push(`mover ${person.personId} grade,position ${effective}`);
    if (kind === 'move') out.push(`mover ${person.personId} location,organisation,position ${effective}`);
    // The GDW feed has no address rows: an address change does not show in it.
    if (kind === 'address' && subtype === 'EXP') out.push(`change ${person.personId} address ${effective}`);
  }
  return out.sort();
}
