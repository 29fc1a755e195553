/** The poller: claims, ledger, after-actions, one file at a time — over the SFTP transport and the state store. */
export { Poller, ClaimError } from './poller';
export type { PollerEvent, PollerOptions, Claim, ClaimTicket, LedgerEntry, AfterAction, PollResult } from './poller';
export { Watchdog, parseDays, parseTime, deadlineOn, localDay, wallClock, DEFAULT_TIME_ZONE } from './watchdog';
export type { Expectation, MissingFileAlert } from './watchdog';
export { auditRecord, AUDIT_OUTCOMES } from './audit';
export type { AuditRecord, FileFacts } from './audit';
