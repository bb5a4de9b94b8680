/**
 * Generates the 990 Response to a Load Tender (ASC X12 990, 4010 and 5010): B1 with the carrier's SCAC,
 * the shipper's shipment identification from the 204 (B204 → B102), the response date and the
 * reservation action (A accepted, D declined); N9 references; one K1 remark per decline reason. Threat:
 * a reason or reference holding a delimiter would inject segments into what the partner reads; values
 * are checked (formats here, delimiters in internal/write.ts) and refused, never escaped.
 */
import type { OutboundEnvelope } from './envelope.ts';
import { EdiError } from './errors.ts';
import { wallClock } from './internal/datetime.ts';
import { writeInterchange } from './internal/write.ts';
import type { Reference } from './load-tender.ts';

export interface TenderResponse {
  /** The 204's B204. */
  shipmentId: string;
  /** Our Standard Carrier Alpha Code (B101). */
  scac: string;
  decision: 'accept' | 'decline';
  /** The decision time; B103 is its UTC date. */
  decidedAt: Date;
  /** Decline reasons (K101, 1–30 characters each, at most 10), e.g. the gateway's reason codes. */
  reasons?: readonly string[];
  /** N9 references (qualifier 2–3 characters, value 1–30), e.g. CN with our tender id. */
  references?: readonly Reference[];
}

const invalid = (why: string): EdiError => new EdiError('EDI_INVALID_ARGUMENT', why);

export function generateTenderResponse(response: TenderResponse, envelope: OutboundEnvelope): Buffer {
  if (!/^\S.{0,29}$/.test(response.shipmentId)) throw invalid('shipmentId must be 1–30 characters');
  if (!/^[A-Z0-9]{2,4}$/.test(response.scac)) throw invalid('scac must be 2–4 letters or digits');
  if (response.decision !== 'accept' && response.decision !== 'decline') throw invalid('unknown decision');
  const day = Number.isNaN(response.decidedAt.getTime()) ? undefined : wallClock(response.decidedAt, 'UT');
  if (day === undefined) throw invalid('decidedAt is not a valid date');
  const reasons = response.reasons ?? [];
  if (response.decision === 'decline' && reasons.length === 0) throw invalid('a decline needs a reason');
  if (reasons.length > 10) throw invalid('at most 10 reasons (K1)');
  for (const r of reasons) if (!/^\S.{0,29}$/.test(r)) throw invalid('a reason must be 1–30 characters');

  const body: string[][] = [
    ['B1', response.scac, response.shipmentId, day.date, response.decision === 'accept' ? 'A' : 'D'],
  ];
  for (const ref of response.references ?? []) {
    if (!/^[A-Z0-9]{2,3}$/.test(ref.qualifier) || !/^\S.{0,29}$/.test(ref.value)) {
      throw invalid('a reference needs a 2–3 character qualifier and a 1–30 character value');
    }
    body.push(['N9', ref.qualifier, ref.value]);
  }
  for (const r of reasons) body.push(['K1', r]);
  return writeInterchange(envelope, 'GF', '990', body);
}
