/**
 * The audit log's read API on the public listener (TLS 1.3, no client certificate; docs/audit.md
 * "Read API", docs/api.md "Public listener"): latest checkpoint and verifier keys, entries by range,
 * inclusion and consistency proofs, receipts, and the static C2SP tlog-tiles layout under
 * /v1/audit/tlog/ (checkpoint, tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>]) so a CDN can serve it.
 *
 * Everything is read from the store, for the tree of the latest signed checkpoint, so every gateway
 * node answers the same. Query parameters are attacker-controlled: decimal integers without leading
 * zeros below 2^53, leaf hashes as 64 hex digits or 44 base64 characters, unknown or repeated
 * parameters refused (REQUEST_INVALID). Hashes in JSON are standard base64, as in checkpoints.
 */

import { latestSignedCheckpoint } from '../audit/internal/signed-checkpoint.ts';
import { listCheckpoints, MAX_CHECKPOINTS_PER_PAGE } from '../audit/read/checkpoints.ts';
import { proveConsistency } from '../audit/read/consistency-proof.ts';
import { readEntries } from '../audit/read/entries.ts';
import { proveInclusion } from '../audit/read/inclusion-proof.ts';
import { readReceipt } from '../audit/read/receipt.ts';
import { TileCache } from '../audit/read/tile-cache.ts';
import { parseTilePath, readTile } from '../audit/read/tiles.ts';
import type { AuditConfig } from '../config/config.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { AnyFastify } from '../http/common.ts';
import type { Queryable } from '../store/store.ts';

export interface AuditRoutesOptions {
  store: Queryable;
  origin: string;
  /** Verifier keys, Ed25519 first then ML-DSA-65. */
  vkeys: readonly string[];
  config: Pick<AuditConfig, 'maxEntriesPerPage' | 'checkpointIntervalMs'>;
}

const TEXT = 'text/plain; charset=utf-8';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT = 'public, max-age=1';
const DECIMAL_RE = /^(?:0|[1-9][0-9]{0,15})$/;

type Query = Record<string, unknown>;

function query(raw: unknown, allowed: readonly string[]): Record<string, string> {
  const q = (raw ?? {}) as Query;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(q)) {
    if (!allowed.includes(key))
      throw new GatewayError('REQUEST_INVALID', `unknown parameter ${key.slice(0, 32)}`);
    if (typeof value !== 'string') throw new GatewayError('REQUEST_INVALID', `parameter ${key} given twice`);
    out[key] = value;
  }
  return out;
}

function decimal(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!DECIMAL_RE.test(value) || !Number.isSafeInteger(n)) {
    throw new GatewayError('REQUEST_INVALID', `${name} must be a decimal integer below 2^53`);
  }
  return n;
}

function hashParam(value: string): Uint8Array {
  if (/^[0-9a-f]{64}$/.test(value)) return new Uint8Array(Buffer.from(value, 'hex'));
  const bytes = Buffer.from(value, 'base64');
  if (value.length === 44 && bytes.byteLength === 32 && bytes.toString('base64') === value) {
    return new Uint8Array(bytes);
  }
  throw new GatewayError(
    'REQUEST_INVALID',
    'leafHash must be 64 lower-case hex digits or 44 base64 characters',
  );
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

export function registerAuditRoutes(app: AnyFastify, opts: AuditRoutesOptions): void {
  const { store } = opts;
  const cache = new TileCache();
  const retryAfterSeconds = Math.max(1, Math.ceil(opts.config.checkpointIntervalMs / 1000));
  const vkeys = `${opts.vkeys.join('\n')}\n`;

  // tlog-tiles: the checkpoint "is mutable, so its headers SHOULD prevent caching beyond a few seconds".
  for (const path of ['/v1/audit/checkpoint', '/v1/audit/tlog/checkpoint']) {
    app.get(path, async (_request, reply) => {
      const latest = await latestSignedCheckpoint(store);
      return reply.header('cache-control', SHORT).type(TEXT).send(latest.note);
    });
  }

  app.get('/v1/audit/vkey', async (_request, reply) => reply.type(TEXT).send(vkeys));

  // Every stored checkpoint by size, for `fleetgate audit verify --from URL` (docs/audit.md).
  app.get('/v1/audit/checkpoints', async (request) => {
    const q = query(request.query, ['from', 'limit']);
    const from = decimal(q.from, 'from') ?? 0;
    const limit = decimal(q.limit, 'limit') ?? MAX_CHECKPOINTS_PER_PAGE;
    return listCheckpoints(store, from, limit);
  });

  app.get('/v1/audit/entries', async (request, reply) => {
    const q = query(request.query, ['start', 'end']);
    const start = decimal(q.start, 'start') ?? 0;
    const end = decimal(q.end, 'end');
    const page = await readEntries(
      store,
      end === undefined ? { start } : { start, end },
      opts.config.maxEntriesPerPage,
    );
    reply.header('x-audit-start', String(page.start));
    reply.header('x-audit-end', String(page.end));
    reply.header('x-audit-tree-size', String(page.treeSize));
    if (end !== undefined) reply.header('cache-control', IMMUTABLE);
    return reply.type('application/x-ndjson; charset=utf-8').send(page.entries.map((e) => `${e}\n`).join(''));
  });

  app.get('/v1/audit/proof/inclusion', async (request) => {
    const q = query(request.query, ['index', 'leafHash', 'size']);
    const size = decimal(q.size, 'size');
    const index = decimal(q.index, 'index');
    if ((index === undefined) === (q.leafHash === undefined)) {
      throw new GatewayError('REQUEST_INVALID', 'give exactly one of index and leafHash');
    }
    const target = index !== undefined ? { index } : { leafHash: hashParam(q.leafHash as string) };
    const proof = await proveInclusion(store, cache, size === undefined ? target : { ...target, size });
    return {
      origin: opts.origin,
      index: proof.index,
      treeSize: proof.treeSize,
      leafHash: b64(proof.leafHash),
      proof: proof.proof.map(b64),
      rootHash: b64(proof.rootHash),
      ...(proof.checkpoint === undefined ? {} : { checkpoint: proof.checkpoint }),
    };
  });

  app.get('/v1/audit/proof/consistency', async (request) => {
    const q = query(request.query, ['size1', 'size2']);
    const size1 = decimal(q.size1, 'size1');
    const size2 = decimal(q.size2, 'size2');
    if (size1 === undefined) throw new GatewayError('REQUEST_INVALID', 'size1 is required');
    const proof = await proveConsistency(store, cache, size2 === undefined ? { size1 } : { size1, size2 });
    return {
      origin: opts.origin,
      size1: proof.size1,
      size2: proof.size2,
      proof: proof.proof.map(b64),
      root1: b64(proof.root1),
      root2: b64(proof.root2),
      ...(proof.checkpoint1 === undefined ? {} : { checkpoint1: proof.checkpoint1 }),
      ...(proof.checkpoint2 === undefined ? {} : { checkpoint2: proof.checkpoint2 }),
    };
  });

  app.get('/v1/audit/receipt/:index', async (request) => {
    query(request.query, []);
    const index = decimal((request.params as { index?: string }).index, 'index') as number;
    const receipt = await readReceipt(store, cache, opts.origin, index, retryAfterSeconds);
    return {
      origin: receipt.origin,
      index: receipt.index,
      treeSize: receipt.treeSize,
      entry: receipt.entry,
      leafHash: b64(receipt.leafHash),
      proof: receipt.proof.map(b64),
      checkpoint: receipt.checkpoint,
    };
  });

  app.get('/v1/audit/tlog/tile/*', async (request, reply) => {
    const path = parseTilePath((request.params as { '*'?: string })['*'] ?? '');
    const bytes = await readTile(store, cache, path);
    reply.header('cache-control', IMMUTABLE);
    return reply.type('application/octet-stream').send(Buffer.from(bytes));
  });
}
