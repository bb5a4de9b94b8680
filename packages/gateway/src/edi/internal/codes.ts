/**
 * The X12 code values this codec accepts, per element (ASC X12 data element dictionary: 353, 1025, 40,
 * 187, 188, 432, 62, 98, 1650, 1651). Each list is deliberately closed: a value outside it is refused
 * with EDI_UNKNOWN_CODE rather than passed on with an unknown meaning (docs/tendering.md#edi-x12).
 */

/** B2A01 (353) Transaction Set Purpose Code. */
export const PURPOSE_CODES = {
  '00': 'original',
  '01': 'cancellation',
  '04': 'change',
  '05': 'replace',
} as const;

/** S502 (1025) Stop Reason Code: which stops pick up and which deliver. */
export const STOP_REASONS = {
  LD: 'pickup', // load
  CL: 'pickup', // complete load
  PL: 'pickup', // part load
  UL: 'delivery', // unload
  CU: 'delivery', // complete unload
  PU: 'delivery', // part unload
} as const;

/** N711 (40) Equipment Description Code → the gateway's equipment. */
export const EQUIPMENT_CODES = {
  TL: 'dry_van', // trailer (not otherwise specified)
  TF: 'dry_van', // trailer, dry freight
  TV: 'dry_van', // truck, van
  CV: 'dry_van', // closed van
  HV: 'dry_van', // high cube van
  CN: 'dry_van', // container
  RT: 'reefer', // controlled temperature trailer (reefer)
  FF: 'reefer', // frozen food trailer
  CZ: 'reefer', // refrigerated container
  FT: 'flatbed', // flat bed trailer
  FH: 'flatbed', // flat bed trailer with headboards
  FN: 'flatbed', // flat bed trailer with no headboards
  FR: 'flatbed', // flat bed trailer, removable sides
  DD: 'flatbed', // double-drop trailer
  CX: 'tanker', // container, tank
  CW: 'tanker', // container, tank (chemicals)
  CQ: 'tanker', // container, tank (food grade liquid)
  CG: 'tanker', // container, tank (gas)
} as const;

/** AT801 / L302 / N704 (187) Weight Qualifier. */
export const WEIGHT_QUALIFIERS = ['G', 'N', 'E'] as const;

/** AT802 / L312 / S504 (188) Weight Unit Code: pounds or kilograms. */
export const WEIGHT_UNITS = ['L', 'K'] as const;

/** G6201 (432) Date Qualifier, with its role in a stop's window. */
export const DATE_QUALIFIERS = {
  '10': 'pickup', // requested ship date / pickup date
  '37': 'pickup-start', // ship not before
  '38': 'pickup-end', // ship not later than
  '69': 'pickup', // scheduled pickup date
  '77': 'pickup', // pickup appointment scheduled date
  '53': 'delivery-start', // deliver not before
  '54': 'delivery-end', // deliver no later than
  '68': 'delivery', // requested delivery date
  '70': 'delivery', // scheduled delivery date
  '78': 'delivery', // delivery appointment scheduled date
  '17': 'delivery', // estimated delivery date
  '64': 'respond-by', // must respond by
} as const;

/** G6203 (176) Time Qualifier: earliest / latest requested pickup or delivery, scheduled, specified. */
export const TIME_QUALIFIERS = {
  G: 'start', // earliest requested delivery time
  I: 'start', // earliest requested pickup time
  K: 'end', // latest requested pickup time
  L: 'end', // latest requested delivery time
  U: 'at', // scheduled time
  Y: 'at', // specified time
  Z: 'at', // as of
} as const;

/** N101 (98) Entity Identifier Code for the parties of a 204. */
export const ENTITY_CODES = ['SH', 'CN', 'BT', 'SF', 'ST', 'CA', 'BY', 'SU', 'PF', 'WH', 'LW'] as const;

/** AT701 (1650) Shipment Status Code for the 214. */
export const STATUS_CODES = {
  X3: 'arrived at pick-up location',
  X8: 'arrived at pick-up location loading dock',
  CP: 'completed loading at pick-up location',
  AF: 'carrier departed pick-up location with shipment',
  X6: 'en route to delivery location',
  X2: 'estimated date and/or time of arrival at consignee',
  AG: 'estimated delivery',
  SD: 'shipment delayed',
  X1: 'arrived at delivery location',
  X5: 'arrived at delivery location loading dock',
  D1: 'completed unloading at delivery location',
  CD: 'carrier departed delivery location',
  AA: 'pick-up appointment date and/or time',
  AB: 'delivery appointment date and/or time',
} as const;

/** AT702 (1651) Shipment Status or Appointment Reason Code for the 214. */
export const STATUS_REASONS = {
  NS: 'normal status',
  A1: 'missed delivery',
  AF: 'accident',
  AI: 'mechanical breakdown',
  AJ: 'other carrier-related',
  AM: 'shipper related',
  AO: 'weather or natural disaster related',
  AX: 'insufficient time to complete delivery',
} as const;
