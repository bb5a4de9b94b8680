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
 * reach the gateway, its replay window refuses the duplicate instead of accepting it twice.
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
import type { HttpsTransport, Problem } from './transport/https.ts';

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

export interface EdgeClientOptions {
  vehicleId: string;
  loadId?: string;
  /** Ed25519 private key of the vehicle, created once and reused. */
  privateKey: KeyObject;
  /** keyIdOf(publicKey). */
  keyId: string;
  /** Envelope counter: a DurableCounter, so values survive restarts. */
  counter: Pick<DurableCounter, 'next'>;
  /** Anything that sends an encoded envelope, e.g. an HttpsTransport. */
  transport: Pick<HttpsTransport, 'send'> & { close?: () => void };
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
  /** Envelopes given up on: retries exhausted, or a TLS failure. */
  failed: number;
}

interface Sent {
  counter: bigint;
  records: number;
  attempts: number;
}

export type FlushResult =
  | { outcome: 'empty' }
  | ({ outcome: 'accepted'; status: number } & Sent)
  | ({ outcome: 'refused'; status: number; problem?: Problem } & Sent)
  | ({ outcome: 'failed'; error: EdgeError; lastStatus?: number; envelope: Uint8Array } & Sent);

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
  readonly #stats: EdgeStats = { sent: 0, accepted: 0, refused: 0, retried: 0, failed: 0 };

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
    for (let attempt = 1; ; attempt++) {
      let last: EdgeError | number;
      let retryAfterSeconds: number | undefined;
      try {
        const answer = await this.#transport.send(envelope);
        const { status } = answer;
        if (status >= 200 && status < 300) {
          this.#stats.accepted++;
          return { outcome: 'accepted', status, ...sent, attempts: attempt };
        }
        if (status !== 429 && status < 500) {
          this.#stats.refused++;
          const refused: FlushResult = { outcome: 'refused', status, ...sent, attempts: attempt };
          if (answer.problem !== undefined) refused.problem = answer.problem;
          return refused;
        }
        last = status;
        retryAfterSeconds = answer.retryAfterSeconds;
      } catch (error) {
        if (!(error instanceof EdgeError)) throw error;
        if (!RETRYABLE_ERRORS.has(error.code)) {
          this.#stats.failed++;
          return { outcome: 'failed', error, envelope, ...sent, attempts: attempt };
        }
        last = error;
      }
      if (attempt >= this.#retry.maxAttempts) {
        this.#stats.failed++;
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
