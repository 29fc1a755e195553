/** The shape of a layout file: one ESR interface described as data. See docs/layouts.md. */

export type FieldKind = 'text' | 'date' | 'timestamp' | 'time' | 'number';
export type Encoding = 'latin1' | 'ascii' | 'utf8';
export type LineEnding = 'lf' | 'crlf' | 'cr';

export interface FieldSpec {
  /** ESR's own field name, e.g. "Person ID". */
  name: string;
  /** Property name in records; defaults to the lowerCamelCase of `name` ("Person ID" -> "personId"). */
  key?: string;
  kind?: FieldKind;
  required?: boolean;
  /** A column no source names: written empty, kept if a file carries a value in it. */
  spare?: boolean;
  /** Quoted layouts only: the value is wrapped in double quotes when written. */
  quoted?: boolean;
  /** date/timestamp: the file form; defaults "YYYYMMDD" / "YYYYMMDD HHMMSS". */
  format?: 'YYYYMMDD' | 'YYYYMMDD HHMMSS' | 'YYYYMMDDHHMMSS';
  /** timestamp only: a bare YYYYMMDD date is also accepted (sources disagree, e.g. PRA Last Update Date). */
  allowDateOnly?: boolean;
  /** Written when a record has no value for the field (e.g. "0" for TA's FTR field 3). */
  default?: string;
  /** Where the sources disagree or a fact is uncertain. */
  note?: string;
}

export interface RecordTypeSpec {
  /** Record type code of the add/update row, e.g. "PRA". */
  code: string;
  /** Record type code of the 2-field delete row, e.g. "PRD". */
  deleteCode?: string;
  name: string;
  /** Ordered fields after the record type (Pos 2 onwards). */
  fields: FieldSpec[];
  /** Accepted total field counts including the record type; the first is written by default. */
  fieldCounts?: number[];
  /** Key of the entity's own ID (what a delete row carries). */
  idField?: string;
  /** Key of the Person ID, for grouping a file into people. */
  personField?: string;
  /** Keys of the effective-from and effective-to dates, for picking the row current at a date. */
  effectiveFrom?: string;
  effectiveTo?: string;
  /** Fields are not named by any source: the record keeps its values as an array. */
  opaque?: boolean;
  note?: string;
}

export interface HeaderSpec {
  recordType: string;
  fields: FieldSpec[];
  /** Key of the field holding the file's own name, parsed with the file-name pattern. */
  fileNameField?: string;
}

export interface TrailerSpec {
  recordType: string;
  fields: FieldSpec[];
  /** Key of the field holding the count. */
  countField: string;
  /** What is counted: every line incl. header and trailer, or only lines of the listed record types. */
  count: 'allLines' | { recordTypes: string[] };
}

export interface FileNamePart {
  /** Regular expression (source) for the part. */
  pattern: string;
  /** date: YYYYMMDD in the name, ISO in the parsed parts. */
  kind?: 'text' | 'date' | 'number';
  /** Zero-pad numbers to this width when building. */
  width?: number;
  description?: string;
}

export interface FileNameSpec {
  /** e.g. "GO_{vpd}_{subtype}_GO{extractType}_{date}_{sequence}.DAT" */
  pattern: string;
  parts: Record<string, FileNamePart>;
}

export interface Layout {
  id: string;
  title: string;
  direction: 'outbound' | 'inbound';
  /** true for layouts not taken from an ESR specification or a real implementation. */
  unofficial?: boolean;
  description?: string;
  sources?: string[];
  delimiter: string;
  /** none: values are never quoted (GO); fields: fields marked `quoted` are wrapped in double quotes. */
  quoting: 'none' | 'fields';
  /** Quoted layouts: write `""` for an empty quoted field (true) or leave it bare (false). */
  quoteEmpty?: boolean;
  encoding: Encoding;
  lineEnding: LineEnding;
  /** Whether the last line ends with a line ending. */
  finalNewline: boolean;
  /**
   * Whether a file of this layout may be read as a fragment: rows with no header or trailer (e.g. esr_api's test
   * files). Even then a fragment is read only when the reader is asked to (`ReadOptions.fragment`).
   */
  fragments?: boolean;
  header?: HeaderSpec;
  trailer?: TrailerSpec;
  recordTypes: RecordTypeSpec[];
  fileName?: FileNameSpec;
}
