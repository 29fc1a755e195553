/**
 * Streaming reader: bytes in, records out (an object-mode Transform, so backpressure is Node's own).
 * GO files are split on the delimiter with no quoting at all (`"`, `|`, `,` and spaces are data);
 * quoted layouts (TA, Expenses v1) parse each line with csv-parse.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { CompiledField, CompiledLayout, CompiledRecordType } from './layout';
import { compileDecoder, type FieldDecoder } from './field-decoder';
import { parseFileName, type FileNameParts } from './file-name';
import { formatProblem, type Problem, type ProblemCode, type Scope, type Severity } from './problems';

/**
 * A record: `recordType` plus one property per non-empty field (keys from the layout). A line whose first field
 * is not a record type of the layout comes out as `{ recordType: '?', values: [every field, the first included] }`:
 * that first field may be anything, even personal data, so it is never used as a record type.
 */
export type EsrRecord = { recordType: string } & Record<string, unknown>;

export type LineEndingSeen = 'lf' | 'crlf' | 'cr' | 'mixed' | 'none';

export interface FileInfo {
  /** The file's name: the transport name when given, else the name inside the header. */
  name?: string;
  /** The name written inside the header, when there is one. */
  headerName?: string;
  vpd?: string;
  subtype?: string;
  extract?: 'full' | 'changes';
  /** Extract date from the file name, ISO. */
  date?: string;
  sequence?: number;
  /** Every part of the file name the layout's pattern defines. */
  parts?: FileNameParts;
}

export interface ReadOptions {
  /**
   * Accept extra trailing columns (also empty ones on the header and trailer), placeholder trailer counts, blank
   * lines, mixed line endings, a byte order mark (stripped) and, with `fragment`, a non-standard header; each as a
   * warning. Never a file cut short: a lenient read still needs the header, the trailer and the last line's ending.
   */
  lenient?: boolean;
  /**
   * Read a file with no header as a fragment of an extract (rows only, no trailer needed), where the layout
   * allows fragments (`fragments: true`). Off by default: a file that does not start with its header is not sound.
   */
  fragment?: boolean;
  /** Transport file name (or path): named in problems and parsed for file facts. */
  fileName?: string;
  /** How many problems of each severity summary() keeps (all are emitted as 'problem' events). Default 1000. */
  keepProblems?: number;
  /** Longest line accepted, in characters (default 1 MiB): a longer one is skipped as LINE_TOO_LONG. */
  maxLineLength?: number;
}

export interface ReadSummary {
  file: FileInfo;
  layout: string;
  eol: LineEndingSeen;
  finalNewline: boolean;
  lines: number;
  /** Lines per record type, header and trailer included; `?` counts lines whose first field is not a record type. */
  records: Record<string, number>;
  /**
   * The file is whole and is what it says it is: it starts with the layout's header (or is a fragment read as one),
   * its trailer is the last line and its count matches, every line ended as the layout says, and no other problem
   * of the file as a whole (scope `file`) is an error. A sound file may still have rejected lines.
   */
  sound: boolean;
  /** No error at all: sound, and no line rejected. */
  valid: boolean;
  /** Errors of the file as a whole (scope `file`): why it is not sound. Counted in errorCount as well. */
  fileErrorCount: number;
  fileErrors: Problem[];
  errorCount: number;
  warningCount: number;
  errors: Problem[];
  warnings: Problem[];
}

/** A line that could not become a valid record; emitted as a 'reject' event, not pushed. */
export interface Rejected {
  line: number;
  recordType: string;
  /** What could be read of the record (may hold personal data: never log it). */
  record: EsrRecord;
  problems: Problem[];
}

const LF = 0;
const CRLF = 1;
const CR = 2;
const EOL_NAMES: LineEndingSeen[] = ['lf', 'crlf', 'cr'];

const KIND_CODES: Record<string, ProblemCode> = {
  date: 'INVALID_DATE',
  timestamp: 'INVALID_TIMESTAMP',
  time: 'INVALID_TIME',
  number: 'INVALID_NUMBER',
};

export class EsrReader extends Transform {
  readonly layout: CompiledLayout;
  private readonly lenient: boolean;
  private readonly fileLabel?: string;
  private readonly keep: number;
  private readonly decoder?: StringDecoder;
  private readonly quoted: boolean;
  private readonly asciiOnly: boolean;
  private carry = '';
  private lineNo = 0;
  private readonly eolCounts = [0, 0, 0];
  private finalNewline = true;
  private bytes = 0;
  private headerLine = 0;
  private trailerLine = 0;
  private trailerCount?: string;
  private readonly counts: Record<string, number> = Object.create(null);
  private readonly errors: Problem[] = [];
  private readonly warnings: Problem[] = [];
  private readonly fileErrors: Problem[] = [];
  private errorCount = 0;
  private warningCount = 0;
  private fileErrorCount = 0;
  private readonly fragmentAllowed: boolean;
  private readonly fragmentAsked: boolean;
  /** Line 1 had the header's record type (valid or not). */
  private headerTried = false;
  /** The first line that is not blank has been seen (and, when it is not the header, NO_HEADER reported). */
  private firstSeen = false;
  /** Lines of a record type the layout knows (header and trailer excluded). */
  private knownRecords = 0;
  /** Reading the header or trailer line: a problem with it is a problem of the file. */
  private fileLine = false;
  private trailerCountMatches = false;
  /** The line endings of the last two ended lines (LF, CRLF, CR), to tell a CRLF cut after its CR. */
  private lastEol = -1;
  private previousEol = -1;
  /** The first bytes, held until a byte order mark can be told apart. */
  private start: Buffer | undefined = Buffer.alloc(0);
  private pending: Problem[] | undefined;
  private readonly fileInfo: FileInfo = {};
  private readonly maxLine: number;
  /** Inside a line longer than maxLine: dropping text until its end. */
  private skipping = false;
  /** Quoted layouts: whether each field of the current line was quoted. */
  private quotedFlags: boolean[] = [];
  /** The last record, held back until the next one so that the end of the file can be marked on it. */
  private held?: EsrRecord;
  private readonly decoders = new Map<CompiledRecordType, FieldDecoder>();

  constructor(layout: CompiledLayout, options: ReadOptions = {}) {
    super({ readableObjectMode: true, writableObjectMode: false });
    this.layout = layout;
    this.lenient = options.lenient ?? false;
    this.keep = options.keepProblems ?? 1000;
    this.maxLine = options.maxLineLength ?? 1024 * 1024;
    this.quoted = layout.spec.quoting === 'fields';
    this.asciiOnly = layout.spec.encoding === 'ascii';
    this.fragmentAsked = options.fragment === true;
    this.fragmentAllowed = this.fragmentAsked && layout.spec.fragments === true;
    if (layout.spec.encoding === 'utf8') this.decoder = new StringDecoder('utf8');
    if (options.fileName) {
      const base = path.basename(options.fileName);
      this.fileLabel = base;
      this.fileInfo.name = base;
      const parts = parseFileName(layout, base);
      if (parts) Object.assign(this.fileInfo, factsFromParts(parts));
    }
  }

  /** File facts known so far (complete once the header has been read). */
  get file(): FileInfo {
    return this.fileInfo;
  }

  /** Bytes consumed so far (for progress). */
  get bytesRead(): number {
    return this.bytes;
  }

  summary(): ReadSummary {
    const used = EOL_NAMES.filter((_, i) => this.eolCounts[i] > 0);
    return {
      file: { ...this.fileInfo },
      layout: this.layout.id,
      eol: used.length === 0 ? 'none' : used.length > 1 ? 'mixed' : used[0],
      finalNewline: this.finalNewline,
      lines: this.lineNo,
      records: { ...this.counts },
      sound: this.fileErrorCount === 0,
      valid: this.errorCount === 0,
      fileErrorCount: this.fileErrorCount,
      fileErrors: [...this.fileErrors],
      errorCount: this.errorCount,
      warningCount: this.warningCount,
      errors: [...this.errors],
      warnings: [...this.warnings],
    };
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      this.bytes += buf.length;
      if (this.start) {
        buf = this.afterByteOrderMark(Buffer.concat([this.start, buf]), false);
        if (!buf.length) return callback();
      }
      const text = this.decoder ? this.decoder.write(buf) : buf.toString('latin1');
      this.splitLines(text, false);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.start) {
        const rest = this.afterByteOrderMark(this.start, true);
        this.splitLines(this.decoder ? this.decoder.write(rest) : rest.toString('latin1'), false);
      }
      if (this.decoder) this.splitLines(this.decoder.end(), false);
      this.splitLines('', true);
      this.finish();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  /**
   * The bytes after a UTF-8 byte order mark, which ESR never writes: a file that has one was re-saved (e.g. by a
   * Windows editor) and may have been altered. An error, or a warning in lenient mode; either way it is stripped
   * so that the header can still be read. Holds up to 3 bytes until it can tell.
   */
  private afterByteOrderMark(buf: Buffer, final: boolean): Buffer {
    const BOM = [0xef, 0xbb, 0xbf];
    const n = Math.min(buf.length, 3);
    const prefix = buf.subarray(0, n).every((b, i) => b === BOM[i]);
    if (prefix && n < 3 && !final) {
      this.start = buf;
      return Buffer.alloc(0);
    }
    this.start = undefined;
    if (!prefix || n < 3) return buf;
    this.fileProblem(this.lenient ? 'warning' : 'error', 'BYTE_ORDER_MARK', 0, 'the file starts with a byte order mark, which ESR never writes: it was re-saved and may have been altered; the mark was skipped');
    return buf.subarray(3);
  }

  /**
   * Splits text into lines at LF, CRLF or bare CR, keeping a partial last line for the next chunk. The carried
   * part holds no line end (except a CR at its very end), so only new text is searched.
   */
  private splitLines(text: string, final: boolean): void {
    const carried = this.carry.length;
    const s = carried ? this.carry + text : text;
    const len = s.length;
    const from = carried ? carried - 1 : 0;
    let pos = 0;
    let nextLf = s.indexOf('\n', from);
    let nextCr = s.indexOf('\r', from);
    for (;;) {
      if (nextLf !== -1 && nextLf < pos) nextLf = s.indexOf('\n', pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = s.indexOf('\r', pos);
      let end: number;
      let kind: number;
      if (nextCr !== -1 && (nextLf === -1 || nextCr < nextLf)) {
        if (nextCr + 1 === len && !final) break; // a CRLF may be split across chunks
        end = nextCr;
        kind = s.charCodeAt(nextCr + 1) === 10 ? CRLF : CR;
      } else if (nextLf !== -1) {
        end = nextLf;
        kind = LF;
      } else break;
      this.eolCounts[kind]++;
      this.previousEol = this.lastEol;
      this.lastEol = kind;
      if (this.skipping) {
        this.skipping = false; // the end of the over-long line
      } else this.line(s.slice(pos, end));
      pos = end + (kind === CRLF ? 2 : 1);
    }
    if (final) {
      this.carry = '';
      if (pos < len || this.skipping) {
        this.finalNewline = false;
        if (!this.skipping) this.line(s.slice(pos));
        this.skipping = false;
      }
      return;
    }
    this.carry = pos === 0 ? s : s.slice(pos);
    if (this.carry.length > this.maxLine) {
      // Never hold a whole file because it has no line breaks: report the line and drop it up to its end.
      if (!this.skipping) {
        this.lineNo++;
        this.fileProblem('error', 'LINE_TOO_LONG', this.lineNo, `line longer than ${this.maxLine} characters; skipped`);
      }
      this.skipping = true;
      this.carry = this.carry.endsWith('\r') ? '\r' : '';
    }
  }

  /** `recordType` must be a code the layout knows (or undefined): a line's first field may be a value. */
  private problem(severity: Severity, code: ProblemCode, line: number, detail: string, recordType?: string, field?: string, scope: Scope = 'line'): Problem {
    const base = { severity, code, line, recordType, field, file: this.fileLabel };
    const p: Problem = { ...base, scope, message: formatProblem(base, detail) };
    if (severity === 'error') {
      this.errorCount++;
      if (this.errors.length < this.keep) this.errors.push(p);
      if (scope === 'file') {
        this.fileErrorCount++;
        if (this.fileErrors.length < this.keep) this.fileErrors.push(p);
      }
    } else {
      this.warningCount++;
      if (this.warnings.length < this.keep) this.warnings.push(p);
    }
    this.emit('problem', p);
    return p;
  }

  /** A problem of the file as a whole: an error of this kind means the file is not sound. */
  private fileProblem(severity: Severity, code: ProblemCode, line: number, detail: string, recordType?: string, field?: string): Problem {
    return this.problem(severity, code, line, detail, recordType, field, 'file');
  }

  /**
   * An error tied to the record being built: collected so the record can be rejected with its problems. On the
   * header or trailer line it is an error of the file instead: those lines say what the file is.
   */
  private recordError(code: ProblemCode, line: number, detail: string, recordType: string, field?: string): void {
    if (this.fileLine) {
      this.fileProblem('error', code, line, detail, recordType, field);
      return;
    }
    const p = this.problem('error', code, line, detail, recordType, field);
    (this.pending ??= []).push(p);
  }

  private line(text: string): void {
    const line = ++this.lineNo;
    if (text.length > this.maxLine) {
      this.fileProblem('error', 'LINE_TOO_LONG', line, `line longer than ${this.maxLine} characters; skipped`);
      return;
    }
    if (text.length === 0) {
      this.fileProblem(this.lenient ? 'warning' : 'error', 'BLANK_LINE', line, 'blank line');
      return;
    }
    if (this.asciiOnly ? /[^\x00-\x7f]/.test(text) : this.decoder !== undefined && text.includes('\ufffd')) {
      const what = this.asciiOnly ? 'bytes that are not ASCII' : 'bytes that are not valid UTF-8 (or a U+FFFD character)';
      this.fileProblem('error', 'INVALID_ENCODING', line, what);
    }
    let fields: string[];
    if (this.quoted) {
      try {
        const flags: boolean[] = [];
        fields = (parseCsv(text, {
          delimiter: this.layout.spec.delimiter,
          relax_column_count: true,
          relax_quotes: true,
          cast: (value: string, context: { index: number; quoting: boolean }) => {
            flags[context.index] = context.quoting;
            return value;
          },
        }) as string[][])[0] ?? [''];
        this.quotedFlags = flags;
      } catch (err) {
        this.fileProblem('error', 'CSV_SYNTAX', line, `cannot split the line into fields (${(err as { code?: string }).code ?? 'parse error'})`);
        return;
      }
    } else fields = text.split(this.layout.spec.delimiter);
    this.fields(fields, line);
  }

  private fields(fields: string[], line: number): void {
    const code = fields[0];
    const layout = this.layout;
    // The first field of a line the layout does not know may be anything, even personal data: never echoed.
    const known = layout.byCode.has(code) || layout.byDeleteCode.has(code);
    const counted = known ? code : '?';
    this.counts[counted] = (this.counts[counted] ?? 0) + 1;
    if (this.trailerLine) {
      this.fileProblem('error', 'DATA_AFTER_TRAILER', line, `line after the ${layout.trailer!.code} trailer`, known ? code : undefined);
    }
    if (!this.firstSeen) {
      this.firstSeen = true;
      // Found at once, so that a consumer can stop acting on a file that is not what its name says.
      if (layout.header && code !== layout.header.code) this.noHeader();
    }
    if (layout.header && code === layout.header.code) return this.header(fields, line);
    if (known && !(layout.trailer && code === layout.trailer.code)) this.knownRecords++;
    if (layout.trailer && code === layout.trailer.code) return this.trailer(fields, line);
    const rt = layout.byCode.get(code);
    if (rt) return this.deliver(this.record(rt, fields, line), line, code);
    const deleted = layout.byDeleteCode.get(code);
    if (deleted) return this.deliver(this.deleteRecord(deleted, code, fields, line), line, code);
    // A fragment has no header to say what it is: each of its lines must be a record of the layout, or an HTML page
    // or a CSV export saved under an ESR name would be read as rows.
    const inFragment = layout.header !== undefined && !this.headerTried;
    const detail = `the first field is not a record type of layout ${layout.id}`;
    if (inFragment) this.fileProblem('error', 'UNKNOWN_RECORD_TYPE', line, `${detail}, in a file with no header`);
    else this.problem('warning', 'UNKNOWN_RECORD_TYPE', line, `${detail}; line kept as raw values (record type "?")`);
    this.deliver({ recordType: '?', values: fields }, line, counted);
  }

  private deliver(record: EsrRecord, line: number, recordType: string): void {
    if (this.pending) {
      const rejected: Rejected = { line, recordType, record, problems: this.pending };
      this.pending = undefined;
      this.emit('reject', rejected);
      return;
    }
    if (this.held) this.push(this.held);
    this.held = record;
  }

  private record(rt: CompiledRecordType, fields: string[], line: number): EsrRecord {
    const code = rt.code;
    const n = fields.length;
    if (rt.opaque) {
      if (!rt.counts.includes(n) && n > rt.maxCount && this.lenient) {
        this.problem('warning', 'EXTRA_FIELDS', line, `${n} fields where the layout has ${rt.maxCount}; extra fields kept`, code);
        return { recordType: code, values: fields.slice(1, rt.maxCount), _extra: fields.slice(rt.maxCount) };
      }
      if (!rt.counts.includes(n)) this.countProblem(rt, n, line);
      return { recordType: code, values: fields.slice(1) };
    }
    const rec: EsrRecord = { recordType: code };
    let limit = n;
    if (!rt.counts.includes(n)) {
      if (n > rt.maxCount && this.lenient) {
        this.problem('warning', 'EXTRA_FIELDS', line, `${n} fields where the layout has ${rt.maxCount}; extra fields kept`, code);
        rec._extra = fields.slice(rt.maxCount);
        limit = rt.maxCount;
        if (rt.maxCount !== rt.defaultCount) rec._fieldCount = rt.maxCount;
      } else {
        this.countProblem(rt, n, line);
        limit = Math.min(n, rt.maxCount);
      }
    } else if (n !== rt.defaultCount) rec._fieldCount = n;
    this.checkQuoting(rt, fields, line);
    this.decodeFields(rt, fields, limit, rec, line);
    return rec;
  }

  private decodeFields(rt: CompiledRecordType, fields: string[], limit: number, rec: EsrRecord, line: number): void {
    let decode = this.decoders.get(rt);
    if (!decode) this.decoders.set(rt, (decode = compileDecoder(rt)));
    this.decodingType = rt;
    this.decodingLine = line;
    decode(fields, limit, rec, this.onBadField);
  }

  private decodingType?: CompiledRecordType;
  private decodingLine = 0;
  private readonly onBadField = (i: number, what: 'missing' | 'invalid'): void => {
    const rt = this.decodingType!;
    if (what === 'missing') this.missing(rt, rt.fields[i], this.decodingLine);
    else this.invalid(rt, rt.fields[i], this.decodingLine);
  };

  /** Quoted layouts: each field must be quoted exactly as the layout writes it, so that files round-trip. */
  private checkQuoting(rt: CompiledRecordType, fields: string[], line: number): void {
    if (!this.quoted) return;
    const flags = this.quotedFlags;
    const quoteEmpty = this.layout.spec.quoteEmpty ?? false;
    const severity: Severity = this.lenient ? 'warning' : 'error';
    const report = (detail: string, field?: string) => {
      if (severity === 'error') this.recordError('QUOTING_MISMATCH', line, detail, rt.code, field);
      else this.problem('warning', 'QUOTING_MISMATCH', line, detail, rt.code, field);
    };
    if (flags[0]) report('the record type is quoted');
    const n = Math.min(fields.length, rt.fields.length + 1);
    for (let i = 1; i < n; i++) {
      const f = rt.fields[i - 1];
      const expected = f.quoted && (quoteEmpty || fields[i] !== '');
      if (!!flags[i] !== expected) report(expected ? `value (position ${f.pos}) is not quoted as the layout says` : `value (position ${f.pos}) is quoted; the layout writes it bare`, f.name);
      else if (flags[i] && fields[i].includes('"')) report(`quoted value (position ${f.pos}) holds a double quote, which the layout cannot write`, f.name);
    }
  }

  private missing(rt: CompiledRecordType, f: CompiledField, line: number): void {
    this.recordError('REQUIRED_FIELD_MISSING', line, `required field (position ${f.pos}) is empty`, rt.code, f.name);
  }

  private invalid(rt: CompiledRecordType, f: CompiledField, line: number): void {
    const form = f.kind === 'time' ? 'HH:MM' : f.kind === 'number' ? 'a number' : f.format + (f.allowDateOnly ? ' or YYYYMMDD' : '');
    this.recordError(KIND_CODES[f.kind], line, `value (position ${f.pos}) is not ${form}`, rt.code, f.name);
  }

  private countProblem(rt: CompiledRecordType, n: number, line: number): void {
    const want = rt.counts.join(' or ');
    this.recordError('FIELD_COUNT', line, `${n} fields where the layout has ${want}`, rt.code);
  }

  private deleteRecord(rt: CompiledRecordType, code: string, fields: string[], line: number): EsrRecord {
    const rec: EsrRecord = { recordType: code };
    if (fields.length > 2 && this.lenient) {
      this.problem('warning', 'EXTRA_FIELDS', line, `${fields.length} fields where a delete row has 2; extra fields kept`, code);
      rec._extra = fields.slice(2);
    } else if (fields.length !== 2) {
      this.recordError('FIELD_COUNT', line, `${fields.length} fields where a delete row has 2`, code);
    }
    const idField = rt.fieldsByKey.get(rt.idField!)!;
    if (!fields[1]) this.recordError('REQUIRED_FIELD_MISSING', line, 'a delete row must carry the ID', code, idField.name);
    else rec[idField.key] = fields[1];
    return rec;
  }

  /**
   * Lenient mode: empty columns after the last field of a header or trailer, kept in `_extra` with a warning as on
   * data rows. The number of fields to decode, or undefined where the count is wrong.
   */
  private headerTrailerCount(rt: CompiledRecordType, fields: string[], line: number, rec: EsrRecord): number | undefined {
    const n = fields.length;
    if (rt.counts.includes(n)) {
      if (n !== rt.defaultCount) rec._fieldCount = n;
      return n;
    }
    if (!this.lenient || n <= rt.maxCount || fields.slice(rt.maxCount).some((f) => f !== '')) return undefined;
    this.problem('warning', 'EXTRA_FIELDS', line, `${n} fields where the layout has ${rt.maxCount}; the extra empty fields are kept`, rt.code);
    rec._extra = fields.slice(rt.maxCount);
    if (rt.maxCount !== rt.defaultCount) rec._fieldCount = rt.maxCount;
    return rt.maxCount;
  }

  private header(fields: string[], line: number): void {
    const h = this.layout.header!;
    this.fileLine = true;
    try {
      if (line !== 1) {
        this.recordError('HEADER_NOT_FIRST', line, `${h.code} is allowed only on the first line`, h.code);
        return this.deliver({ recordType: h.code, values: fields.slice(1) }, line, h.code);
      }
      this.headerTried = true;
      const rec: EsrRecord = { recordType: h.code };
      const count = this.headerTrailerCount(h, fields, line, rec);
      if (count === undefined) {
        // Not a real header: kept as raw values. Only a lenient read of a fragment goes on without one.
        const detail = `${fields.length} fields where the layout's header has ${h.counts.join(' or ')}`;
        if (this.lenient && this.fragmentAllowed) this.problem('warning', 'HEADER_INVALID', line, detail + '; kept as raw values, the rest read as a fragment', h.code);
        else this.recordError('HEADER_INVALID', line, detail, h.code);
        return this.deliver({ recordType: h.code, values: fields.slice(1) }, line, h.code);
      }
      this.headerLine = line;
      this.readHeader(h, fields, count, rec, line);
    } finally {
      this.fileLine = false;
    }
  }

  private readHeader(h: NonNullable<CompiledLayout['header']>, fields: string[], count: number, rec: EsrRecord, line: number): void {
    this.checkQuoting(h, fields, line);
    this.decodeFields(h, fields, count, rec, line);
    const nameField = h.fileNameField;
    const headerName = nameField ? rec[nameField] : undefined;
    if (typeof headerName === 'string') {
      this.fileInfo.headerName = headerName;
      const parts = parseFileName(this.layout, headerName);
      if (!parts) {
        const fieldName = h.fieldsByKey.get(nameField!)!.name;
        this.fileProblem(this.lenient ? 'warning' : 'error', 'FILE_NAME_INVALID', line, `file name does not match ${this.layout.spec.fileName?.pattern}`, h.code, fieldName);
      } else {
        if (this.fileInfo.name && this.fileInfo.name !== headerName) {
          this.problem('warning', 'FILE_NAME_MISMATCH', line, 'the name inside the header differs from the file name', h.code);
        }
        Object.assign(this.fileInfo, factsFromParts(parts));
      }
      this.fileInfo.name ??= headerName;
    }
    this.emit('header', this.file);
    this.deliver(rec, line, h.code);
  }

  private trailer(fields: string[], line: number): void {
    const t = this.layout.trailer!;
    if (this.trailerLine) return this.deliver({ recordType: t.code, values: fields.slice(1) }, line, t.code);
    this.trailerLine = line;
    this.fileLine = true;
    try {
      const rec: EsrRecord = { recordType: t.code };
      const n = this.headerTrailerCount(t, fields, line, rec);
      if (n === undefined) {
        this.countProblem(t, fields.length, line);
        return this.deliver({ recordType: t.code, values: fields.slice(1) }, line, t.code);
      }
      this.checkQuoting(t, fields, line);
      this.decodeFields(t, fields, n, rec, line);
      const count = rec[t.countField];
      if (typeof count === 'string') this.trailerCount = count;
      this.deliver(rec, line, t.code);
    } finally {
      this.fileLine = false;
    }
  }

  private finish(): void {
    if (this.held) {
      // Marks a file whose last line ending differs from the layout's, so that writing it back is exact.
      if (this.finalNewline !== this.layout.spec.finalNewline) this.held._finalNewline = this.finalNewline;
      this.push(this.held);
      this.held = undefined;
    }
    if (this.lineNo === 0) {
      this.fileProblem('error', 'EMPTY_FILE', 0, 'the file is empty');
      return;
    }
    const eolUsed = this.eolCounts.filter((c) => c > 0).length;
    if (eolUsed > 1) this.fileProblem(this.lenient ? 'warning' : 'error', 'MIXED_LINE_ENDINGS', 0, 'the file mixes line endings');
    const fragment = this.checkHeaderRead();
    this.checkTrailer(fragment);
    this.checkLastLineEnded();
  }

  /** The first line is not the header: a fragment, where one was asked for and the layout allows it, else unsound. */
  private noHeader(): void {
    const header = this.layout.header!;
    if (this.fragmentAllowed) {
      this.fileProblem('warning', 'NO_HEADER', 0, `no ${header.code} header: read as a fragment of an extract, as asked`);
      return;
    }
    const how = this.layout.spec.fragments
      ? ' (a fragment of an extract is read only when fragment reading is asked for)'
      : this.fragmentAsked
        ? ` (layout ${this.layout.id} does not allow fragments)`
        : '';
    this.fileProblem('error', 'NO_HEADER', 0, `the first line is not the ${header.code} header: not a whole ${this.layout.id} file${how}`);
  }

  /** Whether the file was read as a fragment (no header, as the reader was asked to allow). */
  private checkHeaderRead(): boolean {
    const header = this.layout.header;
    if (!header || this.headerLine) return false;
    if (!this.firstSeen) this.noHeader(); // only blank lines
    // A non-standard header line is read past only in lenient mode (see header()).
    const fragment = this.fragmentAllowed && (!this.headerTried || this.lenient);
    if (fragment && this.knownRecords === 0) this.fileProblem('error', 'EMPTY_FILE', 0, 'a fragment with no record of the layout');
    return fragment;
  }

  private checkTrailer(fragment: boolean): void {
    const trailer = this.layout.trailer;
    if (!trailer) return;
    const tcode = trailer.code;
    if (!this.trailerLine) {
      // Of the file, not of its last line (which may be a rejected record): no line number. A file with no header
      // at all has been reported as such already.
      const noHeader = this.layout.header && !this.headerTried;
      if (!fragment && !noHeader) this.fileProblem('error', 'MISSING_TRAILER', 0, `no ${tcode} trailer: the file may be cut short`, tcode);
      return;
    }
    if (this.trailerCount === undefined) return;
    const count = trailer.count;
    const expected = count === 'allLines' ? this.lineNo : count.recordTypes.reduce((sum, c) => sum + (this.counts[c] ?? 0), 0);
    this.trailerCountMatches = this.trailerCount === String(expected);
    if (!this.trailerCountMatches) {
      const field = trailer.fieldsByKey.get(trailer.countField)!.name;
      const what = count === 'allLines' ? 'lines in the file' : `${count.recordTypes.join('/')} lines`;
      this.fileProblem(this.lenient ? 'warning' : 'error', 'TRAILER_COUNT_MISMATCH', this.trailerLine, `trailer count does not match the ${expected} ${what}`, tcode, field);
    }
  }

  /**
   * A cut inside the last line leaves it without the layout's line ending (or, in a CRLF file, with a lone CR).
   * Lenient mode lets a missing final line ending pass only after a whole trailer whose count matches.
   */
  private checkLastLineEnded(): void {
    const layout = this.layout;
    if (!this.finalNewline && layout.spec.finalNewline) {
      const whole = this.trailerLine === this.lineNo && this.trailerCountMatches;
      const severity: Severity = this.lenient && whole ? 'warning' : 'error';
      this.fileProblem(severity, 'LAST_LINE_NOT_ENDED', this.lineNo, 'the last line has no line ending: the file may be cut short');
    } else if (this.finalNewline && this.previousEol !== -1 && this.lastEol !== this.previousEol) {
      this.fileProblem('error', 'LAST_LINE_NOT_ENDED', this.lineNo, 'the last line ends differently from the line before it: the file may be cut short');
    }
  }
}

/** The ESR facts in parsed file-name parts: VPD, subtype, full/changes, date, sequence. */
export function factsFromParts(parts: FileNameParts): FileInfo {
  const info: FileInfo = { parts };
  if (typeof parts.vpd === 'string') info.vpd = parts.vpd;
  if (typeof parts.subtype === 'string') info.subtype = parts.subtype;
  if (parts.extractType === 'F') info.extract = 'full';
  if (parts.extractType === 'C') info.extract = 'changes';
  if (typeof parts.date === 'string') info.date = parts.date;
  if (typeof parts.sequence === 'number') info.sequence = parts.sequence;
  return info;
}
