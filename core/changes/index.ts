/** Joiners, movers, leavers, changes and rehires from GO files, over a durable staff snapshot. Free of Node-RED. */
export { ChangeFeeds, documentName } from './feed';
export type { Alert, AlertCode, ChangeOptions, Outcome, Step } from './feed';
export { FileRun } from './file-run';
export type { FileFacts, Incoming, PersonViewInput } from './file-run';
export type { ChangeEvent, FieldChange } from './derive';
export type { ChangeKind, PersonState } from './model';
export { MOVER_FIELDS, CHANGE_FIELDS } from './model';
export { refreshRequest } from './refresh';
export type { RefreshRequest } from './refresh';
