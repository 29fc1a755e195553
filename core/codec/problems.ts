/**
 * Problems found while reading a file. A message names the file, line, record type (only a code the layout
 * knows) and field but never a field value: ESR files hold personal data.
 */
export type ProblemCode =
  | 'EMPTY_FILE'
  | 'BYTE_ORDER_MARK'
  | 'BLANK_LINE'
  | 'INVALID_ENCODING'
  | 'MIXED_LINE_ENDINGS'
  | 'NO_HEADER'
  | 'HEADER_INVALID'
  | 'HEADER_NOT_FIRST'
  | 'FILE_NAME_INVALID'
  | 'FILE_NAME_MISMATCH'
  | 'MISSING_TRAILER'
  | 'LAST_LINE_NOT_ENDED'
  | 'TRAILER_COUNT_MISMATCH'
  | 'DATA_AFTER_TRAILER'
  | 'UNKNOWN_RECORD_TYPE'
  | 'FIELD_COUNT'
  | 'EXTRA_FIELDS'
  | 'REQUIRED_FIELD_MISSING'
  | 'INVALID_DATE'
  | 'INVALID_TIMESTAMP'
  | 'INVALID_TIME'
  | 'INVALID_NUMBER'
  | 'CSV_SYNTAX'
  | 'QUOTING_MISMATCH'
  | 'LINE_TOO_LONG';

export type Severity = 'error' | 'warning';

/**
 * file: about the file as a whole (cut, junk, re-saved, header or trailer wrong); an error of this scope means
 * the file is not sound. line: about one line, whose record is rejected (an error) or kept (a warning).
 */
export type Scope = 'file' | 'line';

export interface Problem {
  severity: Severity;
  code: ProblemCode;
  scope: Scope;
  /** 1-based line number; 0 for problems of the whole file (e.g. an empty file). */
  line: number;
  recordType?: string;
  /** ESR's field name. */
  field?: string;
  /** File name, when the reader was given one. */
  file?: string;
  message: string;
}

export function formatProblem(p: Omit<Problem, 'message' | 'scope'>, detail: string): string {
  const where = [p.file, p.line ? `line ${p.line}` : undefined, p.recordType, p.field ? `field "${p.field}"` : undefined]
    .filter(Boolean)
    .join(', ');
  return `${where ? where + ': ' : ''}${detail} [${p.code}]`;
}
