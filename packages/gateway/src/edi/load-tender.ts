/**
 * The typed shape of an X12 204 Motor Carrier Load Tender as this codec reads it (parse-204.ts) — the
 * segments a truckload tender uses (B2, B2A, L11, G62, AT5, NTE, N1–N4, N7, S5, AT8, LH1…, L3). Types
 * only. Values are as received (codes already checked against internal/codes.ts); dates stay in X12
 * form with their time code, because only the caller knows which zone `LT` (local time) means.
 */
import type { DATE_QUALIFIERS, EQUIPMENT_CODES, PURPOSE_CODES, STOP_REASONS } from './internal/codes.ts';
import type { X12Version } from './types.ts';

export type TenderPurpose = (typeof PURPOSE_CODES)[keyof typeof PURPOSE_CODES];
export type StopReasonCode = keyof typeof STOP_REASONS;
export type EquipmentCode = keyof typeof EQUIPMENT_CODES;
export type DateQualifier = keyof typeof DATE_QUALIFIERS;
export type WeightUnit = 'L' | 'K';

export interface Weight {
  value: number;
  /** L = pounds, K = kilograms. */
  unit: WeightUnit;
  /** G gross, N net, E estimated (187); undefined when not sent. */
  qualifier: string | undefined;
}

export interface Reference {
  /** L1102 (128), e.g. BM bill of lading, PO purchase order. */
  qualifier: string;
  /** L1101. */
  value: string;
}

/** One G62: a date with an optional time, time qualifier and time code. */
export interface DateTimeSpec {
  qualifier: DateQualifier;
  /** CCYYMMDD, a real date. */
  date: string;
  /** G6203 (176), e.g. I earliest / K latest requested pickup. */
  timeQualifier: string | undefined;
  /** HHMM[SS[D[D]]], a real time. */
  time: string | undefined;
  /** G6205 (623): UT, CT, ET, …, LT; undefined when not sent. */
  timeCode: string | undefined;
}

export interface Party {
  /** N101 (98): SH shipper, CN consignee, SF ship from, ST ship to, BT bill to, … */
  entity: string;
  name: string;
  /** N103 / N104. */
  idQualifier: string | undefined;
  id: string | undefined;
  /** N301, N302 (and a second N3). */
  street: string[];
  /** N401 … N404. */
  city: string | undefined;
  state: string | undefined;
  postalCode: string | undefined;
  country: string | undefined;
}

export interface Equipment {
  /** N711 (40), e.g. TL, RT, FT. */
  code: EquipmentCode | undefined;
  initial: string | undefined;
  /** N702. */
  number: string;
}

export interface Stop {
  /** S501. */
  sequence: number;
  /** S502 (1025). */
  reason: StopReasonCode;
  kind: 'pickup' | 'delivery';
  /** S503 / S504, or the stop's AT8. */
  weight: Weight | undefined;
  dates: DateTimeSpec[];
  references: Reference[];
  parties: Party[];
  /** AT5 HM or any hazardous-material segment (LH1, LH2, LH3, LFH, LEP, LH4, LHT, LHR, LH6) in the stop. */
  hazmat: boolean;
  notes: string[];
}

export interface Rate {
  /** L303 freight rate and L304 (122) rate/value qualifier, e.g. FR flat, PM per mile. */
  rate: number | undefined;
  qualifier: string | undefined;
  /** L305 charge, in currency units (X12 N2: two implied decimals). */
  charge: number | undefined;
}

export interface LoadTender {
  version: X12Version;
  /** ST02 of the 204. */
  transactionSetControlNumber: string;
  /** B204: the shipper's shipment identification, echoed in the 990 (B102) and 214 (B1002). */
  shipmentId: string;
  /** B202. */
  scac: string | undefined;
  /** B206 (146) shipment method of payment, e.g. PP prepaid. */
  paymentMethod: string | undefined;
  /** B2A01. */
  purpose: TenderPurpose;
  /** B2A02 (346), e.g. LT. */
  applicationType: string | undefined;
  references: Reference[];
  /** G62 with qualifier 64 (must respond by) in the heading. */
  respondBy: DateTimeSpec | undefined;
  /** AT5 HM in the heading, or any stop's hazmat indicator. */
  hazmat: boolean;
  specialHandling: string[];
  notes: string[];
  parties: Party[];
  equipment: Equipment[];
  stops: Stop[];
  /** L3 total weight. */
  weight: Weight | undefined;
  rate: Rate | undefined;
}
