/** The mapping engine: Node-RED-free. */
export { compileMapping, lookupFromCsv, lookupFromLines, MappingError, MappingValueError } from './mapping';
export type { CsvLookupOptions, Mapper, MappingOptions, MappingRule, LookupTable } from './mapping';
export { decodeLookup, lookupEncoding, LOOKUP_ENCODINGS, type LookupEncoding } from './decode';
export { spreadsheetSafe } from './helpers';
