/**
 * `esr`: the analyst's command line for ESR interface files.
 * Exit codes: 0 valid / done, 1 invalid input, 2 unreadable file or bad usage.
 * Errors read `esr: <what is wrong> [CODE]…` on stderr; with --json, `{"error":{"code","message"}}` on stdout instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  builtInLayoutIds,
  detectLayout,
  EsrReader,
  EsrWriter,
  firstLineOf,
  loadLayout,
  LayoutError,
  type CompiledLayout,
  type Problem,
  type ReadSummary,
} from '../codec';
import { SyntheticTrust, writeGoFiles, type GoSubtype } from '../synthetic';
import { audit } from './audit';

const USAGE = `Usage:
  esr layouts                                   list the built-in layouts
  esr inspect FILE [--layout ID|PATH] [--lenient] [--fragment] [--json]
                                                check a file; exit 0 valid, 1 invalid (not sound, or
                                                lines rejected), 2 unreadable
  esr to-json FILE [--layout ID|PATH] [--lenient] [--fragment]
                                                one JSON record per line (header and trailer included)
  esr write --layout ID|PATH [--eol lf|crlf|cr] [--keep-count]
                                                JSON records per line on stdin -> file bytes on stdout
                                                (trailer count recomputed unless --keep-count)
  esr generate --out DIR [--staff N] [--days N] [--seed N] [--vpd VPD] [--date YYYY-MM-DD] [--subtype GDW|EXP|all]
                                                a synthetic trust (invented people) as GO files: the full
                                                file, then one change file per day (default 200 staff,
                                                0 days, seed 1, VPD 123, 2026-11-20, GDW)
  esr audit [--file NAME|GLOB] [--json] LOG.jsonl... (- for stdin)
                                                what happened to a file: its steps from esr-audit's
                                                JSON-lines log; exit 0 found, 1 no event for it
The layout is detected from the file name or its header when --layout is not given.
A file is sound when it starts with its header, ends with its trailer (right count) and its last line ends as
the layout says; --fragment reads a file with no header as rows only, where the layout allows fragments.
A layout is a built-in id (see "esr layouts") or the path of a trust layout file.`;

class UsageError extends Error {
  readonly code = 'USAGE';
}

/** A layout given with --layout that cannot be used: UNKNOWN_LAYOUT, LAYOUT_UNREADABLE or LAYOUT_INVALID. */
class LayoutChoiceError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

interface Args {
  positional: string[];
  flags: Record<string, string | true>;
}

const FLAGS_WITH_VALUE = new Set(['layout', 'eol', 'out', 'staff', 'days', 'seed', 'vpd', 'date', 'subtype', 'file']);
const FLAGS = new Set([...FLAGS_WITH_VALUE, 'lenient', 'fragment', 'json', 'keep-count', 'help']);

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') flags.help = true;
    else if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
      if (!FLAGS.has(name)) throw new UsageError(`unknown option --${name}`);
      if (FLAGS_WITH_VALUE.has(name)) {
        const value = inline ?? argv[++i];
        if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
        flags[name] = value;
      } else flags[name] = true;
    } else positional.push(a);
  }
  return { positional, flags };
}

function layoutFor(args: Args, file?: string): CompiledLayout {
  const given = args.flags.layout;
  if (typeof given === 'string') return chosenLayout(given);
  if (!file) throw new UsageError('--layout is required');
  const detected = detectLayout(file, firstLineOf(file));
  if (!detected) throw new UsageError(`cannot tell the layout of ${path.basename(file)} from its name or header; give --layout`);
  return detected;
}

/** The layout --layout names, or a LayoutChoiceError that leads with what is wrong (the path comes last). */
function chosenLayout(given: string): CompiledLayout {
  const ids = builtInLayoutIds();
  const looksLikeId = /^[a-z0-9-]+$/.test(given);
  if (looksLikeId && !ids.includes(given) && !fs.existsSync(given)) {
    throw new LayoutChoiceError(`unknown layout "${given}" [UNKNOWN_LAYOUT]: the built-in layouts are ${ids.join(', ')}; or give the path of a layout file`, 'UNKNOWN_LAYOUT');
  }
  try {
    return loadLayout(given);
  } catch (err) {
    if (!(err instanceof LayoutError)) throw err;
    const file = path.resolve(given);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
      const code = fs.existsSync(file) ? 'EISDIR' : 'ENOENT';
      throw new LayoutChoiceError(`cannot read the layout file (${code}) [LAYOUT_UNREADABLE]: ${file}`, 'LAYOUT_UNREADABLE');
    }
    const detail = err.message.slice(`${err.source}: `.length);
    throw new LayoutChoiceError(`the layout is not valid [LAYOUT_INVALID]: ${detail} (in ${err.source})`, 'LAYOUT_INVALID');
  }
}

function checkReadable(file: string | undefined): string {
  if (!file) throw new UsageError('a FILE is required');
  const stat = fs.statSync(file); // throws ENOENT etc., reported as unreadable
  if (!stat.isFile()) throw new UsageError(`${file} is not a file`);
  return file;
}

function problemJson(p: Problem) {
  return { line: p.line, recordType: p.recordType, field: p.field, code: p.code, scope: p.scope, message: p.message };
}

function summaryJson(s: ReadSummary) {
  const f = s.file;
  return {
    file: { name: f.name, vpd: f.vpd, subtype: f.subtype, extract: f.extract, date: f.date, sequence: f.sequence },
    layout: s.layout,
    eol: s.eol,
    lines: s.lines,
    records: s.records,
    sound: s.sound,
    valid: s.valid,
    errorCount: s.errorCount,
    warningCount: s.warningCount,
    errors: s.errors.map(problemJson),
    warnings: s.warnings.map(problemJson),
  };
}

function summaryText(s: ReadSummary): string {
  const f = s.file;
  const facts = [f.vpd && `VPD ${f.vpd}`, f.subtype && `subtype ${f.subtype}`, f.extract, f.date && `extract date ${f.date}`, f.sequence !== undefined && `sequence ${f.sequence}`]
    .filter(Boolean)
    .join(', ');
  const verdict = s.valid ? 'VALID' : s.sound ? 'INVALID: lines rejected' : 'INVALID: not a sound file (cut, junk or altered)';
  const lines = [
    `${f.name ?? '(unnamed)'}: ${verdict}`,
    `  layout ${s.layout}${facts ? '; ' + facts : ''}`,
    `  ${s.lines} lines, line endings ${s.eol}${s.finalNewline ? '' : ', no line ending after the last line'}`,
    `  records: ${Object.entries(s.records).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
  ];
  for (const p of s.errors) lines.push(`  error: ${p.message}`);
  if (s.errorCount > s.errors.length) lines.push(`  ... and ${s.errorCount - s.errors.length} more errors`);
  for (const p of s.warnings) lines.push(`  warning: ${p.message}`);
  if (s.warningCount > s.warnings.length) lines.push(`  ... and ${s.warningCount - s.warnings.length} more warnings`);
  return lines.join('\n') + '\n';
}

function readOptions(args: Args, file: string) {
  return { fileName: file, lenient: args.flags.lenient === true, fragment: args.flags.fragment === true };
}

async function inspect(args: Args, io: Io): Promise<number> {
  const file = checkReadable(args.positional[1]);
  const layout = layoutFor(args, file);
  const reader = new EsrReader(layout, readOptions(args, file));
  reader.resume(); // records are only counted
  await pipeline(fs.createReadStream(file), reader);
  const summary = reader.summary();
  io.stdout.write(args.flags.json ? JSON.stringify(summaryJson(summary), null, 2) + '\n' : summaryText(summary));
  return summary.valid ? 0 : 1;
}

async function toJson(args: Args, io: Io): Promise<number> {
  const file = checkReadable(args.positional[1]);
  const layout = layoutFor(args, file);
  const reader = new EsrReader(layout, readOptions(args, file));
  reader.on('problem', (p: Problem) => io.stderr.write(`${p.severity}: ${p.message}\n`));
  const toLines = new Transform({
    writableObjectMode: true,
    transform(record, _enc, cb) {
      cb(null, JSON.stringify(record) + '\n');
    },
  });
  await pipeline(fs.createReadStream(file), reader, toLines, io.stdout, { end: false });
  return reader.summary().valid ? 0 : 1;
}

async function write(args: Args, io: Io): Promise<number> {
  const layout = layoutFor(args);
  const eol = args.flags.eol;
  if (eol !== undefined && !['lf', 'crlf', 'cr'].includes(eol as string)) throw new UsageError('--eol must be lf, crlf or cr');
  const writer = new EsrWriter(layout, {
    eol: eol as 'lf' | 'crlf' | 'cr' | undefined,
    trailerCount: args.flags['keep-count'] ? 'keep' : 'recompute',
  });
  let lineNo = 0;
  const lines = readline.createInterface({ input: io.stdin, crlfDelay: Infinity });
  async function* records() {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      try {
        yield JSON.parse(line);
      } catch {
        throw new InputError(`stdin line ${lineNo}: not valid JSON`);
      }
    }
  }
  await pipeline(records, writer, io.stdout, { end: false });
  return 0;
}

class InputError extends Error {}

function wholeNumber(args: Args, name: string, dflt: number): number {
  const v = args.flags[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number`);
  return Number(v);
}

async function generate(args: Args, io: Io): Promise<number> {
  const out = args.flags.out;
  if (typeof out !== 'string') throw new UsageError('--out DIR is required');
  const subtype = String(args.flags.subtype ?? 'GDW').toUpperCase();
  if (!['GDW', 'EXP', 'ALL'].includes(subtype)) throw new UsageError('--subtype must be GDW, EXP or all');
  if (wholeNumber(args, 'staff', 200) > 1_000_000) throw new UsageError('--staff is at most 1000000');
  let trust: SyntheticTrust;
  try {
    trust = new SyntheticTrust({
      staff: wholeNumber(args, 'staff', 200),
      seed: wholeNumber(args, 'seed', 1),
      vpd: args.flags.vpd as string | undefined,
      date: args.flags.date as string | undefined,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const subtypes: GoSubtype[] = subtype === 'ALL' ? ['GDW', 'EXP'] : [subtype as GoSubtype];
  const names = await writeGoFiles(trust, out, { days: wholeNumber(args, 'days', 0), subtypes });
  for (const name of names) io.stdout.write(`${path.join(out, name)}\n`);
  return 0;
}

function layouts(io: Io): number {
  const rows = builtInLayoutIds().map((id) => {
    const l = loadLayout(id).spec;
    return [id, l.direction, l.title];
  });
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [id, direction, title] of rows) io.stdout.write(`${id.padEnd(width)}  ${direction.padEnd(8)}  ${title}\n`);
  return 0;
}

/** The error as `{"error":{"code","message"}}` for --json (on stdout, where a program reading --json looks). */
function jsonError(io: Io, code: string, message: string): void {
  io.stdout.write(JSON.stringify({ error: { code, message } }, null, 2) + '\n');
}

export async function main(argv: string[], io: Io = process): Promise<number> {
  // The reader of our output may go away (`esr inspect F | head`): that ends the output, not the program.
  io.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') io.stderr.write(`esr: cannot write output (${err.code ?? 'error'})\n`);
  });
  // Known before the arguments are parsed, so that even a usage error answers in JSON.
  const json = argv.includes('--json');
  try {
    const args = parseArgs(argv);
    const command = args.positional[0];
    if (json && command === undefined && !args.flags.help) throw new UsageError('a command is required (see esr help)');
    if (args.flags.help || command === 'help' || command === undefined) {
      io.stdout.write(USAGE + '\n');
      return command === undefined && !args.flags.help ? 2 : 0;
    }
    switch (command) {
      case 'layouts':
        return layouts(io);
      case 'inspect':
        return await inspect(args, io);
      case 'to-json':
        return await toJson(args, io);
      case 'write':
        return await write(args, io);
      case 'generate':
        return await generate(args, io);
      case 'audit':
        if (args.positional.length < 2) throw new UsageError('esr audit needs the audit log (JSON lines; - for stdin)');
        return await audit({ logs: args.positional.slice(1), file: args.flags.file as string | undefined, json: args.flags.json === true }, io);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const fail = (code: string, message: string, exit: number, usage = false): number => {
      if (json) jsonError(io, code, message);
      else io.stderr.write(`esr: ${message}\n${usage ? USAGE + '\n' : ''}`);
      return exit;
    };
    if (err instanceof UsageError) return fail('USAGE', `${e.message} [USAGE]`, 2, true);
    if (err instanceof LayoutChoiceError) return fail(err.code, e.message, 2);
    if (err instanceof LayoutError) return fail('LAYOUT_INVALID', `the layout is not valid [LAYOUT_INVALID]: ${e.message}`, 2);
    if (e.code === 'EPIPE') return 0; // the reader of our output went away (e.g. `| head`): not an error
    if (e.code && e.syscall) return fail(e.code, `cannot read ${e.path ?? 'input'} (${e.code})`, 2);
    return fail(typeof e.code === 'string' ? e.code : 'ERROR', e.message, 1);
  }
}
