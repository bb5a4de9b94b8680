/**
 * Telemetry ingest: verify, then in ONE transaction check-and-advance the device's replay window, store
 * the batch and its records, and sequence the audit entry (its digest, not its records). Either all of
 * it commits or none does, so two gateway nodes can never both accept one counter, and an accepted
 * batch always has its audit entry. A refusal stores no record, only a rejection row with its reason
 * code and the envelope digest, and an audit entry.
 */
import { toHex } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import { DrivingState } from '@fleetgate/protocol/telemetry';
import type { AuditLog } from '../audit/log.ts';
import type { GatewayConfig } from '../config/config.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { PeerIdentity } from '../pki/peer-identity.ts';
import { type Queryable, type SqlValue, type Store, toBigInt, toSafeNumber } from '../store/store.ts';
import { checkReplay, decodeBits, encodeBits } from './replay-window.ts';
import { type VerifiedBatch, verifyEnvelope } from './verify-envelope.ts';

export interface IngestDeps {
  store: Store;
  audit: AuditLog;
  limits: GatewayConfig['telemetry'];
  now: () => Date;
}

export interface IngestAccepted {
  vehicleId: string;
  counter: string;
  records: number;
  auditIndex: number;
  gap: string;
  outOfOrder: boolean;
}

const RECORD_COLUMNS = 12;
const RECORDS_PER_INSERT = 1_000;

export async function ingestEnvelope(
  deps: IngestDeps,
  identity: PeerIdentity,
  body: Uint8Array,
  remoteAddress: string,
): Promise<IngestAccepted> {
  try {
    const verified = verifyEnvelope(body, identity, deps.limits, deps.now());
    return await deps.store.transaction((tx) => store(tx, deps, identity, verified));
  } catch (error) {
    if (error instanceof GatewayError) await recordRejection(deps, identity, body, remoteAddress, error);
    throw error;
  }
}

async function store(
  tx: Queryable,
  deps: IngestDeps,
  identity: PeerIdentity,
  v: VerifiedBatch,
): Promise<IngestAccepted> {
  const size = deps.limits.replayWindow;
  await tx.query(
    `INSERT INTO device_replay_state (vehicle_id, high_water, window_bits) VALUES ($1, -1, $2)
     ON CONFLICT (vehicle_id) DO NOTHING`,
    [identity.id, new Uint8Array(size / 8)],
  );
  const [state] = await tx.query<{ high_water: string; window_bits: Uint8Array }>(
    'SELECT high_water, window_bits FROM device_replay_state WHERE vehicle_id = $1 FOR UPDATE',
    [identity.id],
  );
  const decision = checkReplay(
    {
      highWater: toBigInt(state?.high_water ?? '-1'),
      bits: decodeBits(state?.window_bits ?? new Uint8Array(), size),
    },
    v.counter,
    size,
  );
  if (!decision.accepted) {
    throw decision.reason === 'replayed'
      ? new GatewayError('TELEMETRY_REPLAYED', `counter ${v.counter} was already accepted`)
      : new GatewayError('TELEMETRY_COUNTER_TOO_OLD', `counter ${v.counter} is below the replay window`);
  }
  await tx.query(
    'UPDATE device_replay_state SET high_water = $2, window_bits = $3, updated_at = now() WHERE vehicle_id = $1',
    [identity.id, decision.state.highWater.toString(), encodeBits(decision.state.bits, size)],
  );
  const { batch } = v;
  const [row] = await tx.query<{ id: string }>(
    `INSERT INTO telemetry_batches (vehicle_id, counter, load_id, first_sequence, record_count, envelope_sha256,
       key_id, cert_sha256, device_sent_at, audit_index)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, -1) RETURNING id`,
    [
      identity.id,
      v.counter.toString(),
      batch.loadId,
      batch.firstSequence.toString(),
      batch.records.length,
      v.envelopeSha256,
      v.keyId,
      identity.thumbprintSha256,
      new Date(Number(batch.sentAtUnixMs)),
    ],
  );
  const batchId = toSafeNumber(row?.id);
  for (let start = 0; start < batch.records.length; start += RECORDS_PER_INSERT) {
    const chunk = batch.records.slice(start, start + RECORDS_PER_INSERT);
    const params: SqlValue[] = [];
    const tuples = chunk.map((r, i) => {
      const ordinal = start + i;
      params.push(
        String(batchId),
        ordinal,
        identity.id,
        (batch.firstSequence + BigInt(ordinal)).toString(),
        new Date(Number(r.timeUnixMs)),
        r.latitude,
        r.longitude,
        r.speedMps,
        r.headingDeg,
        r.odometerM,
        DrivingState[r.drivingState] ?? 'UNSPECIFIED',
        r.faults,
      );
      const base = i * RECORD_COLUMNS;
      return `(${Array.from({ length: RECORD_COLUMNS }, (_, k) => `$${base + k + 1}`).join(', ')})`;
    });
    await tx.query(
      `INSERT INTO telemetry_records (batch_id, ordinal, vehicle_id, seq, recorded_at, latitude, longitude,
         speed_mps, heading_deg, odometer_m, driving_state, faults) VALUES ${tuples.join(', ')}`,
      params,
    );
  }
  const receipt = await deps.audit.appendInTx(tx, {
    class: 'telemetry.batch.accepted',
    actor: { kind: 'vehicle', id: identity.id, certSha256: identity.thumbprintSha256 },
    subject: { kind: 'telemetry-batch', id: `${identity.id}/${v.counter}` },
    outcome: 'accepted',
    details: {
      counter: v.counter.toString(),
      loadId: batch.loadId,
      firstSequence: batch.firstSequence.toString(),
      records: batch.records.length,
      envelopeSha256: toHex(v.envelopeSha256),
      keyId: v.keyId,
      gap: decision.gap.toString(),
      outOfOrder: decision.outOfOrder,
    },
  });
  await tx.query('UPDATE telemetry_batches SET audit_index = $2 WHERE id = $1', [
    String(batchId),
    String(receipt.index),
  ]);
  return {
    vehicleId: identity.id,
    counter: v.counter.toString(),
    records: batch.records.length,
    auditIndex: receipt.index,
    gap: decision.gap.toString(),
    outOfOrder: decision.outOfOrder,
  };
}

async function recordRejection(
  deps: IngestDeps,
  identity: PeerIdentity,
  body: Uint8Array,
  remoteAddress: string,
  error: GatewayError,
): Promise<void> {
  const digest = sha256(body);
  await deps.store.transaction(async (tx) => {
    const receipt = await deps.audit.appendInTx(tx, {
      class: 'telemetry.batch.rejected',
      actor: { kind: 'vehicle', id: identity.id, certSha256: identity.thumbprintSha256 },
      subject: { kind: 'telemetry-envelope', id: toHex(digest) },
      outcome: 'rejected',
      reasons: [error.code],
      details: { bytes: body.byteLength },
    });
    await tx.query(
      `INSERT INTO telemetry_rejections (vehicle_id, cert_sha256, code, detail, envelope_sha256, remote_address, audit_index)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        identity.id,
        identity.thumbprintSha256,
        error.code,
        error.detail ?? '',
        digest,
        remoteAddress,
        String(receipt.index),
      ],
    );
  });
}
