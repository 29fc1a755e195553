/** A deterministic synthetic NHS trust and its ESR files, for the demo, the benchmarks and `esr generate`. */
export { SyntheticTrust } from './trust';
export type { TrustOptions, DayChanges, ChangeKind } from './trust';
export type { Person, Assignment, Absence } from './staff';
export { goFileName, fullFileRecords, changeFileRecords, currentStaff, currentFileRecords, writeGoFile, writeGoFiles } from './go-files';
export type { GoSubtype } from './go-files';
