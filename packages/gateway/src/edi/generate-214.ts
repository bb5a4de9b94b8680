/**
 * Generates the 214 Transportation Carrier Shipment Status Message (ASC X12 214, 4010 and 5010): B10
 * (our reference, the shipper's shipment id from the 204, SCAC), L11 references, then one LX loop with
 * AT7 (status code 1650, reason code 1651, date, time and time code 623), MS1 (where) and MS2 (which
 * equipment). Threat: an unknown status code would tell a partner something we did not mean; status and
 * reason codes come from closed lists (internal/codes.ts) and anything else is refused (EDI_UNKNOWN_CODE).
 */
import type { OutboundEnvelope } from './envelope.ts';
import { EdiError } from './errors.ts';
import { STATUS_CODES, STATUS_REASONS } from './internal/codes.ts';
import { LOCAL_TIME, wallClock } from './internal/datetime.ts';
import { writeInterchange } from './internal/write.ts';
import type { Reference } from './load-tender.ts';

export type ShipmentStatusCode = keyof typeof STATUS_CODES;
export type StatusReasonCode = keyof typeof STATUS_REASONS;

export interface ShipmentStatus {
  /** B1001: our reference for the load (e.g. the tender id). */
  carrierReference: string;
  /** B1002: the 204's B204. */
  shipmentId: string;
  /** B1003. */
  scac: string;
  /** AT701, e.g. X3 arrived at pickup, AF departed pickup, X1 arrived at delivery, D1 delivered. */
  status: ShipmentStatusCode;
  /** AT702; default NS (normal status). */
  reason?: StatusReasonCode;
  /** When it happened; AT705/AT706 are its wall clock in `timeCode`. */
  at: Date;
  /** AT707 (623): UT, CT, ET, MT, PT, their S/D forms, GM or 01–24; not LT, which names no zone. */
  timeCode: string;
  /** MS101–MS103. */
  location?: { city: string; state: string; country?: string };
  /** MS202: the trailer or truck number. */
  equipmentNumber?: string;
  references?: readonly Reference[];
}

const invalid = (why: string): EdiError => new EdiError('EDI_INVALID_ARGUMENT', why);

export function generateShipmentStatus(status: ShipmentStatus, envelope: OutboundEnvelope): Buffer {
  if (!Object.hasOwn(STATUS_CODES, status.status)) {
    throw new EdiError('EDI_UNKNOWN_CODE', 'the shipment status code (AT701) is not one this codec sends');
  }
  const reason = status.reason ?? 'NS';
  if (!Object.hasOwn(STATUS_REASONS, reason)) {
    throw new EdiError('EDI_UNKNOWN_CODE', 'the status reason code (AT702) is not one this codec sends');
  }
  if (!/^\S.{0,29}$/.test(status.carrierReference)) throw invalid('carrierReference must be 1–30 characters');
  if (!/^\S.{0,29}$/.test(status.shipmentId)) throw invalid('shipmentId must be 1–30 characters');
  if (!/^[A-Z0-9]{2,4}$/.test(status.scac)) throw invalid('scac must be 2–4 letters or digits');
  if (status.timeCode === LOCAL_TIME) throw invalid('time code LT names no zone; send the zone');
  const wall = Number.isNaN(status.at.getTime()) ? undefined : wallClock(status.at, status.timeCode);
  if (wall === undefined) throw invalid('at is not a valid date, or the time code is not known');

  const body: string[][] = [['B10', status.carrierReference, status.shipmentId, status.scac]];
  for (const ref of status.references ?? []) {
    if (!/^\S.{0,49}$/.test(ref.value) || !/^[A-Z0-9]{2,3}$/.test(ref.qualifier)) {
      throw invalid('a reference needs a 1–50 character value and a 2–3 character qualifier');
    }
    body.push(['L11', ref.value, ref.qualifier]);
  }
  body.push(['LX', '1']);
  body.push(['AT7', status.status, reason, '', '', wall.date, wall.time, status.timeCode]);
  const where = status.location;
  if (where !== undefined) {
    if (!/^\S.{1,29}$/.test(where.city) || !/^[A-Z]{2}$/.test(where.state)) {
      throw invalid('location needs a 2–30 character city and a two-letter state');
    }
    if (where.country !== undefined && !/^[A-Z]{2,3}$/.test(where.country)) throw invalid('bad country code');
    body.push(['MS1', where.city, where.state, where.country ?? '']);
  }
  if (status.equipmentNumber !== undefined) {
    if (!/^\S.{0,14}$/.test(status.equipmentNumber)) throw invalid('equipmentNumber must be 1–15 characters');
    body.push(['MS2', status.scac, status.equipmentNumber]);
  }
  return writeInterchange(envelope, 'QM', '214', body);
}
