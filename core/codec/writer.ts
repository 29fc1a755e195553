/**
 * Streaming writer: records in, exact file bytes out. The header is the first record when it is a header
 * record, else built from `options.header`; the trailer's count is always computed. A value the layout cannot
 * carry is an error naming the record and field, never a silent `?` or a shifted column.
 */
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CompiledField, CompiledLayout, CompiledRecordType } from './layout';
import type { LineEnding } from './layout-types';
import { encodeValue, expectedForm, INVALID } from './values';
import type { EsrRecord } from './reader';
import { buildFileName, type FileNameParts } from './file-name';

export type WriteErrorCode =
  | 'NOT_A_RECORD'
  | 'UNKNOWN_RECORD_TYPE'
  | 'UNKNOWN_FIELD'
  | 'REQUIRED_FIELD_MISSING'
  | 'INVALID_VALUE'
  | 'DELIMITER_IN_VALUE'
  | 'QUOTE_IN_VALUE'
  | 'LINE_BREAK_IN_VALUE'
  | 'UNREPRESENTABLE_CHARACTER'
  | 'FIELD_COUNT'
  | 'HEADER_NOT_FIRST'
  | 'RECORD_AFTER_TRAILER';

export class EsrWriteError extends Error {
  constructor(
    readonly code: WriteErrorCode,
    /** 1-based number of the record in the input. */
    readonly recordNumber: number,
    readonly recordType: string | undefined,
    /** ESR's field name. */
    readonly field: string | undefined,
    detail: string,
  ) {
    const where = [`record ${recordNumber}`, recordType, field ? `field "${field}"` : undefined].filter(Boolean).join(', ');
    super(`${where}: ${detail} [${code}]`);
    this.name = 'EsrWriteError';
  }
}

export interface WriteOptions {
  /** Line ending; defaults to the layout's. */
  eol?: LineEnding;
  /** Header values (record keys) used when the input does not start with a header record. */
  header?: Record<string, unknown>;
  /** 'recompute' (default) writes the real count; 'keep' keeps a count given in an input trailer record. */
  trailerCount?: 'recompute' | 'keep';
  /** Report invalid records as 'reject' events and leave them out instead of failing the file. */
  skipInvalid?: boolean;
  /**
   * Parts of the file name (e.g. { vpd, subtype, extractType, date, sequence }): the name is built with the
   * layout's pattern, exposed as `fileName`, and written into a header the writer builds.
   */
  fileName?: FileNameParts;
  /**
   * Leave the header the writer builds out of the bytes: it is counted where it stands (first), and `fileEnds()` gives
   * its line, built then with the file name and header values known at the end. For a file whose name holds a
   * sequence number that may be taken only once the rest of the file is known to be sound (esr-write), so that
   * every record is encoded once, as it arrives, and the header goes in front of the bytes at the end.
   */
  deferHeader?: boolean;
}

/** The end of a file (see EsrWriter.fileEnds): what goes before the bytes taken so far, and after them. */
export interface FileEnds {
  /** The header line (no line ending) when it was deferred, else empty. */
  head: Buffer;
  /** The trailer and the final line ending (and any bytes not yet taken). */
  tail: Buffer;
  /** Lines per record type, header and trailer included. */
  counts: Record<string, number>;
}

const EOL_TEXT: Record<LineEnding, string> = { lf: '\n', crlf: '\r\n', cr: '\r' };
const FLUSH_AT = 64 * 1024;

export class EsrWriter extends Transform {
  readonly layout: CompiledLayout;
  private readonly eol: string;
  private options: WriteOptions;
  private readonly maxCode: number;
  private out = '';
  private lines = 0;
  private recordNumber = 0;
  private headerValues?: Record<string, unknown>;
  private trailerInput?: EsrRecord;
  private readonly counts: Record<string, number> = Object.create(null);
  private finalNewline: boolean;
  /** A built header is counted but not yet written (options.deferHeader). */
  private headerPending = false;
  private name?: string;

  constructor(layout: CompiledLayout, options: WriteOptions = {}) {
    super({ writableObjectMode: true, readableObjectMode: false });
    this.layout = layout;
    this.options = options;
    this.eol = EOL_TEXT[options.eol ?? layout.spec.lineEnding];
    this.maxCode = { latin1: 0xff, ascii: 0x7f, utf8: Infinity }[layout.spec.encoding];
    this.finalNewline = layout.spec.finalNewline;
    if (options.fileName) this.name = buildFileName(layout, options.fileName);
  }

  /** The file name built from `options.fileName` (or given to `fileEnds`), if any. */
  get fileName(): string | undefined {
    return this.name;
  }

  /**
   * Encodes one record into the pending bytes (see takeBytes), synchronously: the stream interface's work without
   * its per-record cost. Returns the reject when the record is invalid and `skipInvalid` is on; otherwise throws
   * EsrWriteError naming the record and field.
   */
  add(record: unknown): WriteReject | undefined {
    this.recordNumber++;
    try {
      this.writeRecord(record);
      return undefined;
    } catch (err) {
      if (err instanceof EsrWriteError && this.options.skipInvalid) return { recordNumber: this.recordNumber, record, error: err };
      throw err;
    }
  }

  /** Characters encoded and not yet taken (about the bytes; to decide when to take them). */
  get pending(): number {
    return this.out.length;
  }

  /** The bytes encoded since the last call (empty Buffer when none), in the file's encoding. */
  takeBytes(): Buffer {
    const bytes = this.bytesOf(this.out);
    this.out = '';
    return bytes;
  }

  /**
   * The end of the file, after every record was added and every byte taken: the deferred header line (built with
   * `final.fileName` and `final.header` when given) and the trailer with its count. Changes nothing, so it can be
   * called once to check the file is sound (a placeholder name) and again with the real name. Throws EsrWriteError.
   */
  fileEnds(final: { fileName?: string; header?: Record<string, unknown> } = {}): FileEnds {
    const saved = { out: this.out, lines: this.lines, recordNumber: this.recordNumber, counts: { ...this.counts }, headerValues: this.headerValues, pending: this.headerPending, name: this.name, options: this.options };
    try {
      if (final.fileName !== undefined) this.name = final.fileName;
      if (final.header) this.options = { ...this.options, header: final.header };
      if (this.recordNumber === 0 && this.options.header) this.startBuiltHeader();
      let head = '';
      if (this.headerPending) {
        const header = this.builtHeader();
        this.headerValues = header;
        head = this.encodeFields(this.layout.header!, header, true).join(this.layout.spec.delimiter);
      }
      this.writeTrailer();
      if (this.lines > 0 && this.finalNewline) this.out += this.eol;
      return { head: this.bytesOf(head), tail: this.bytesOf(this.out), counts: { ...this.counts } };
    } finally {
      this.out = saved.out;
      this.lines = saved.lines;
      this.recordNumber = saved.recordNumber;
      for (const k of Object.keys(this.counts)) delete this.counts[k];
      Object.assign(this.counts, saved.counts);
      this.headerValues = saved.headerValues;
      this.headerPending = saved.pending;
      this.name = saved.name;
      this.options = saved.options;
    }
  }

  private bytesOf(text: string): Buffer {
    return Buffer.from(text, this.layout.spec.encoding === 'utf8' ? 'utf8' : 'latin1');
  }

  /** The header built from options: written now, or with deferHeader counted now and written by fileEnds(). */
  private startBuiltHeader(): void {
    const header = this.layout.header;
    if (!this.options.deferHeader || !header) return this.writeHeader(this.builtHeader(), true);
    this.headerPending = true;
    this.lines++;
    this.counts[header.code] = (this.counts[header.code] ?? 0) + 1;
  }

  /** The header the writer builds from options: file name filled in, layout defaults applied. */
  private builtHeader(): EsrRecord {
    const header = { recordType: this.layout.header?.code ?? '', ...this.options.header } as EsrRecord;
    const nameKey = this.layout.header?.fileNameField;
    if (nameKey && this.fileName && header[nameKey] === undefined) header[nameKey] = this.fileName;
    return header;
  }

  /** Lines written so far per record type (header and trailer included). */
  get recordCounts(): Record<string, number> {
    return { ...this.counts };
  }

  override _transform(record: unknown, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      const reject = this.add(record);
      if (reject) this.emit('reject', reject);
      if (this.out.length >= FLUSH_AT) this.flushOut();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.options.deferHeader) throw new Error('deferHeader is for add/takeBytes/fileEnds, not for the stream interface');
      if (this.recordNumber === 0 && this.options.header) this.writeHeader(this.builtHeader(), true);
      this.writeTrailer();
      if (this.lines > 0 && this.finalNewline) this.out += this.eol;
      this.flushOut();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private flushOut(): void {
    if (!this.out) return;
    this.push(this.takeBytes());
  }

  /** The record type is named only when the layout knows it: a record's recordType may hold any value. */
  private fail(code: WriteErrorCode, recordType: string | undefined, field: string | undefined, detail: string): never {
    const { byCode, byDeleteCode } = this.layout;
    const shown = recordType === undefined || byCode.has(recordType) || byDeleteCode.has(recordType) ? recordType : '?';
    throw new EsrWriteError(code, this.recordNumber, shown, field, detail);
  }

  private writeRecord(input: unknown): void {
    if (typeof input !== 'object' || input === null || typeof (input as EsrRecord).recordType !== 'string') {
      this.fail('NOT_A_RECORD', undefined, undefined, 'expected an object with a recordType');
    }
    let record = input as EsrRecord;
    if ('_finalNewline' in record) {
      // Set by the reader on the last record of a file whose last line ending differs from the layout's.
      const { _finalNewline, ...rest } = record;
      if (typeof _finalNewline === 'boolean') this.finalNewline = _finalNewline;
      record = rest as EsrRecord;
    }
    const code = record.recordType;
    if (code === '' || /[\r\n"]/.test(code) || code.includes(this.layout.spec.delimiter)) {
      this.fail('NOT_A_RECORD', undefined, undefined, 'recordType must be a code without delimiter, quote or line break');
    }
    const { header, trailer } = this.layout;
    if (this.trailerInput) this.fail('RECORD_AFTER_TRAILER', code, undefined, 'no record may follow the trailer');
    if (header && code === header.code) {
      if (this.lines > 0) this.fail('HEADER_NOT_FIRST', code, undefined, 'the header must be the first record');
      return this.writeHeader(record);
    }
    if (this.lines === 0 && this.options.header) this.startBuiltHeader();
    if (trailer && code === trailer.code) {
      this.trailerInput = record;
      return;
    }
    const rt = this.layout.byCode.get(code);
    if (rt && !rt.opaque) return this.line(code, this.encodeFields(rt, record));
    if (rt?.opaque) {
      const n = Array.isArray(record.values) ? record.values.length + 1 : 0;
      if (!rt.counts.includes(n)) this.fail('FIELD_COUNT', code, undefined, `values must hold ${rt.counts.map((c) => c - 1).join(' or ')} fields`);
    }
    const deleted = this.layout.byDeleteCode.get(code);
    if (deleted) return this.line(code, this.encodeDelete(deleted, record));
    if (code === '?' && Array.isArray(record.values) && record.values.length > 0) return this.line(code, this.encodeUnknown(record.values));
    if (Array.isArray(record.values)) return this.line(code, this.encodeRaw(code, record));
    this.fail('UNKNOWN_RECORD_TYPE', code, undefined, `record type not in layout ${this.layout.id}`);
  }

  /** `built`: the header comes from options, not from the input, so layout defaults fill its gaps. */
  private writeHeader(record: EsrRecord, built = false): void {
    const header = this.layout.header;
    if (!header) this.fail('UNKNOWN_RECORD_TYPE', record.recordType, undefined, `layout ${this.layout.id} has no header`);
    // A raw header (values only, as lenient reading keeps a non-standard one) starts a fragment: no trailer.
    if (Array.isArray(record.values)) return this.line(header.code, this.encodeRaw(header.code, record));
    this.headerValues = record;
    this.line(header.code, this.encodeFields(header, record, built));
  }

  private writeTrailer(): void {
    const trailer = this.layout.trailer;
    if (!trailer) {
      if (this.trailerInput) this.fail('UNKNOWN_RECORD_TYPE', this.trailerInput.recordType, undefined, `layout ${this.layout.id} has no trailer`);
      return;
    }
    // A fragment (no header and no trailer given) stays a fragment.
    if (!this.headerValues && !this.trailerInput) return;
    const given: Record<string, unknown> = this.trailerInput ?? {};
    const values: EsrRecord = { recordType: trailer.code };
    for (const f of trailer.fields) {
      if (given[f.key] !== undefined) values[f.key] = given[f.key];
      else if (this.headerValues?.[f.key] !== undefined) values[f.key] = this.headerValues[f.key];
    }
    if (given._extra !== undefined) values._extra = given._extra;
    if (given._fieldCount !== undefined) values._fieldCount = given._fieldCount;
    const keep = this.options.trailerCount === 'keep' && given[trailer.countField] !== undefined;
    if (!keep) {
      const count = trailer.count;
      values[trailer.countField] = String(
        count === 'allLines' ? this.lines + 1 : count.recordTypes.reduce((sum, c) => sum + (this.counts[c] ?? 0), 0),
      );
    }
    this.recordNumber++;
    this.line(trailer.code, this.encodeFields(trailer, values, !this.trailerInput));
  }

  private line(code: string, fields: string[]): void {
    if (this.lines > 0) this.out += this.eol;
    this.out += fields.join(this.layout.spec.delimiter);
    this.lines++;
    this.counts[code] = (this.counts[code] ?? 0) + 1;
  }

  /**
   * Layout defaults fill a header or trailer the writer builds, and a required field (which a valid file never
   * leaves empty); elsewhere an empty field stays empty, so that files read and written again keep their bytes.
   */
  private encodeFields(rt: CompiledRecordType, record: EsrRecord, useDefaults = false): string[] {
    for (const key of Object.keys(record)) {
      if (key !== 'recordType' && key !== '_fieldCount' && key !== '_extra' && !rt.fieldsByKey.has(key)) {
        this.fail('UNKNOWN_FIELD', rt.code, undefined, `"${key}" is not a field of ${rt.code} in layout ${this.layout.id}`);
      }
    }
    let count = rt.defaultCount;
    if (record._fieldCount === undefined && rt.counts.length > 1) {
      // A value beyond the default count picks the smallest known variant that holds it (e.g. TA ATT 43).
      let needed = 0;
      for (const f of rt.fields) if (f.pos > needed && record[f.key] !== undefined && record[f.key] !== '') needed = f.pos;
      if (needed > count) count = Math.min(...rt.counts.filter((c) => c >= needed));
    } else if (record._fieldCount !== undefined) {
      if (!rt.counts.includes(record._fieldCount as number)) {
        this.fail('FIELD_COUNT', rt.code, undefined, `_fieldCount must be one of ${rt.counts.join(', ')}`);
      }
      count = record._fieldCount as number;
    }
    const out: string[] = [record.recordType];
    for (const f of rt.fields) {
      let value = record[f.key];
      if (value === undefined && f.default !== undefined && f.pos <= count && (useDefaults || f.required)) value = f.default;
      const text = this.encodeField(rt.code, f, value);
      if (f.pos > count) {
        if (text !== '') this.fail('FIELD_COUNT', rt.code, f.name, `has a value but the record is written with ${count} fields`);
        continue;
      }
      out.push(text);
    }
    if (record._extra !== undefined) {
      if (!Array.isArray(record._extra)) this.fail('FIELD_COUNT', rt.code, undefined, '_extra must be an array');
      for (const v of record._extra as unknown[]) out.push(this.checkText(rt.code, 'extra field', String(v ?? ''), false));
    }
    return out;
  }

  private encodeField(code: string, f: CompiledField, value: unknown): string {
    if (value === undefined || value === '') {
      if (f.required) this.fail('REQUIRED_FIELD_MISSING', code, f.name, 'required field is empty');
      return f.quoted && this.layout.spec.quoteEmpty ? '""' : '';
    }
    const text = encodeValue(f, value);
    if (text === INVALID) this.fail('INVALID_VALUE', code, f.name, `expected ${expectedForm(f)}`);
    return this.checkText(code, f.name, text, f.quoted);
  }

  private checkText(code: string, field: string, text: string, quoted: boolean): string {
    if (/[\r\n]/.test(text)) this.fail('LINE_BREAK_IN_VALUE', code, field, 'a value cannot contain a line break');
    if (quoted) {
      if (text.includes('"')) this.fail('QUOTE_IN_VALUE', code, field, 'a quoted value cannot contain a double quote');
    } else if (text.includes(this.layout.spec.delimiter)) {
      this.fail('DELIMITER_IN_VALUE', code, field, `the value contains the delimiter "${this.layout.spec.delimiter}", which this layout cannot carry`);
    } else if (this.layout.spec.quoting === 'fields' && text.startsWith('"')) {
      this.fail('QUOTE_IN_VALUE', code, field, 'an unquoted value cannot start with a double quote');
    }
    if (this.maxCode === Infinity && /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
      this.fail('UNREPRESENTABLE_CHARACTER', code, field, 'the value holds a lone surrogate, which UTF-8 cannot carry');
    }
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) > this.maxCode) {
        this.fail('UNREPRESENTABLE_CHARACTER', code, field, `character ${i + 1} of the value cannot be written in ${this.layout.spec.encoding}`);
      }
    }
    return quoted ? `"${text}"` : text;
  }

  private encodeDelete(rt: CompiledRecordType, record: EsrRecord): string[] {
    const idField = rt.fieldsByKey.get(rt.idField!)!;
    for (const key of Object.keys(record)) {
      if (key !== 'recordType' && key !== idField.key && key !== '_extra') this.fail('UNKNOWN_FIELD', record.recordType, undefined, `a delete row carries only ${idField.key}`);
    }
    const id = record[idField.key];
    if (id === undefined || id === '') this.fail('REQUIRED_FIELD_MISSING', record.recordType, idField.name, 'a delete row must carry the ID');
    const extra = Array.isArray(record._extra) ? record._extra.map((v, i) => this.checkText(record.recordType, `value ${i + 3}`, this.rawText(record.recordType, v, i + 3), false)) : [];
    return [record.recordType, this.checkText(record.recordType, idField.name, this.rawText(record.recordType, id, 2), false), ...extra];
  }

  /** A line the reader did not know (`recordType: '?'`): `values` holds every field, the first included. */
  private encodeUnknown(values: unknown[]): string[] {
    return values.map((v, i) => this.checkText('?', `value ${i + 1}`, this.rawText('?', v, i + 1), false));
  }

  private encodeRaw(code: string, record: EsrRecord): string[] {
    const values = [...(record.values as unknown[]), ...(Array.isArray(record._extra) ? record._extra : [])];
    return [code, ...values.map((v, i) => this.checkText(code, `value ${i + 2}`, this.rawText(code, v, i + 2), false))];
  }

  private rawText(code: string, v: unknown, pos: number): string {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    this.fail('INVALID_VALUE', code, `value ${pos}`, 'raw values must be text or numbers');
  }
}

/** A record the writer skipped ("skipInvalid"), with the reason. */
export interface WriteReject {
  recordNumber: number;
  record: unknown;
  error: EsrWriteError;
}

/** Writes records to one Buffer, with the records skipped as invalid and the counts per record type. */
export async function writeFile(layout: CompiledLayout, records: Iterable<unknown> | AsyncIterable<unknown>, options?: WriteOptions) {
  const writer = new EsrWriter(layout, options);
  const rejected: WriteReject[] = [];
  writer.on('reject', (r: WriteReject) => rejected.push(r));
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from(records, { objectMode: true }),
    writer,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
  );
  return { bytes: Buffer.concat(chunks), rejected, counts: writer.recordCounts };
}

/** Writes records to one Buffer (small files, tests). */
export async function writeToBuffer(layout: CompiledLayout, records: Iterable<unknown> | AsyncIterable<unknown>, options?: WriteOptions): Promise<Buffer> {
  return (await writeFile(layout, records, options)).bytes;
}
