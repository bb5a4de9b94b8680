/**
 * Writes one group of ingest outcomes in ONE transaction (group commit; docs/telemetry.md "Group commit"),
 * keeping each envelope's own outcome:
 *
 *   1. lock the replay-window rows of every vehicle in the group (SELECT … FOR UPDATE, in vehicle-id
 *      order so two nodes never deadlock), creating missing rows first;
 *   2. check each batch against its vehicle's window IN THE ORDER RECEIVED (RFC 4303 §3.4.3 window,
 *      replay-window.ts): a batch whose counter was accepted before — in an earlier transaction or
 *      earlier in this very group — is refused (TELEMETRY_REPLAYED / TELEMETRY_COUNTER_TOO_OLD) and
 *      becomes a rejection, without failing the others;
 *   3. store the windows and reserve batch ids in one statement; write every record (COPY on
 *      PostgreSQL, one unnest INSERT on PGlite);
 *   4. last, under the audit lock, sequence one audit entry per accepted batch (its digest, not its
 *      records) and per rejection, then insert the batch and rejection rows with their audit indices.
 *
 * Either all of it commits or none does: two gateway nodes can never both accept one counter (the row
 * lock), an accepted batch always has its records and its audit entry, and a refused one stores no
 * record. No statement runs per batch: a group costs the same few round trips whatever its size.
 */
import { toHex } from '@fleetgate/core/bytes';
import type { AuditEvent } from '../audit/event.ts';
import type { AuditLog } from '../audit/log.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { PeerIdentity } from '../pki/peer-identity.ts';
import { toBigInt } from '../store/store.ts';
import type { IngestTx } from './internal/connection.ts';
import type { RecordsToWrite } from './internal/record-rows.ts';
import { envelopeRejection, type RejectionRecord } from './rejection.ts';
import { checkReplay, decodeBits, encodeBits, type ReplayState } from './replay-window.ts';
import type { VerifiedBatch } from './verify-envelope.ts';

export interface IngestAccepted {
  vehicleId: string;
  counter: string;
  records: number;
  auditIndex: number;
  gap: string;
  outOfOrder: boolean;
}

/** A verified batch waiting for its replay check and write. */
export interface AcceptCandidate {
  kind: 'batch';
  identity: PeerIdentity;
  verified: VerifiedBatch;
  remoteAddress: string;
  bytes: number;
}

export type GroupItem = AcceptCandidate | RejectionRecord;

export type GroupOutcome =
  | { kind: 'accepted'; accepted: IngestAccepted }
  | { kind: 'refused'; error: GatewayError; auditIndex: number }
  | { kind: 'recorded'; auditIndex: number };

export interface WriteGroupContext {
  audit: AuditLog;
  replayWindow: number;
  /** Vehicles whose device_replay_state row is known to exist; the caller adds `vehicles` after commit. */
  knownReplayRows: ReadonlySet<string>;
}

export interface WrittenGroup {
  outcomes: GroupOutcome[];
  /** Every vehicle whose replay row this group locked (exists once committed). */
  vehicles: string[];
}

interface Accepted {
  at: number;
  c: AcceptCandidate;
  gap: bigint;
  outOfOrder: boolean;
  batchId: string;
}

export async function writeGroup(
  tx: IngestTx,
  items: readonly GroupItem[],
  ctx: WriteGroupContext,
): Promise<WrittenGroup> {
  const size = ctx.replayWindow;
  const vehicles = [...new Set(items.flatMap((i) => (i.kind === 'batch' ? [i.identity.id] : [])))].sort();
  const states = await lockWindows(tx, vehicles, ctx);

  // Replay decisions in arrival order, against the window as this group leaves it.
  const accepted: Accepted[] = [];
  const rejections: { at: number; record: RejectionRecord; error?: GatewayError }[] = [];
  const changed = new Set<string>();
  items.forEach((item, at) => {
    if (item.kind === 'rejection') {
      rejections.push({ at, record: item });
      return;
    }
    const vehicle = item.identity.id;
    const state = states.get(vehicle);
    if (state === undefined) throw new Error(`replay state of ${vehicle} was not locked`);
    const counter = item.verified.counter;
    const decision = checkReplay(state, counter, size);
    if (!decision.accepted) {
      const error =
        decision.reason === 'replayed'
          ? new GatewayError('TELEMETRY_REPLAYED', `counter ${counter} was already accepted`)
          : new GatewayError('TELEMETRY_COUNTER_TOO_OLD', `counter ${counter} is below the replay window`);
      const record = envelopeRejection(
        item.identity,
        item.verified.envelopeSha256,
        item.bytes,
        error,
        item.remoteAddress,
        counter,
      );
      rejections.push({ at, record, error });
      return;
    }
    states.set(vehicle, decision.state);
    changed.add(vehicle);
    accepted.push({ at, c: item, gap: decision.gap, outOfOrder: decision.outOfOrder, batchId: '' });
  });

  if (accepted.length > 0) {
    const v = [...changed];
    const ids = await tx.query<{ id: string }>(
      `WITH windows AS (
         UPDATE device_replay_state AS d
            SET high_water = u.hw, window_bits = decode(u.bits, 'hex'), updated_at = now()
           FROM unnest($1::text[], $2::numeric[], $3::text[]) AS u(v, hw, bits)
          WHERE d.vehicle_id = u.v
         RETURNING 1)
       SELECT nextval('telemetry_batches_id_seq')::int8 AS id FROM generate_series(1, $4::int4)`,
      [
        v,
        v.map((x) => (states.get(x) as ReplayState).highWater.toString()),
        v.map((x) => toHex(encodeBits((states.get(x) as ReplayState).bits, size))),
        String(accepted.length),
      ],
    );
    if (ids.length !== accepted.length) throw new Error('batch id reservation returned the wrong count');
    accepted.forEach((a, k) => {
      a.batchId = String(ids[k]?.id);
    });
    await tx.insertRecords(
      accepted.map(
        (a): RecordsToWrite => ({
          batchId: a.batchId,
          vehicleId: a.c.identity.id,
          batch: a.c.verified.batch,
        }),
      ),
    );
  }

  // The tail: audit entries in arrival order, under the audit lock; then the rows that carry their indices.
  const events: { at: number; event: AuditEvent }[] = [
    ...accepted.map((a) => ({ at: a.at, event: acceptedEvent(a) })),
    ...rejections.map((r) => ({ at: r.at, event: r.record.event })),
  ].sort((x, y) => x.at - y.at);
  const receipts = await ctx.audit.appendManyInTx(
    tx,
    events.map((e) => e.event),
  );
  const indexAt = new Map(events.map((e, k) => [e.at, receipts[k]?.index as number]));

  if (accepted.length > 0) await insertBatches(tx, accepted, indexAt);
  if (rejections.length > 0) await insertRejections(tx, rejections, indexAt);

  const outcomes: GroupOutcome[] = new Array(items.length);
  for (const a of accepted) {
    outcomes[a.at] = {
      kind: 'accepted',
      accepted: {
        vehicleId: a.c.identity.id,
        counter: a.c.verified.counter.toString(),
        records: a.c.verified.batch.records.length,
        auditIndex: indexAt.get(a.at) as number,
        gap: a.gap.toString(),
        outOfOrder: a.outOfOrder,
      },
    };
  }
  for (const r of rejections) {
    const auditIndex = indexAt.get(r.at) as number;
    outcomes[r.at] =
      r.error === undefined
        ? { kind: 'recorded', auditIndex }
        : { kind: 'refused', error: r.error, auditIndex };
  }
  return { outcomes, vehicles };
}

async function lockWindows(
  tx: IngestTx,
  vehicles: readonly string[],
  ctx: WriteGroupContext,
): Promise<Map<string, ReplayState>> {
  const states = new Map<string, ReplayState>();
  if (vehicles.length === 0) return states;
  const size = ctx.replayWindow;
  const missing = vehicles.filter((v) => !ctx.knownReplayRows.has(v));
  if (missing.length > 0) {
    await tx.query(
      `INSERT INTO device_replay_state (vehicle_id, high_water, window_bits)
       SELECT v, -1, $2::bytea FROM unnest($1::text[]) AS u(v) ON CONFLICT (vehicle_id) DO NOTHING`,
      [missing, new Uint8Array(size / 8)],
    );
  }
  const rows = await tx.query<{ vehicle_id: string; high_water: string; window_bits: Uint8Array }>(
    `SELECT vehicle_id, high_water, window_bits FROM device_replay_state
     WHERE vehicle_id = ANY($1::text[]) ORDER BY vehicle_id FOR UPDATE`,
    [vehicles],
  );
  for (const row of rows) {
    states.set(row.vehicle_id, {
      highWater: toBigInt(row.high_water),
      bits: decodeBits(row.window_bits, size),
    });
  }
  return states;
}

function acceptedEvent(a: Accepted): AuditEvent {
  const { identity, verified } = a.c;
  return {
    class: 'telemetry.batch.accepted',
    actor: { kind: 'vehicle', id: identity.id, certSha256: identity.thumbprintSha256 },
    subject: { kind: 'telemetry-batch', id: `${identity.id}/${verified.counter}` },
    outcome: 'accepted',
    details: {
      counter: verified.counter.toString(),
      loadId: verified.batch.loadId,
      firstSequence: verified.batch.firstSequence.toString(),
      records: verified.batch.records.length,
      envelopeSha256: toHex(verified.envelopeSha256),
      keyId: verified.keyId,
      algorithm: verified.algorithm,
      gap: a.gap.toString(),
      outOfOrder: a.outOfOrder,
    },
  };
}

async function insertBatches(
  tx: IngestTx,
  accepted: readonly Accepted[],
  indexAt: ReadonlyMap<number, number>,
) {
  const col = (f: (a: Accepted) => string): string[] => accepted.map(f);
  await tx.query(
    `INSERT INTO telemetry_batches (id, vehicle_id, counter, load_id, first_sequence, record_count, envelope_sha256,
       key_id, cert_sha256, device_sent_at, audit_index, algorithm)
     SELECT i, v, c, l, f, n, decode(e, 'hex'), k, cs, s, a, al
       FROM unnest($1::int8[], $2::text[], $3::numeric[], $4::text[], $5::numeric[], $6::int4[], $7::text[],
                   $8::text[], $9::text[], $10::timestamptz[], $11::int8[], $12::text[])
         AS u(i, v, c, l, f, n, e, k, cs, s, a, al)`,
    [
      col((a) => a.batchId),
      col((a) => a.c.identity.id),
      col((a) => a.c.verified.counter.toString()),
      col((a) => a.c.verified.batch.loadId),
      col((a) => a.c.verified.batch.firstSequence.toString()),
      col((a) => String(a.c.verified.batch.records.length)),
      col((a) => toHex(a.c.verified.envelopeSha256)),
      col((a) => a.c.verified.keyId),
      col((a) => a.c.identity.thumbprintSha256),
      col((a) => new Date(Number(a.c.verified.batch.sentAtUnixMs)).toISOString()),
      col((a) => String(indexAt.get(a.at))),
      col((a) => a.c.verified.algorithm),
    ],
  );
}

async function insertRejections(
  tx: IngestTx,
  rejections: readonly { at: number; record: RejectionRecord }[],
  indexAt: ReadonlyMap<number, number>,
) {
  const col = (f: (r: RejectionRecord) => string): string[] => rejections.map((x) => f(x.record));
  await tx.query(
    `INSERT INTO telemetry_rejections (vehicle_id, cert_sha256, code, detail, envelope_sha256, remote_address, audit_index)
     SELECT v, c, co, d, decode(nullif(e, ''), 'hex'), r, a
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[])
         AS u(v, c, co, d, e, r, a)`,
    [
      col((r) => r.row.vehicleId),
      col((r) => r.row.certSha256),
      col((r) => r.row.code),
      col((r) => r.row.detail),
      col((r) => (r.row.envelopeSha256 === null ? '' : toHex(r.row.envelopeSha256))),
      col((r) => r.row.remoteAddress),
      rejections.map((x) => String(indexAt.get(x.at))),
    ],
  );
}
