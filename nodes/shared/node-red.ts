/** The small part of Node-RED's runtime API these nodes use (Node-RED 4.1 and 5). */
import type { Readable } from 'node:stream';

export interface NodeMessage {
  _msgid?: string;
  payload?: unknown;
  topic?: string;
  [key: string]: unknown;
}

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface ContextStore {
  get(key: string, store: string | undefined, callback: (err: Error | null, value: unknown) => void): void;
  set(key: string, value: unknown, store: string | undefined, callback: (err: Error | null) => void): void;
}

export interface Node {
  id: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  on(event: 'input', listener: (msg: NodeMessage, send: (msg: NodeMessage | (NodeMessage | null)[]) => void, done: (err?: Error) => void) => void): void;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): void;
  send(msg: NodeMessage | (NodeMessage | null)[]): void;
  status(status: NodeStatus | Record<string, never>): void;
  error(err: unknown, msg?: NodeMessage): void;
  warn(message: unknown): void;
  log(message: unknown): void;
  context(): ContextStore & { flow: ContextStore; global: ContextStore };
}

export interface AdminRequest {
  params: Record<string, string>;
  body: Record<string, unknown>;
}
export interface AdminResponse {
  json(v: unknown): void;
  status(n: number): { json(v: unknown): void };
}
export type AdminHandler = (req: AdminRequest, res: AdminResponse, next: () => void) => void;

export interface NodeAPI {
  nodes: {
    createNode(node: Node, config: unknown): void;
    registerType(type: string, constructor: (this: Node, config: never) => void, options?: { credentials?: Record<string, { type: 'text' | 'password' }> }): void;
    getNode(id: string): Node | null;
    getCredentials(id: string): Record<string, string> | undefined;
  };
  util: {
    evaluateNodeProperty(value: string, type: string, node: Node, msg: NodeMessage, callback?: (err: Error | null, value: unknown) => void): unknown;
  };
  httpAdmin: {
    post(path: string, permission: AdminHandler, handler: AdminHandler): void;
    get(path: string, permission: AdminHandler, handler: AdminHandler): void;
  };
  auth: { needsPermission(permission: string): AdminHandler };
  settings: { userDir?: string; [key: string]: unknown };
  _(key: string, substitutions?: Record<string, unknown>): string;
}

/** Evaluates a TypedInput property (str, msg, flow, global, env, ...) as a promise. */
export function evaluate(RED: NodeAPI, node: Node, value: string, type: string, msg: NodeMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value, type, node, msg, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

export function isReadable(v: unknown): v is Readable {
  return typeof v === 'object' && v !== null && typeof (v as Readable).pipe === 'function' && typeof (v as Readable).on === 'function';
}
