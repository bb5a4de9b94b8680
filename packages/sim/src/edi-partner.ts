/**
 * A simulated EDI trading partner (a broker whose TMS speaks X12, issue 6): it writes a 204 Motor Carrier
 * Load Tender for each load, uploads the interchange over HTTPS to the control plane (mTLS + bound token,
 * POST /v1/edi/interchanges), and collects what the gateway sends back from its EDI outbox — the 997
 * acknowledgment, the 990 response (accept/decline) and a 214 shipment status for each step to delivery.
 * Its interchange control numbers increase and are never reused, as a real translator's are.
 */
import type { TokenBinding } from './partner-token.ts';
import { type PartnerCredentials, type TenderBody, TmsClient } from './tms.ts';

export interface EdiIds {
  /** ISA05/ISA06 of the partner and ISA07/ISA08 of the gateway. */
  partnerQualifier: string;
  partnerId: string;
  gatewayQualifier: string;
  gatewayId: string;
  /** GS02 / GS03 (default the ISA ids). */
  partnerGsId?: string;
  gatewayGsId?: string;
}

export interface EdiPartnerStats {
  interchangesSent: number;
  interchangesRefused: number;
  /** Outbound documents received from the gateway, by transaction set (997, 990, 214). */
  received: Record<string, number>;
}

const pad = (value: string, width: number) => value.padEnd(width).slice(0, width);
const yymmdd = (d: Date) => d.toISOString().slice(2, 10).replaceAll('-', '');
const ccyymmdd = (d: Date) => d.toISOString().slice(0, 10).replaceAll('-', '');
const hhmm = (d: Date) => d.toISOString().slice(11, 16).replace(':', '');

/** "Dallas, TX" → ["DALLAS", "TX"]. */
function cityState(place: string): [string, string] {
  const [city = '', state = ''] = place.split(',').map((p) => p.trim());
  return [city.toUpperCase(), state.toUpperCase()];
}

const EQUIPMENT: Record<TenderBody['equipment'], string> = {
  dry_van: 'TL',
  reefer: 'RT',
  flatbed: 'FT',
  tanker: 'TN',
};

/** One X12 004010 interchange holding one 204 for `tender`, all times UTC. */
export function build204(
  tender: TenderBody,
  ids: EdiIds,
  control: number,
  now: Date,
  usage: 'P' | 'T' = 'P',
): string {
  const isa13 = String(control).padStart(9, '0');
  const gsControl = String(control);
  const pickupStart = new Date(tender.pickupWindow.start);
  const pickupEnd = new Date(tender.pickupWindow.end);
  const deliverBy = new Date(tender.deliverBy);
  const [fromCity, fromState] = cityState(tender.origin);
  const [toCity, toState] = cityState(tender.destination);
  const weight = String(tender.weightKg);
  const body: string[][] = [
    ['B2', '', 'FGAT', '', tender.reference, '', 'PP'],
    ['B2A', '00', 'LT'],
    ['L11', tender.reference, 'PO'],
    ['N7', '', 'TRL-1', '', '', '', '', '', '', '', '', EQUIPMENT[tender.equipment]],
    ['S5', '1', 'LD', weight, 'K'],
    ['G62', '37', ccyymmdd(pickupStart), 'I', hhmm(pickupStart), 'UT'],
    ['G62', '38', ccyymmdd(pickupEnd), 'K', hhmm(pickupEnd), 'UT'],
    ['N1', 'SF', 'SHIPPER', '93', 'SF1'],
    ['N4', fromCity, fromState, '', 'US'],
    ['S5', '2', 'UL', weight, 'K'],
    ['G62', '54', ccyymmdd(deliverBy), 'L', hhmm(deliverBy), 'UT'],
    ['N1', 'ST', 'CONSIGNEE', '93', 'ST1'],
    ['N4', toCity, toState, '', 'US'],
  ];
  // Hazardous material: special handling HM in the heading (AT5).
  if (tender.hazmat) body.splice(3, 0, ['AT5', 'HM']);
  const segments = [
    [
      'ISA',
      '00',
      pad('', 10),
      '00',
      pad('', 10),
      ids.partnerQualifier,
      pad(ids.partnerId, 15),
      ids.gatewayQualifier,
      pad(ids.gatewayId, 15),
      yymmdd(now),
      hhmm(now),
      'U',
      '00401',
      isa13,
      '0',
      usage,
      '>',
    ],
    [
      'GS',
      'SM',
      ids.partnerGsId ?? ids.partnerId,
      ids.gatewayGsId ?? ids.gatewayId,
      ccyymmdd(now),
      hhmm(now),
      gsControl,
      'X',
      '004010',
    ],
    ['ST', '204', '0001'],
    ...body,
    ['SE', String(body.length + 2), '0001'],
    ['GE', '1', gsControl],
    ['IEA', '1', isa13],
  ];
  return segments.map((s) => `${s.join('*')}~\n`).join('');
}

export class EdiPartner {
  readonly stats: EdiPartnerStats = { interchangesSent: 0, interchangesRefused: 0, received: {} };
  /** Every outbound document fetched, oldest first (type and raw X12), for checking by the caller. */
  readonly documents: { id: string; type: string; x12: string }[] = [];
  readonly #client: TmsClient;
  readonly #ids: EdiIds;
  #control: number;
  #outboxCursor: string | undefined;

  constructor(options: {
    baseUrl: string;
    credentials: PartnerCredentials;
    ids: EdiIds;
    /** First interchange control number (1–999,999,999); a restarted partner continues above it. */
    firstControlNumber: number;
    binding?: TokenBinding;
  }) {
    this.#client = new TmsClient(options.baseUrl, options.credentials, {
      scope: 'tenders:write tenders:read tracking:read',
      ...(options.binding === undefined ? {} : { binding: options.binding }),
    });
    this.#ids = options.ids;
    this.#control = options.firstControlNumber;
  }

  /** Uploads one 204 for `tender`; answers the gateway's JSON (per-set results and the 997). */
  async tender(
    tender: TenderBody,
    usage: 'P' | 'T' = 'P',
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const control = this.#control;
    this.#control += 1;
    const x12 = build204(tender, this.#ids, control, new Date(), usage);
    const res = await this.#client.send('POST', '/v1/edi/interchanges', x12, 'application/edi-x12');
    if (res.status >= 200 && res.status < 300) this.stats.interchangesSent += 1;
    else this.stats.interchangesRefused += 1;
    return res;
  }

  /** Moves past what the outbox already holds (documents of an earlier run), without fetching them. */
  async skipExisting(): Promise<void> {
    for (let page = 0; page < 1000; page++) {
      const query =
        this.#outboxCursor === undefined ? '' : `?after=${encodeURIComponent(this.#outboxCursor)}`;
      const list = await this.#client.call('GET', `/v1/edi/outbound${query}`);
      const items = Array.isArray(list.body.items) ? (list.body.items as Record<string, unknown>[]) : [];
      if (list.status !== 200 || items.length === 0) return;
      this.#outboxCursor = String(items.at(-1)?.id);
    }
  }

  /** Fetches every new outbound document from the EDI outbox. */
  async collect(): Promise<number> {
    let fetched = 0;
    for (let page = 0; page < 20; page++) {
      const query =
        this.#outboxCursor === undefined ? '' : `?after=${encodeURIComponent(this.#outboxCursor)}`;
      const list = await this.#client.call('GET', `/v1/edi/outbound${query}`);
      if (list.status !== 200) return fetched;
      const items = Array.isArray(list.body.items) ? (list.body.items as Record<string, unknown>[]) : [];
      if (items.length === 0) return fetched;
      for (const item of items) {
        const id = String(item.id);
        const type = String(item.type);
        const doc = await this.#client.call('GET', `/v1/edi/outbound/${encodeURIComponent(id)}`);
        const x12 = typeof doc.body.raw === 'string' ? doc.body.raw : '';
        this.documents.push({ id, type, x12 });
        this.stats.received[type] = (this.stats.received[type] ?? 0) + 1;
        this.#outboxCursor = id;
        fetched += 1;
      }
    }
    return fetched;
  }

  close(): void {
    this.#client.close();
  }
}
