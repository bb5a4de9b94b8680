/**
 * A defensive JSON body parser for fastify. Before JSON.parse ever runs it refuses invalid UTF-8, a
 * byte-order mark, and nesting deeper than MAX_DEPTH (V8 parses 100,000 levels, and any later recursive
 * walk then overflows the stack). After parsing it refuses `__proto__`, `constructor` and `prototype`
 * keys anywhere (prototype pollution). Size is bounded by fastify's bodyLimit before this runs.
 */
import { GatewayError } from '../errors/gateway-error.ts';

export const MAX_JSON_DEPTH = 32;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function parseJsonBody(body: Buffer): unknown {
  if (body.byteLength >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) {
    throw new GatewayError('REQUEST_MALFORMED_JSON', 'byte-order mark is not allowed');
  }
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    throw new GatewayError('REQUEST_MALFORMED_JSON', 'body is not valid UTF-8');
  }
  checkDepth(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayError('REQUEST_MALFORMED_JSON');
  }
  checkKeys(value, 0);
  return value;
}

function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > MAX_JSON_DEPTH)
        throw new GatewayError('REQUEST_JSON_TOO_DEEP', `more than ${MAX_JSON_DEPTH} levels`);
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
}

function checkKeys(value: unknown, depth: number): void {
  if (typeof value !== 'object' || value === null || depth > MAX_JSON_DEPTH) return;
  if (Array.isArray(value)) {
    for (const item of value) checkKeys(item, depth + 1);
    return;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key))
      throw new GatewayError('REQUEST_FORBIDDEN_KEY', `key "${key}" is not allowed`);
    checkKeys((value as Record<string, unknown>)[key], depth + 1);
  }
}
