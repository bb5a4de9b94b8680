/**
 * The gateway's side of C2SP tlog-witness (docs/audit.md "Witness"): after each published checkpoint,
 * ask every configured witness to cosign it, and keep the verified cosignatures so the read API serves
 * cosigned checkpoints (internal/signed-checkpoint.ts appends them).
 *
 * Per witness, one worker (never two requests to one witness at once from this node):
 *  1. the latest signed checkpoint, from the store (whichever node signed it); nothing to do if this
 *     witness's cosignature of that size is already stored;
 *  2. old size = the witness's size from audit_witness_state (0 at first contact); the consistency
 *     proof from it, through the read API's prover (verified against both signed roots before use);
 *  3. POST <url>/add-checkpoint; on 200 the cosignature lines are verified with the configured witness
 *     vkey over the exact checkpoint body BEFORE anything is stored (a line of the witness's key that
 *     does not verify, or a timestamp more than 10 minutes ahead, refuses the whole answer); on 409 the
 *     witness's size (text/x.tlog.size) replaces ours and the request is rebuilt (at most 3 times) — a
 *     409 at our own size means it holds another root: a fork, logged as an error;
 *  4. any failure: a log line with its reason and a metric, and a retry with exponential backoff
 *     (0.5 s doubling to 30 s); a new checkpoint does not cut the backoff short. The two failures that
 *     are security events — a fork reported, a cosignature that does not verify — are also audited
 *     (`audit.witness.fork-reported`, `audit.witness.cosignature-invalid`), at most once per witness and
 *     class per AUDIT_INTERVAL_MS with the count since the last entry: each entry makes a new checkpoint,
 *     which asks the witness again, so without the limit a persistent fork would fill the log.
 * It runs beside the publisher, never inside it: the sequencer and the publisher never wait for a
 * witness, and a checkpoint is served as soon as it is signed; cosignatures appear when they arrive.
 * Several gateway nodes may each submit; the witness's 409s and the table's primary keys make that
 * harmless (docs/audit.md "Witness" says why a single submitter is not needed).
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent, request } from 'node:https';
import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { AuditWitnessConfig } from '../../config/config.ts';
import type { GatewayEvents } from '../../events.ts';
import { outboundTlsOptions } from '../../http/outbound-tls.ts';
import type { Store } from '../../store/store.ts';
import { toSafeNumber } from '../../store/store.ts';
import type { AuditClass } from '../event.ts';
import type { AuditLog } from '../log.ts';
import { proveConsistency } from '../read/consistency-proof.ts';
import { TileCache } from '../read/tile-cache.ts';
import { formatAddCheckpointBody } from './add-checkpoint-body.ts';
import { parseWitnessVkey, verifyCosignatures, type WitnessVerifierKey } from './cosignature.ts';

export interface WitnessClientOptions {
  store: Store;
  /** Where fork reports and invalid cosignatures are recorded (security events). */
  audit: Pick<AuditLog, 'append'>;
  witnesses: readonly AuditWitnessConfig[];
  dataDir: string;
  events: GatewayEvents;
  registry: Registry;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => Date;
  requestTimeoutMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

export interface WitnessClient {
  /** Asks every witness to catch up with the latest checkpoint (also done on 'audit.checkpoint'). */
  kick(): void;
  /** Stops the workers; a request in flight is abandoned (its cosignature, if any, is not stored). */
  close(): Promise<void>;
}

type Reason =
  | 'unreachable'
  | 'refused'
  | 'fork'
  | 'bad_cosignature'
  | 'witness_ahead'
  | 'resync_limit'
  | 'internal';

const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_FUTURE_SECONDS = 600;
const MAX_RESYNCS = 3;
/** At most one audit entry per witness and class in this period. */
export const AUDIT_INTERVAL_MS = 60_000;

const AUDITED: Partial<Record<Reason, AuditClass>> = {
  fork: 'audit.witness.fork-reported',
  bad_cosignature: 'audit.witness.cosignature-invalid',
};

export function startWitnessClient(options: WitnessClientOptions): WitnessClient {
  const counter = new Counter({
    name: 'fleetgate_audit_witness_cosignatures_total',
    help: 'Witness cosignature requests, by witness and result (obtained, failed) and failure reason',
    labelNames: ['witness', 'result', 'reason'] as const,
    registers: [options.registry],
  });
  const cache = new TileCache(256);
  const workers = options.witnesses.map((w) => new Worker(w, options, cache, counter));
  const onCheckpoint = (): void => {
    for (const w of workers) w.kick();
  };
  options.events.on('audit.checkpoint', onCheckpoint);
  return {
    kick: onCheckpoint,
    close: async () => {
      options.events.off('audit.checkpoint', onCheckpoint);
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

class WitnessFailure extends Error {
  readonly reason: Reason;
  constructor(reason: Reason, message: string) {
    super(message);
    this.reason = reason;
  }
}

class Worker {
  readonly #config: AuditWitnessConfig;
  readonly #opts: WitnessClientOptions;
  readonly #cache: TileCache;
  readonly #counter: Counter<'witness' | 'result' | 'reason'>;
  readonly #vkey: WitnessVerifierKey;
  readonly #ca: string | undefined;
  readonly #agent: Agent | HttpAgent;
  #running: Promise<void> | undefined;
  #pending = false;
  #timer: NodeJS.Timeout | undefined;
  #delay = 0;
  #closed = false;
  #abort = new AbortController();
  /** Per audited class: when the last entry was written, and occurrences not yet in an entry. */
  readonly #audited = new Map<AuditClass, { lastMs: number; pending: number }>();

  constructor(
    config: AuditWitnessConfig,
    opts: WitnessClientOptions,
    cache: TileCache,
    counter: Counter<'witness' | 'result' | 'reason'>,
  ) {
    this.#config = config;
    this.#opts = opts;
    this.#cache = cache;
    this.#counter = counter;
    this.#vkey = parseWitnessVkey(config.vkey);
    const caFile = config.caFile;
    this.#ca =
      caFile === undefined
        ? undefined
        : readFileSync(isAbsolute(caFile) ? caFile : join(opts.dataDir, caFile), 'utf8');
    this.#agent = config.url.startsWith('https:')
      ? new Agent({ keepAlive: true, maxSockets: 1, ...outboundTlsOptions('TLSv1.3') })
      : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  }

  kick(): void {
    if (this.#closed || this.#timer !== undefined) return; // in backoff: the timer will run
    if (this.#running !== undefined) {
      this.#pending = true;
      return;
    }
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      if (this.#pending && this.#timer === undefined) {
        this.#pending = false;
        this.kick();
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#running;
    this.#agent.destroy();
  }

  async #run(): Promise<void> {
    const name = this.#config.name;
    try {
      let resyncs = 0;
      for (;;) {
        if (this.#closed) return;
        const outcome = await this.#submitOnce();
        if (outcome === 'done') break;
        if (outcome === 'cosigned') continue; // a newer checkpoint may be waiting
        resyncs += 1;
        if (resyncs > MAX_RESYNCS)
          throw new WitnessFailure('resync_limit', 'the witness size keeps changing');
      }
      this.#delay = 0;
    } catch (error) {
      if (this.#closed) return;
      const reason = error instanceof WitnessFailure ? error.reason : 'internal';
      this.#counter.inc({ witness: name, result: 'failed', reason });
      const log = reason === 'fork' || reason === 'bad_cosignature' ? 'error' : 'warn';
      this.#opts.logger[log](
        { witness: name, reason, detail: (error as Error).message },
        'witness cosignature not obtained',
      );
      await this.#audit(reason, (error as Error).message);
      const min = this.#opts.backoffMinMs ?? 500;
      this.#delay = Math.min(this.#opts.backoffMaxMs ?? 30_000, this.#delay === 0 ? min : this.#delay * 2);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.kick();
      }, this.#delay);
      this.#timer.unref();
    }
  }

  /** One add-checkpoint exchange: 'done' (nothing to do), 'cosigned', or 'resync' (409 with a new size). */
  async #submitOnce(): Promise<'done' | 'cosigned' | 'resync'> {
    const { store } = this.#opts;
    const name = this.#config.name;
    const [cp] = await store.query<{ tree_size: string; note: string; has: boolean }>(
      `SELECT c.tree_size, c.note,
              EXISTS (SELECT 1 FROM audit_cosignatures w WHERE w.tree_size = c.tree_size AND w.witness = $1) AS has
       FROM audit_checkpoints c ORDER BY c.tree_size DESC LIMIT 1`,
      [name],
    );
    if (cp === undefined || cp.has) return 'done';
    const size = toSafeNumber(cp.tree_size);
    const [st] = await store.query<{ tree_size: string }>(
      'SELECT tree_size FROM audit_witness_state WHERE witness = $1',
      [name],
    );
    const oldSize = st === undefined ? 0 : toSafeNumber(st.tree_size);
    if (oldSize > size) {
      throw new WitnessFailure('witness_ahead', `the witness holds size ${oldSize}, our log ${size}`);
    }
    const proof =
      oldSize === 0 || oldSize === size
        ? []
        : (await proveConsistency(store, this.#cache, { size1: oldSize, size2: size })).proof;
    const body = formatAddCheckpointBody(oldSize, proof, cp.note);
    const res = await this.#post(body);

    if (res.status === 409 && /^text\/x\.tlog\.size\b/.test(res.contentType)) {
      const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(res.body);
      const theirs = m === null ? Number.NaN : Number(m[1]);
      if (!Number.isSafeInteger(theirs)) throw new WitnessFailure('refused', 'malformed 409 body');
      if (theirs === oldSize) {
        throw new WitnessFailure('fork', `the witness holds another tree of size ${theirs}: a fork`);
      }
      await this.#saveSize(theirs);
      this.#opts.logger.info({ witness: name, from: oldSize, to: theirs }, 'witness size resynchronised');
      return 'resync';
    }
    if (res.status !== 200) {
      throw new WitnessFailure(
        'refused',
        `add-checkpoint answered ${res.status} ${res.body.slice(0, 64).trim()}`,
      );
    }
    const split = cp.note.lastIndexOf('\n\n');
    const text = cp.note.slice(0, split + 1);
    const lines = res.body.split('\n').filter((l) => l !== '');
    const verified = verifyCosignatures(text, lines, this.#vkey);
    if (!verified.ok) throw new WitnessFailure('bad_cosignature', `cosignature ${verified.reason}`);
    const cosig = verified.cosignatures[0];
    const nowSeconds = BigInt(Math.floor((this.#opts.now?.() ?? new Date()).getTime() / 1000));
    if (cosig === undefined || cosig.timestamp > nowSeconds + BigInt(MAX_FUTURE_SECONDS)) {
      throw new WitnessFailure('bad_cosignature', 'cosignature timestamp is in the future');
    }
    await store.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO audit_cosignatures (tree_size, witness, signature_line, cosigned_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size, witness) DO NOTHING`,
        [String(size), name, cosig.line, new Date(Number(cosig.timestamp) * 1000)],
      );
      await tx.query(
        `INSERT INTO audit_witness_state (witness, tree_size, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (witness) DO UPDATE SET tree_size = excluded.tree_size, updated_at = now()`,
        [name, String(size)],
      );
    });
    this.#counter.inc({ witness: name, result: 'obtained', reason: 'ok' });
    return 'cosigned';
  }

  /** Audits a security-relevant failure, rate-limited (the module comment). Never throws. */
  async #audit(reason: Reason, detail: string): Promise<void> {
    const cls = AUDITED[reason];
    if (cls === undefined) return;
    const nowMs = (this.#opts.now?.() ?? new Date()).getTime();
    const state = this.#audited.get(cls) ?? { lastMs: Number.NEGATIVE_INFINITY, pending: 0 };
    state.pending += 1;
    this.#audited.set(cls, state);
    if (nowMs - state.lastMs < AUDIT_INTERVAL_MS) return;
    const occurrences = state.pending;
    state.lastMs = nowMs;
    state.pending = 0;
    try {
      await this.#opts.audit.append({
        class: cls,
        actor: { kind: 'system', id: 'witness-client' },
        subject: { kind: 'witness', id: this.#config.name },
        outcome: reason === 'fork' ? 'recorded' : 'rejected',
        reasons: [reason === 'fork' ? 'WITNESS_FORK_REPORTED' : 'WITNESS_COSIGNATURE_INVALID'],
        details: { witness: this.#config.name, detail, occurrences },
      });
    } catch (error) {
      // The log refusing (full, shutting down) must not stop the worker; the next failure tries again.
      state.lastMs = Number.NEGATIVE_INFINITY;
      state.pending += occurrences;
      this.#opts.logger.error(
        { witness: this.#config.name, reason, detail: (error as Error).message },
        'witness failure not audited',
      );
    }
  }

  async #saveSize(size: number): Promise<void> {
    await this.#opts.store.query(
      `INSERT INTO audit_witness_state (witness, tree_size, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (witness) DO UPDATE SET tree_size = excluded.tree_size, updated_at = now()`,
      [this.#config.name, String(size)],
    );
  }

  #post(body: string): Promise<{ status: number; contentType: string; body: string }> {
    const url = new URL(`${this.#config.url.replace(/\/+$/, '')}/add-checkpoint`);
    const send = url.protocol === 'https:' ? request : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: 'POST',
          agent: this.#agent,
          headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) },
          timeout: this.#opts.requestTimeoutMs ?? 10_000,
          signal: this.#abort.signal,
          ...(this.#ca === undefined ? {} : { ca: this.#ca }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let length = 0;
          res.on('data', (c: Buffer) => {
            length += c.byteLength;
            if (length > MAX_RESPONSE_BYTES) {
              res.destroy();
              reject(new WitnessFailure('refused', 'witness response too large'));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', (e) => reject(new WitnessFailure('unreachable', e.message)));
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', (e) => reject(new WitnessFailure('unreachable', e.message)));
      req.end(body);
    });
  }
}
