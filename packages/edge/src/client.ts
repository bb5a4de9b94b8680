/**
 * EdgeClient: the vehicle side of telemetry. Records go into a BatchBuilder; flush() takes a
 * batch, encodes it, takes the next durable counter value, signs, and sends it, retrying what is
 * worth retrying.
 *
 * Retry policy (threats: a thundering herd of a whole fleet reconnecting in lock-step after a
 * gateway restart, and a client that hammers a gateway that is shedding load):
 *   - retried: network errors and timeouts, 429 and 5xx — with exponential backoff and full
 *     jitter (delay = random × min(maxDelay, base × 2^(attempt−1))), at least the server's
 *     Retry-After (capped at maxDelay), for at most maxAttempts attempts in all;
 *   - never retried: other 4xx (and 3xx) — the gateway refused this envelope, and sending the same
 *     bytes again would be refused again (or be a replay); they are returned as a refusal with the
 *     problem details; TLS failures (the same certificate would fail again).
 * A retry re-sends the identical signed bytes with the same counter: if an earlier attempt did
 * reach the gateway, its replay window refuses the duplicate instead of accepting it twice — and since
 * a counter is never reused (DurableCounter), TELEMETRY_REPLAYED for a re-sent envelope means "already
 * accepted": it counts as accepted (`duplicate: true`), not as a refusal.
 *
 * Offline spool (spool.ts, optional): an envelope whose sending failed is appended to the spool instead
 * of being given up (outcome `spooled`), and while the spool holds anything every new envelope goes
 * behind it, so the gateway receives envelopes in counter order. Each flush first tries to drain the
 * spool, oldest first, one attempt per envelope, stopping at the first failure; drain() does the same
 * on demand (e.g. when the link comes back). A full spool refuses the new envelope (EDGE_SPOOL_FULL,
 * outcome `failed`, counted in `dropped`): the oldest evidence is kept.
 *
 * Transports: anything with send() → SendResult — HttpsTransport, MqttTransport (transport/).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import {
  encodeBatch,
  TELEMETRY_PAYLOAD_TYPE,
  type TelemetryRecordSchema,
} from '@fleetgate/protocol/telemetry';
import { BatchBuilder, type BatchBuilderOptions } from './batch.ts';
import type { DurableCounter } from './counter.ts';
import { EdgeError, type EdgeErrorCode } from './errors.ts';
import { signEnvelope } from './signer.ts';
import type { EnvelopeSpool } from './spool.ts';
import type { Problem, SendResult } from './transport/https.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. Default 5. */
  maxAttempts: number;
  /** Backoff before the second attempt, before jitter. Default 250 ms. */
  baseDelayMs: number;
  /** Ceiling of any one delay, Retry-After included. Default 30,000 ms. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 30_000,
});

/** What EdgeClient sends through: HttpsTransport or MqttTransport. */
export interface EnvelopeTransport {
  send(envelope: Uint8Array): Promise<SendResult>;
  close?(): void | Promise<void>;
}

export interface EdgeClientOptions {
  vehicleId: string;
  loadId?: string;
  /** Ed25519 private key of the vehicle, created once and reused. */
  privateKey: KeyObject;
  /** keyIdOf(publicKey). */
  keyId: string;
  /** Envelope counter: a DurableCounter, so values survive restarts. */
  counter: Pick<DurableCounter, 'next'>;
  /** Anything that sends an encoded envelope: an HttpsTransport or an MqttTransport. */
  transport: EnvelopeTransport;
  /** Where envelopes wait while the gateway is unreachable; without one, a failed send is given up. */
  spool?: Pick<EnvelopeSpool, 'append' | 'peek' | 'shift' | 'length'>;
  batch?: Pick<BatchBuilderOptions, 'maxRecords' | 'maxAgeMs' | 'maxPending' | 'takeSequence'>;
  retry?: Partial<RetryPolicy>;
  /** Injectable for tests. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests: uniform in [0, 1). Default Math.random (jitter needs no cryptographic quality). */
  random?: () => number;
}

export interface EdgeStats {
  /** Envelopes handed to the transport (retries not counted). */
  sent: number;
  /** Envelopes the gateway accepted (2xx). */
  accepted: number;
  /** Envelopes the gateway refused (4xx other than 429, 3xx). */
  refused: number;
  /** Attempts beyond the first. */
  retried: number;
  /** Envelopes given up on: retries exhausted, or a TLS failure, with no spool to keep them. */
  failed: number;
}

export interface SpoolStats {
  /** Envelopes put in the spool. */
  spooled: number;
  /** Envelopes the spool refused (full, or not writable): lost, their counters a gap at the gateway. */
  dropped: number;
  /** Envelopes waiting in the spool now. */
  waiting: number;
}

interface Sent {
  counter: bigint;
  records: number;
  attempts: number;
}

export type FlushResult =
  | { outcome: 'empty' }
  | ({ outcome: 'accepted'; status: number; duplicate?: true } & Sent)
  | ({ outcome: 'spooled'; error: EdgeError } & Sent)
  | ({ outcome: 'refused'; status: number; problem?: Problem } & Sent)
  | ({ outcome: 'failed'; error: EdgeError; lastStatus?: number; envelope: Uint8Array } & Sent);

export interface DrainResult {
  /** Spooled envelopes the gateway accepted (or had already accepted). */
  delivered: number;
  /** Spooled envelopes the gateway refused: removed from the spool, with why. */
  refused: Array<{ counter: bigint; status: number; code?: string }>;
  /** Envelopes still spooled. */
  remaining: number;
  /** Why draining stopped early, if it did. */
  stoppedBy?: EdgeError;
}

const RETRYABLE_ERRORS: ReadonlySet<EdgeErrorCode> = new Set(['EDGE_NETWORK', 'EDGE_TIMEOUT']);

export class EdgeClient {
  readonly #builder: BatchBuilder;
  readonly #privateKey: KeyObject;
  readonly #keyId: string;
  readonly #counter: Pick<DurableCounter, 'next'>;
  readonly #transport: EdgeClientOptions['transport'];
  readonly #retry: RetryPolicy;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #spool: EdgeClientOptions['spool'];
  readonly #stats: EdgeStats = { sent: 0, accepted: 0, refused: 0, retried: 0, failed: 0 };
  readonly #spoolStats = { spooled: 0, dropped: 0 };
  #draining: Promise<DrainResult> | undefined;

  constructor(options: EdgeClientOptions) {
    this.#builder = new BatchBuilder({
      vehicleId: options.vehicleId,
      ...(options.loadId === undefined ? {} : { loadId: options.loadId }),
      ...options.batch,
    });
    if (
      options.privateKey.type !== 'private' ||
      options.privateKey.asymmetricKeyType !== 'ed25519' ||
      keyIdOf(createPublicKey(options.privateKey)) !== options.keyId
    ) {
      // Checked here, not at the first flush, so a misconfigured key never costs a batch.
      throw new EdgeError('EDGE_INVALID_KEY', 'privateKey must be an Ed25519 private key matching keyId');
    }
    this.#privateKey = options.privateKey;
    this.#keyId = options.keyId;
    this.#counter = options.counter;
    this.#transport = options.transport;
    this.#spool = options.spool;
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.#retry;
    if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || !(baseDelayMs >= 0) || !(maxDelayMs >= 0)) {
      throw new EdgeError('EDGE_INVALID_ARGUMENT', 'invalid retry policy');
    }
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
  }

  /**
   * Queues a record (`now` defaults to the clock). Throws ProtocolError for a record the gateway
   * would refuse, EdgeError EDGE_BUFFER_FULL when too many are waiting.
   */
  record(record: MessageInitShape<typeof TelemetryRecordSchema>, now: number = Date.now()): void {
    this.#builder.add(record, now);
  }

  /** True when a batch should be flushed now (full, or its oldest record is maxAgeMs old). */
  due(now: number = Date.now()): boolean {
    return this.#builder.due(now);
  }

  /** Records waiting to be sent. */
  get pending(): number {
    return this.#builder.pending;
  }

  /** A snapshot of this client's counts. */
  get stats(): Readonly<EdgeStats> {
    return { ...this.#stats };
  }

  /**
   * Sends the oldest pending records (up to one batch) now, due or not. Gateway answers and
   * network failures are results, not exceptions; it rejects only if the counter cannot advance
   * (EDGE_COUNTER_*), and then the records stay queued.
   */
  async flush(now: number = Date.now()): Promise<FlushResult> {
    if (this.#builder.pending === 0) return { outcome: 'empty' };
    // The counter first: if its file cannot be written, the records stay queued.
    const counter = this.#counter.next();
    const batch = this.#builder.take(now);
    if (batch === undefined) return { outcome: 'empty' };
    const envelope = signEnvelope({
      payload: encodeBatch(batch),
      payloadType: TELEMETRY_PAYLOAD_TYPE,
      counter,
      privateKey: this.#privateKey,
      keyId: this.#keyId,
    });
    this.#stats.sent++;
    const sent = { counter, records: batch.records.length };
    if (this.#spool !== undefined && this.#spool.length > 0) {
      // Behind what is spooled, so the gateway sees counters in order; try to drain it first.
      let stoppedBy: EdgeError | undefined;
      try {
        stoppedBy = (await this.drain()).stoppedBy;
      } catch (error) {
        if (!(error instanceof EdgeError)) throw error;
        // A damaged or unwritable spool: send this one directly rather than lose it too.
        return this.#settle(await this.#deliver(envelope, sent, this.#retry.maxAttempts, false));
      }
      if (this.#spool.length > 0) {
        return this.#toSpool(
          envelope,
          sent,
          0,
          stoppedBy ?? new EdgeError('EDGE_NETWORK', 'spool not drained'),
        );
      }
    }
    const result = await this.#deliver(envelope, sent, this.#retry.maxAttempts, false);
    if (result.outcome === 'failed' && this.#spool !== undefined) {
      return this.#toSpool(envelope, sent, result.attempts, result.error);
    }
    return this.#settle(result);
  }

  /**
   * Sends spooled envelopes, oldest first, until the spool is empty or one cannot be delivered (then
   * it stays first). Each gets `maxAttempts` attempts (default 1: a quick probe of the link). An
   * envelope the gateway refuses is removed and reported; TELEMETRY_REPLAYED counts as delivered (it
   * was accepted before, e.g. just before a crash). Rejects with EDGE_SPOOL_* if the spool cannot be
   * read or advanced. Concurrent calls share one drain.
   */
  drain(options: { maxAttempts?: number } = {}): Promise<DrainResult> {
    if (this.#draining !== undefined) return this.#draining;
    this.#draining = this.#drain(options.maxAttempts ?? 1).finally(() => {
      this.#draining = undefined;
    });
    return this.#draining;
  }

  /** The spool's counts (all 0 without a spool). */
  get spoolStats(): Readonly<SpoolStats> {
    return { ...this.#spoolStats, waiting: this.#spool?.length ?? 0 };
  }

  async #drain(maxAttempts: number): Promise<DrainResult> {
    const result: DrainResult = { delivered: 0, refused: [], remaining: this.#spool?.length ?? 0 };
    const spool = this.#spool;
    if (spool === undefined) return result;
    for (let item = spool.peek(); item !== undefined; item = spool.peek()) {
      const sent = { counter: item.counter, records: item.records };
      const outcome = await this.#deliver(item.envelope, sent, maxAttempts, true);
      if (outcome.outcome === 'failed') {
        result.stoppedBy = outcome.error;
        break;
      }
      spool.shift();
      if (outcome.outcome === 'accepted') {
        this.#stats.accepted++;
        result.delivered++;
      } else if (outcome.outcome === 'refused') {
        this.#stats.refused++;
        const refusal: DrainResult['refused'][number] = { counter: item.counter, status: outcome.status };
        if (outcome.problem?.code !== undefined) refusal.code = outcome.problem.code;
        result.refused.push(refusal);
      }
    }
    result.remaining = spool.length;
    return result;
  }

  #toSpool(
    envelope: Uint8Array,
    sent: Omit<Sent, 'attempts'>,
    attempts: number,
    why: EdgeError,
  ): FlushResult {
    try {
      this.#spool?.append({ envelope, counter: sent.counter, records: sent.records });
    } catch (error) {
      if (!(error instanceof EdgeError)) throw error;
      this.#spoolStats.dropped++;
      this.#stats.failed++;
      return { outcome: 'failed', error, envelope, ...sent, attempts };
    }
    this.#spoolStats.spooled++;
    return { outcome: 'spooled', error: why, ...sent, attempts };
  }

  /** Counts a final outcome of a fresh envelope. */
  #settle(result: FlushResult): FlushResult {
    if (result.outcome === 'accepted') this.#stats.accepted++;
    else if (result.outcome === 'refused') this.#stats.refused++;
    else if (result.outcome === 'failed') this.#stats.failed++;
    return result;
  }

  /** Sends one envelope with up to `maxAttempts` attempts; counts retries, not outcomes. */
  async #deliver(
    envelope: Uint8Array,
    sent: Omit<Sent, 'attempts'>,
    maxAttempts: number,
    resent: boolean,
  ): Promise<FlushResult> {
    for (let attempt = 1; ; attempt++) {
      let last: EdgeError | number;
      let retryAfterSeconds: number | undefined;
      try {
        const answer = await this.#transport.send(envelope);
        const { status } = answer;
        if (status >= 200 && status < 300) {
          return { outcome: 'accepted', status, ...sent, attempts: attempt };
        }
        if (status === 409 && answer.problem?.code === 'TELEMETRY_REPLAYED' && (resent || attempt > 1)) {
          // This very envelope (its counter is never reused) was accepted by an earlier attempt.
          return { outcome: 'accepted', status, duplicate: true, ...sent, attempts: attempt };
        }
        if (status !== 429 && status < 500) {
          const refused: FlushResult = { outcome: 'refused', status, ...sent, attempts: attempt };
          if (answer.problem !== undefined) refused.problem = answer.problem;
          return refused;
        }
        last = status;
        retryAfterSeconds = answer.retryAfterSeconds;
      } catch (error) {
        if (!(error instanceof EdgeError)) throw error;
        if (!RETRYABLE_ERRORS.has(error.code)) {
          return { outcome: 'failed', error, envelope, ...sent, attempts: attempt };
        }
        last = error;
      }
      if (attempt >= maxAttempts) {
        const error =
          typeof last === 'number'
            ? new EdgeError(
                'EDGE_RETRIES_EXHAUSTED',
                `gave up after ${attempt} attempts (last status ${last})`,
              )
            : new EdgeError('EDGE_RETRIES_EXHAUSTED', `gave up after ${attempt} attempts`, { cause: last });
        const failed: FlushResult = { outcome: 'failed', error, envelope, ...sent, attempts: attempt };
        if (typeof last === 'number') failed.lastStatus = last;
        return failed;
      }
      this.#stats.retried++;
      await this.#sleep(this.#backoff(attempt, retryAfterSeconds));
    }
  }

  /** Closes the transport, if it can be closed. The counter is the caller's to close. */
  close(): void {
    this.#transport.close?.();
  }

  #backoff(attempt: number, retryAfterSeconds: number | undefined): number {
    const { baseDelayMs, maxDelayMs } = this.#retry;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    const jittered = Math.floor(this.#random() * ceiling);
    const floor = retryAfterSeconds === undefined ? 0 : Math.min(maxDelayMs, retryAfterSeconds * 1000);
    return Math.max(jittered, floor);
  }
}
