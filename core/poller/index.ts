/** The poller: claims, ledger, after-actions, one file at a time — over the SFTP transport and the state store. */
export { Poller, ClaimError } from './poller';
export type { PollerOptions, Claim, ClaimTicket, LedgerEntry, AfterAction, PollResult } from './poller';
