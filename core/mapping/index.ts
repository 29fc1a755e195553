/** The mapping engine: Node-RED-free. */
export { compileMapping, lookupFromCsv, lookupFromLines, MappingError, MappingValueError } from './mapping';
export type { Mapper, MappingOptions, MappingRule, LookupTable } from './mapping';
export { spreadsheetSafe } from './helpers';
