/**
 * Generates the 997 Functional Acknowledgment for a received functional group (ASC X12 997, 4010 and
 * 5010): AK1 names the group, one AK2…AK5 per transaction set (AK3/AK4 locate the first segment and
 * element in error), AK9 the group's outcome and counts. Error codes come from X12 code lists 716 (AK9),
 * 718 (AK5), 720 (AK3) and 723 (AK4), mapped from EdiError codes. Threat: a 997 that echoes received data
 * could carry an injection back; it echoes only identifiers we validated, never the bad value (AK404).
 */
import type { OutboundEnvelope } from './envelope.ts';
import { type EdiContext, EdiError } from './errors.ts';
import { writeInterchange } from './internal/write.ts';
import type { FunctionalGroup } from './types.ts';

export interface SetAcknowledgment {
  /** ST01 / ST02 as received. */
  transactionSetId: string;
  controlNumber: string;
  /** Why the set is rejected; accepted when absent. */
  error?: EdiError;
}

export interface GroupAcknowledgment {
  /** GS01, GS06 and GS08 as received. */
  functionalId: string;
  groupControlNumber: string;
  groupVersion: string;
  transactionSets: SetAcknowledgment[];
  /** A failure of the group's own envelope (GE count, GE02, version): the whole group is rejected. */
  groupError?: EdiError;
}

const SET_CODES: Partial<Record<EdiError['code'], string>> = {
  EDI_MISSING_SEGMENT: '2',
  EDI_CONTROL_NUMBER_MISMATCH: '3',
  EDI_CONTROL_COUNT_MISMATCH: '4',
  EDI_DUPLICATE_CONTROL_NUMBER: '23',
};

const SEGMENT_CODES: Partial<Record<EdiError['code'], string>> = {
  EDI_UNEXPECTED_SEGMENT: '2',
  EDI_MISSING_SEGMENT: '3',
};

const ELEMENT_CODES: Partial<Record<EdiError['code'], string>> = {
  EDI_MISSING_ELEMENT: '1',
  EDI_ELEMENT_TOO_LONG: '5',
  EDI_FREE_TEXT_TOO_LONG: '5',
  EDI_INVALID_CHARACTER: '6',
  EDI_UNKNOWN_CODE: '7',
  EDI_INVALID_DATE: '8',
  EDI_INVALID_TIME: '9',
};

const GROUP_CODES: Partial<Record<EdiError['code'], string>> = {
  EDI_UNKNOWN_CODE: '1',
  EDI_VERSION_UNSUPPORTED: '2',
  EDI_VERSION_MISMATCH: '2',
  EDI_MISSING_SEGMENT: '3',
  EDI_CONTROL_NUMBER_MISMATCH: '4',
  EDI_CONTROL_COUNT_MISMATCH: '5',
  EDI_DUPLICATE_CONTROL_NUMBER: '6',
};

/** Acknowledges a parsed group: every set accepted except those in `errors` (by ST02). */
export function acknowledgeGroup(
  group: FunctionalGroup,
  errors: ReadonlyMap<string, EdiError> = new Map(),
): GroupAcknowledgment {
  return {
    functionalId: group.functionalId,
    groupControlNumber: group.controlNumber,
    groupVersion: group.versionCode,
    transactionSets: group.transactionSets.map((s) => {
      const error = errors.get(s.controlNumber);
      return error === undefined
        ? { transactionSetId: s.id, controlNumber: s.controlNumber }
        : { transactionSetId: s.id, controlNumber: s.controlNumber, error };
    }),
  };
}

/**
 * Acknowledges what an envelope failure left known: the group (and set) named in its context. Undefined
 * when the failure happened outside any group (ISA/IEA level: that is a TA1 matter, not a 997).
 */
export function acknowledgeFailure(error: EdiError): GroupAcknowledgment | undefined {
  const c: EdiContext = error.context;
  if (c.functionalId === undefined || c.groupControlNumber === undefined || c.groupVersion === undefined) {
    return undefined;
  }
  const base = {
    functionalId: c.functionalId,
    groupControlNumber: c.groupControlNumber,
    groupVersion: c.groupVersion,
  };
  if (c.transactionSetId !== undefined && c.transactionSetControlNumber !== undefined) {
    return {
      ...base,
      transactionSets: [
        { transactionSetId: c.transactionSetId, controlNumber: c.transactionSetControlNumber, error },
      ],
    };
  }
  return { ...base, transactionSets: [], groupError: error };
}

function setSegments(ack: SetAcknowledgment): string[][] {
  const out: string[][] = [['AK2', ack.transactionSetId, ack.controlNumber]];
  const e = ack.error;
  if (e === undefined) {
    out.push(['AK5', 'A']);
    return out;
  }
  const l = e.location;
  const inSet = l.segmentInSet;
  const envelopeSegment = l.segmentId === 'ST' || l.segmentId === 'SE';
  if (envelopeSegment && SET_CODES[e.code] !== undefined) {
    out.push(['AK5', 'R', SET_CODES[e.code] as string]);
    return out;
  }
  if (inSet !== undefined && l.segmentId !== undefined && !envelopeSegment) {
    out.push(['AK3', l.segmentId, String(inSet), '', SEGMENT_CODES[e.code] ?? '8']);
    if (l.element !== undefined) out.push(['AK4', String(l.element), '', ELEMENT_CODES[e.code] ?? '7']);
  }
  out.push(['AK5', 'R', l.segmentId === 'ST' && l.element === 1 ? '6' : '5']);
  return out;
}

/** The 997 for one received group, in the envelope given (usually replyEnvelope of the received one). */
export function generateFunctionalAck(ack: GroupAcknowledgment, envelope: OutboundEnvelope): Buffer {
  if (!/^\d{1,9}$/.test(ack.groupControlNumber) || !/^[A-Z]{2}$/.test(ack.functionalId)) {
    throw new EdiError('EDI_INVALID_ARGUMENT', 'the acknowledged group identifiers have the wrong form');
  }
  const ak1 = ['AK1', ack.functionalId, ack.groupControlNumber];
  if (envelope.version === '5010') ak1.push(ack.groupVersion);
  const body: string[][] = [ak1];
  for (const s of ack.transactionSets) body.push(...setSegments(s));
  const received = ack.transactionSets.length;
  const accepted = ack.transactionSets.filter((s) => s.error === undefined).length;
  const ak9 =
    ack.groupError !== undefined
      ? ['AK9', 'R', String(received), String(received), '0', GROUP_CODES[ack.groupError.code] ?? '1']
      : [
          'AK9',
          accepted === received ? 'A' : accepted === 0 ? 'R' : 'P',
          String(received),
          String(received),
          String(accepted),
        ];
  body.push(ak9);
  return writeInterchange(envelope, 'FA', '997', body);
}
