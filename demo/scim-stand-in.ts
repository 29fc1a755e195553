/**
 * A stand-in for the trust's identity system: the SCIM 2.0 bulk upload that Microsoft Entra's API-driven inbound
 * provisioning takes (`POST …/bulkUpload`, `Content-Type: application/scim+json`, a SCIM BulkRequest of at most 50
 * operations, each `POST /Users` with a `bulkId` and a SCIM user). As Entra does, it treats each operation as
 * "create or update the user with this externalId" and answers 202. It checks what Entra's documentation asks for —
 * the bearer token, the content type, the BulkRequest and User schema URNs, at most 50 operations, a bulkId, an
 * externalId, a userName for a user it does not know yet, `active` a boolean — and refuses anything else with 400
 * and a SCIM error naming the operation and attribute (never a value). What it receives and the directory it
 * keeps are written under `dir` (requests/received-NNN.json, users.json). A test can make it refuse the next requests
 * (`refusals`): a transient 503, a 400, or a BulkResponse with a failed operation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as http from 'node:http';

export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
/** Entra's limit per bulk request. */
export const MAX_OPERATIONS = 50;

/** How the stand-in refuses a request when told to (see ScimStandIn.refusals). */
export type RefusalKind = 'unavailable' | 'invalid' | 'partial';

export type ScimUser = Record<string, unknown> & { externalId: string; userName?: string; active?: boolean };

export interface ScimStandIn {
  /** the path it answers (under the stand-ins' server) */
  path: string;
  /** the bearer token it accepts */
  token: string;
  /** every BulkRequest accepted, oldest first */
  requests: { Operations: { bulkId: string; data: ScimUser }[] }[];
  /** the directory: each user as the operations so far left it, by externalId */
  users: Map<string, ScimUser>;
  /** requests refused (status and SCIM error detail), oldest first */
  refused: { status: number; detail: string }[];
  /**
   * Refusals to play, one per request received, in order (the test's switch): `unavailable` answers 503 (a transient
   * failure), `invalid` 400 with scimType invalidValue naming the first operation's userName, `partial` 200 with a
   * SCIM BulkResponse whose first operation failed (409 uniqueness) and whose others were applied. Empty: none.
   */
  refusals: RefusalKind[];
  handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly scimType: string | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks one operation; returns its user. `known`: whether a user with its externalId exists (an update). */
function checkOperation(op: unknown, i: number, users: Map<string, ScimUser>): { bulkId: string; data: ScimUser } {
  const at = `Operations[${i}]`;
  if (!isObject(op)) throw new Refusal(400, 'invalidSyntax', `${at} is not an object`);
  if (op.method !== 'POST') throw new Refusal(400, 'invalidValue', `${at}.method must be POST`);
  if (op.path !== '/Users') throw new Refusal(400, 'invalidPath', `${at}.path must be /Users`);
  if (typeof op.bulkId !== 'string' || !op.bulkId) throw new Refusal(400, 'invalidValue', `${at}.bulkId is required`);
  const data = op.data;
  if (!isObject(data)) throw new Refusal(400, 'invalidSyntax', `${at}.data is not an object`);
  const schemas = data.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(CORE_USER)) throw new Refusal(400, 'invalidValue', `${at}.data.schemas must include ${CORE_USER}`);
  for (const key of Object.keys(data)) {
    if (key.startsWith('urn:') && !schemas.includes(key)) throw new Refusal(400, 'invalidValue', `${at}.data has ${key} but its schemas do not list it`);
  }
  if (typeof data.externalId !== 'string' || !data.externalId) throw new Refusal(400, 'invalidValue', `${at}.data.externalId is required`);
  if (!users.has(data.externalId) && (typeof data.userName !== 'string' || !data.userName)) throw new Refusal(400, 'invalidValue', `${at}.data.userName is required for a new user`);
  if ('userName' in data && typeof data.userName !== 'string') throw new Refusal(400, 'invalidValue', `${at}.data.userName must be a string`);
  if ('active' in data && typeof data.active !== 'boolean') throw new Refusal(400, 'invalidValue', `${at}.data.active must be a boolean`);
  if ('name' in data) {
    if (!isObject(data.name)) throw new Refusal(400, 'invalidValue', `${at}.data.name must be an object`);
    for (const [k, v] of Object.entries(data.name)) if (typeof v !== 'string') throw new Refusal(400, 'invalidValue', `${at}.data.name.${k} must be a string`);
  }
  if ('emails' in data && (!Array.isArray(data.emails) || data.emails.some((e) => !isObject(e) || typeof e.value !== 'string'))) {
    throw new Refusal(400, 'invalidValue', `${at}.data.emails must be a list of {value}`);
  }
  const ext = data[ENTERPRISE_USER];
  if (ext !== undefined) {
    if (!isObject(ext)) throw new Refusal(400, 'invalidValue', `${at}.data.${ENTERPRISE_USER} must be an object`);
    for (const k of ['employeeNumber', 'department']) if (k in ext && typeof ext[k] !== 'string') throw new Refusal(400, 'invalidValue', `${at}.data.${ENTERPRISE_USER}.${k} must be a string`);
    if ('manager' in ext && (!isObject(ext.manager) || typeof ext.manager.value !== 'string')) throw new Refusal(400, 'invalidValue', `${at}.data.${ENTERPRISE_USER}.manager must be {value}`);
  }
  return { bulkId: op.bulkId, data: data as ScimUser };
}

/** A user updated with what an operation carries: attributes it has replace the old ones; the extension is merged. */
function merged(old: ScimUser | undefined, data: ScimUser): ScimUser {
  if (!old) return { active: true, ...data };
  const ext = { ...((old[ENTERPRISE_USER] as object) ?? {}), ...((data[ENTERPRISE_USER] as object) ?? {}) };
  const schemas = [...new Set([...(old.schemas as string[]), ...(data.schemas as string[])])];
  return { ...old, ...data, schemas, ...(Object.keys(ext).length ? { [ENTERPRISE_USER]: ext } : {}) };
}

/** The stand-in, keeping its files in `dir` (e.g. .demo/trust-systems/identity), accepting `token`. */
export function scimStandIn(dir: string, token: string): ScimStandIn {
  let count = 0;
  const standIn: ScimStandIn = {
    path: '/identity/bulkUpload',
    token,
    requests: [],
    users: new Map(),
    refused: [],
    refusals: [],
    handle(req, body, res) {
      const reply = (status: number, json: unknown) => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/scim+json');
        res.end(JSON.stringify(json));
      };
      try {
        if (req.method !== 'POST') throw new Refusal(405, undefined, 'only POST');
        if (req.headers.authorization !== `Bearer ${token}`) throw new Refusal(401, undefined, 'a bearer token is required');
        if (!/^application\/scim\+json\b/.test(req.headers['content-type'] ?? '')) throw new Refusal(400, 'invalidSyntax', 'Content-Type must be application/scim+json');
        let request: unknown;
        try {
          request = JSON.parse(body.toString('utf8'));
        } catch {
          throw new Refusal(400, 'invalidSyntax', 'the body is not JSON');
        }
        if (!isObject(request) || !Array.isArray(request.schemas) || !request.schemas.includes(BULK_REQUEST)) throw new Refusal(400, 'invalidValue', `schemas must include ${BULK_REQUEST}`);
        const ops = request.Operations;
        if (!Array.isArray(ops) || ops.length === 0) throw new Refusal(400, 'invalidValue', 'Operations must be a list of at least one operation');
        if (ops.length > MAX_OPERATIONS) throw new Refusal(413, 'tooMany', `at most ${MAX_OPERATIONS} operations in one request`);
        const played = standIn.refusals.shift();
        if (played === 'unavailable') throw new Refusal(503, undefined, 'the service is unavailable (demo)');
        if (played === 'invalid') throw new Refusal(400, 'invalidValue', 'Operations[0].data.userName is refused (demo)');
        // Each operation is checked against the directory as the operations before it left it.
        const users = new Map(standIn.users);
        const checked = (played === 'partial' ? ops.slice(1) : ops).map((op, i) => {
          const one = checkOperation(op, i, users);
          users.set(one.data.externalId, merged(users.get(one.data.externalId), one.data));
          return one;
        });
        standIn.users = users;
        standIn.requests.push({ Operations: checked });
        fs.mkdirSync(path.join(dir, 'requests'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'requests', `received-${String(++count).padStart(3, '0')}.json`), JSON.stringify(request, null, 2));
        fs.writeFileSync(path.join(dir, 'users.json'), JSON.stringify([...users.values()], null, 2));
        if (played === 'partial') {
          standIn.refused.push({ status: 409, detail: 'Operations[0] is refused (demo)' });
          const answer = (op: unknown, status: string, more = {}) => ({ method: 'POST', bulkId: isObject(op) ? op.bulkId : undefined, status, ...more });
          return reply(200, {
            schemas: [BULK_RESPONSE],
            Operations: ops.map((op, i) => (i === 0 ? answer(op, '409', { response: { schemas: [ERROR], status: '409', scimType: 'uniqueness', detail: 'Operations[0] is refused (demo)' } }) : answer(op, '200'))),
          });
        }
        reply(202, { operations: checked.length });
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        standIn.refused.push({ status: err.status, detail: err.message });
        reply(err.status, { schemas: [ERROR], status: String(err.status), ...(err.scimType ? { scimType: err.scimType } : {}), detail: err.message });
      }
    },
  };
  return standIn;
}
