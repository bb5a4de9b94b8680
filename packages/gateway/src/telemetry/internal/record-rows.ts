/**
 * telemetry_records rows of a group of verified batches, in the two forms the engines take fastest
 * (measured; docs/telemetry.md "Group commit"): COPY text format for PostgreSQL (COPY … FROM STDIN,
 * PostgreSQL docs "COPY", File Formats → Text Format) and one INSERT … SELECT FROM unnest(…) of column
 * arrays for PGlite, whose COPY needs its own handle.
 *
 * Every value comes from a batch that decoded and validated (protocol/internal/validate.ts: ids match
 * ID_PATTERN, coordinates are finite, times are within years 1970–9999, fault codes match FAULT_PATTERN),
 * and is escaped anyway: COPY text escapes backslash, tab, newline and carriage return; array literals
 * quote every element. A value can never end a field or a row early.
 */
import { DrivingState, type TelemetryBatch } from '@fleetgate/protocol/telemetry';
import type { SqlValue } from '../../store/store.ts';

export interface RecordsToWrite {
  batchId: string;
  vehicleId: string;
  batch: TelemetryBatch;
}

export const RECORD_COLUMNS =
  'batch_id, ordinal, vehicle_id, seq, recorded_at, latitude, longitude, speed_mps, heading_deg, odometer_m, driving_state, faults';

export const COPY_RECORDS_SQL = `COPY telemetry_records (${RECORD_COLUMNS}) FROM STDIN`;

export const UNNEST_RECORDS_SQL = `INSERT INTO telemetry_records (${RECORD_COLUMNS})
  SELECT b, o, v, s, t, la, lo, sp, h, od, d, f::text[]
  FROM unnest($1::int8[], $2::int4[], $3::text[], $4::numeric[], $5::timestamptz[], $6::float8[], $7::float8[],
              $8::float4[], $9::float4[], $10::float8[], $11::text[], $12::text[])
    AS u(b, o, v, s, t, la, lo, sp, h, od, d, f)`;

const stateName = (state: DrivingState): string => DrivingState[state] ?? 'UNSPECIFIED';

/** A PostgreSQL array literal of text elements, every element double-quoted. */
export function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/** One field of COPY text format. */
export function copyField(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** The COPY text-format body (tab-separated, one row per line) of every record of `groups`. */
export function recordsCopyText(groups: readonly RecordsToWrite[]): string {
  const lines: string[] = [];
  for (const { batchId, vehicleId, batch } of groups) {
    const vehicle = copyField(vehicleId);
    const first = batch.firstSequence;
    batch.records.forEach((r, i) => {
      lines.push(
        `${batchId}\t${i}\t${vehicle}\t${first + BigInt(i)}\t${new Date(Number(r.timeUnixMs)).toISOString()}\t` +
          `${r.latitude}\t${r.longitude}\t${r.speedMps}\t${r.headingDeg}\t${r.odometerM}\t` +
          `${stateName(r.drivingState)}\t${copyField(textArrayLiteral(r.faults))}\n`,
      );
    });
  }
  return lines.join('');
}

/** The twelve column arrays UNNEST_RECORDS_SQL takes. */
export function recordsUnnestParams(groups: readonly RecordsToWrite[]): SqlValue[] {
  const cols: string[][] = Array.from({ length: 12 }, () => []);
  const push = (...values: string[]): void => {
    values.forEach((v, k) => {
      (cols[k] as string[]).push(v);
    });
  };
  for (const { batchId, vehicleId, batch } of groups) {
    const first = batch.firstSequence;
    batch.records.forEach((r, i) => {
      push(
        batchId,
        String(i),
        vehicleId,
        String(first + BigInt(i)),
        new Date(Number(r.timeUnixMs)).toISOString(),
        String(r.latitude),
        String(r.longitude),
        String(r.speedMps),
        String(r.headingDeg),
        String(r.odometerM),
        stateName(r.drivingState),
        textArrayLiteral(r.faults),
      );
    });
  }
  return cols;
}
