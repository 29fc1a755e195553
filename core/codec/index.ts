/** The ESR codec: layouts, streaming reader and writer, file names, person view. Free of Node-RED. */
export * from './layout-types';
export { loadLayout, compileLayout, builtInLayoutIds, keyForName, LayoutError } from './layout';
export type { CompiledLayout, CompiledRecordType, CompiledField } from './layout';
export { EsrReader, factsFromParts } from './reader';
export type { EsrRecord, FileInfo, ReadOptions, ReadSummary, Rejected, LineEndingSeen } from './reader';
export { EsrWriter, EsrWriteError, writeFile, writeToBuffer } from './writer';
export type { WriteOptions, WriteErrorCode, WriteReject, FileEnds } from './writer';
export { parseFileName, buildFileName, FileNameError } from './file-name';
export type { FileNameParts } from './file-name';
export { detectLayout } from './detect';
export { PersonGrouper, currentAt, personIdOf } from './people';
export { SpilledPeople, removeStaleSpills } from './spill';
export type { PersonGroup, OtherRecord, PersonView, GroupOptions } from './people';
export { readAll, firstLineOf } from './read-file';
export type { Problem, ProblemCode, Scope, Severity } from './problems';
