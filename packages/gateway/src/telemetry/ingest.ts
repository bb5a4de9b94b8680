/**
 * Telemetry ingest — the one entry point every transport calls (HTTPS route, MQTT subscriber) with the
 * authenticated vehicle identity and the exact bytes received (docs/telemetry.md "Ingest"):
 *
 *   1. the device's bytes/s token bucket, before any parsing (rate-limit.ts);
 *   2. verification: limits, signature suites against the vehicle's certificate key and device keys,
 *      signature policy, batch claims and time (verify-envelope.ts);
 *   3. the device's records/s token bucket;
 *   4. the clock-skew flag, raised or cleared without refusing (clock-flags.ts);
 *   5. group commit: the replay window, the batch, its records and its audit entry, in one transaction
 *      shared with other envelopes (group-commit.ts, write-group.ts).
 *
 * Contract: resolves with IngestAccepted once the batch committed; otherwise throws a GatewayError after
 * the refusal was recorded (a telemetry_rejections row with its reason code and an audit entry, in a
 * group commit) — except REQUEST_RATE_LIMITED, whose records are coalesced per vehicle and window
 * (rate-limit-refusals.ts), and SERVICE_UNAVAILABLE (ingest saturated or shutting down, with
 * Retry-After), which is not stored. Any other error (a store failure) propagates as it is.
 */
import { sha256 } from '@fleetgate/core/hash';
import type { AuditLog } from '../audit/log.ts';
import { defaultTelemetryIngestConfig, type GatewayConfig } from '../config/config.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { PeerIdentity } from '../pki/peer-identity.ts';
import type { Store } from '../store/store.ts';
import { envelopeRejection } from './rejection.ts';
import { startTelemetryIngest, type TelemetryIngest } from './start.ts';
import { type VerifiedBatch, verifyEnvelope } from './verify-envelope.ts';
import type { IngestAccepted } from './write-group.ts';

export type { IngestAccepted } from './write-group.ts';

export interface IngestDeps {
  store: Store;
  audit: AuditLog;
  limits: GatewayConfig['telemetry'];
  now: () => Date;
  /**
   * The node's ingest pipeline (startTelemetryIngest; gateway.ts builds one and passes it to every
   * transport). Absent: one with the default telemetryIngest settings is made for this deps object on
   * first use — without a data directory, so without HMAC device keys, and never closed.
   */
  ingest?: TelemetryIngest;
}

const fallbacks = new WeakMap<IngestDeps, TelemetryIngest>();

/** The pipeline of `deps`: its own, or the fallback made once for it. */
export function ingestPipeline(deps: IngestDeps): TelemetryIngest {
  if (deps.ingest !== undefined) return deps.ingest;
  let made = fallbacks.get(deps);
  if (made === undefined) {
    made = startTelemetryIngest({
      store: deps.store,
      audit: deps.audit,
      now: deps.now,
      config: defaultTelemetryIngestConfig(),
      replayWindow: deps.limits.replayWindow,
    });
    fallbacks.set(deps, made);
  }
  return made;
}

export async function ingestEnvelope(
  deps: IngestDeps,
  identity: PeerIdentity,
  body: Uint8Array,
  remoteAddress: string,
): Promise<IngestAccepted> {
  const ingest = ingestPipeline(deps);
  const bytes = ingest.limiter.takeBytes(identity.id, body.byteLength);
  if (!bytes.ok)
    throw await ingest.refusals.refuse(identity, 'bytes', bytes.retryAfterSeconds, remoteAddress);

  let verified: VerifiedBatch;
  try {
    const keys = await ingest.keyring.get(identity.id);
    verified = verifyEnvelope(body, identity, deps.limits, deps.now(), {
      keys,
      algorithms: ingest.config.algorithms,
    });
  } catch (error) {
    if (error instanceof GatewayError) await record(ingest, identity, body, error, remoteAddress);
    throw error;
  }

  const records = ingest.limiter.takeRecords(identity.id, verified.batch.records.length);
  if (!records.ok) {
    throw await ingest.refusals.refuse(identity, 'records', records.retryAfterSeconds, remoteAddress);
  }
  if (!verified.delayed) await ingest.clock.observe(identity, verified.skewMs);

  const outcome = await ingest.queue.submit({
    kind: 'batch',
    identity,
    verified,
    remoteAddress,
    bytes: body.byteLength,
  });
  if (outcome.kind === 'accepted') return outcome.accepted;
  if (outcome.kind === 'refused') throw outcome.error;
  throw new GatewayError('INTERNAL_ERROR', 'unexpected ingest outcome');
}

/** Records a refusal through group commit; a full queue only counts it (the refusal is still answered). */
async function record(
  ingest: TelemetryIngest,
  identity: PeerIdentity,
  body: Uint8Array,
  error: GatewayError,
  remoteAddress: string,
): Promise<void> {
  try {
    await ingest.queue.submit(
      envelopeRejection(identity, sha256(body), body.byteLength, error, remoteAddress),
    );
  } catch (failure) {
    if (failure instanceof GatewayError && failure.code === 'SERVICE_UNAVAILABLE') return;
    throw failure;
  }
}
