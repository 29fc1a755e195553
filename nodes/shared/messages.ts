/**
 * Runtime texts (status, errors, warnings) come from each node's message catalogue, locales/<lang>/<node>.json,
 * through Node-RED's RED._(), so that a translation replaces them. Where RED._() has no catalogue and returns the
 * key unchanged (node-red-node-test-helper does that), the text comes from the en-US file itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NodeAPI } from './node-red';

export type Params = Record<string, string | number>;
export type Messages = (key: string, params?: Params) => string;

// Node-RED's namespace for a node's catalogue is "<package name>/<node set name>".
const packageName = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { name: string }).name;
const english = new Map<string, unknown>();

function englishCatalogue(nodeType: string): unknown {
  if (!english.has(nodeType)) {
    const file = path.join(__dirname, '..', nodeType, 'locales', 'en-US', `${nodeType}.json`);
    english.set(nodeType, JSON.parse(fs.readFileSync(file, 'utf8')));
  }
  return english.get(nodeType);
}

const englishPlural = new Intl.PluralRules('en-US');

/**
 * The en-US text of `<nodeType>.<key>`, with `__name__` placeholders filled in; undefined when the key is missing.
 * A count is said as i18next says it: `<key>_one` / `<key>_other` by `params.count` (`_other` without a count).
 */
export function englishText(nodeType: string, key: string, params: Params = {}): string | undefined {
  const lookup = (k: string): unknown => {
    let at: unknown = englishCatalogue(nodeType);
    for (const part of [nodeType, ...k.split('.')]) at = (at as Record<string, unknown> | undefined)?.[part];
    return at;
  };
  let at = lookup(key);
  if (typeof at !== 'string') {
    const count = typeof params.count === 'number' ? params.count : undefined;
    at = (count !== undefined ? lookup(`${key}_${englishPlural.select(count)}`) : undefined) ?? lookup(`${key}_other`);
  }
  if (typeof at !== 'string') return undefined;
  return at.replace(/__(\w+)__/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/**
 * The texts of one node's catalogue: t('status.records', { count: 3 }) looks up "<nodeType>.status.records"
 * (or its plural forms, `status.records_one` / `status.records_other`, by the count: pass it as a number).
 */
export function messagesFor(RED: NodeAPI, nodeType: string): Messages {
  return (key, params) => {
    const full = `${nodeType}.${key}`;
    const text = RED._(`${packageName}/${nodeType}:${full}`, params);
    if (typeof text === 'string' && text !== full && !text.endsWith(`:${full}`)) return text;
    const fallback = englishText(nodeType, key, params);
    if (fallback === undefined) throw new Error(`no message ${full} in the ${nodeType} catalogue`);
    return fallback;
  };
}
