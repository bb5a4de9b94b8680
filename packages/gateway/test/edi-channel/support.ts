/**
 * The EDI channel tests' gateway and files: the tender API test gateway (tendering/support.ts: acme-tms,
 * globex-tms, ops-console with certificate-bound tokens) with EDI identities for acme (ZZ ACMETMS) and
 * globex (ZZ GLOBEXTMS), and a 204 builder whose dates are relative to now, so the decision engine accepts
 * it on any day.
 */
import type { GatewayConfig } from '../../src/config/config.ts';
import { parseInterchange } from '../../src/edi/parse-interchange.ts';
import type { Segment } from '../../src/edi/types.ts';
import { certThumbprint } from '../auth/resource/support/mint.ts';
import { hm, x12, ymd } from '../edi/support.ts';
import type { EngineCase } from '../support/engines.ts';
import { startTenderApi, type TenderApi } from '../tendering/support.ts';

export const ISA_ID = { 'acme-tms': 'ACMETMS', 'globex-tms': 'GLOBEXTMS' } as const;

/** The EDI test configuration (also for a second node of the same gateway). */
export function withEdiPartners(config: GatewayConfig): void {
  for (const p of config.partners) {
    if (p.id === 'acme-tms' || p.id === 'globex-tms') {
      p.edi = { isaQualifier: 'ZZ', isaId: ISA_ID[p.id], localTimeZone: 'America/Chicago' };
    }
  }
  config.tenderEngine.fleetSize = 1000;
  // The background loop runs rarely; tests drive it with gateway.edi.runOnce().
  config.edi.pollIntervalMs = 600_000;
}

export async function startEdiApi(
  engine: EngineCase,
  tweak?: (config: GatewayConfig) => void,
): Promise<TenderApi> {
  return startTenderApi(engine, (config) => {
    withEdiPartners(config);
    tweak?.(config);
  });
}

export interface Tender204 {
  shipmentId: string;
  /** ISA06; default ACMETMS. */
  sender?: string;
  /** ISA08; default FLEETGATE. */
  receiver?: string;
  /** ISA13, nine digits. */
  icn: string;
  usage?: 'P' | 'T';
  version?: '4010' | '5010';
  /** B2A01: 00 original, 01 cancellation, 04 change. */
  purpose?: '00' | '01' | '04';
  /** Replaces the body (e.g. to break it). */
  body?: string[][];
}

/** A 204 on Dallas → Houston, pickup 24–28 h from now, delivery by 44 h (UTC times). */
export function tender204(o: Tender204): string {
  const v = o.version ?? '4010';
  const now = new Date();
  const start = new Date(Math.ceil(now.getTime() / 3_600_000) * 3_600_000 + 24 * 3_600_000);
  const end = new Date(start.getTime() + 4 * 3_600_000);
  const by = new Date(start.getTime() + 20 * 3_600_000);
  const body = o.body ?? [
    ['B2', '', 'FGAT', '', o.shipmentId, '', 'PP'],
    ['B2A', o.purpose ?? '00', 'LT'],
    ['N7', '', 'TRL-1', '', '', '', '', '', '', '', '', 'TL'],
    ['S5', '1', 'LD', '40000', 'L'],
    ['G62', '37', ymd(start), 'I', hm(start), 'UT'],
    ['G62', '38', ymd(end), 'K', hm(end), 'UT'],
    ['N1', 'SF', 'ACME', '93', 'D1'],
    ['N4', 'DALLAS', 'TX', '75201', 'US'],
    ['S5', '2', 'UL', '40000', 'L'],
    ['G62', '54', ymd(by), 'L', hm(by), 'UT'],
    ['N1', 'ST', 'ACME', '93', 'H1'],
    ['N4', 'HOUSTON', 'TX', '77002', 'US'],
  ];
  return x12(body, {
    version: v,
    usage: o.usage ?? 'P',
    sender: o.sender ?? 'ACMETMS',
    receiver: o.receiver ?? 'FLEETGATE',
    at: now,
    icn: o.icn,
    group: '7',
  });
}

let counter = 100_000_000 + Math.floor(Math.random() * 800_000_000);
/** A fresh ISA13. */
export function nextIcn(): string {
  counter += 1;
  return String(counter).padStart(9, '0');
}

/** The single set's body segments of an outbound X12 message, parsed by the codec. */
export function bodyOf(x12: string): { functionalId: string; test: boolean; segments: readonly Segment[] } {
  const ic = parseInterchange(x12);
  const group = ic.groups[0];
  const set = group?.transactionSets[0];
  if (group === undefined || set === undefined) throw new Error('no set');
  return { functionalId: group.functionalId, test: ic.test, segments: set.body };
}

export const segment = (segments: readonly Segment[], id: string): readonly string[] => {
  const s = segments.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no ${id}`);
  return s.elements;
};

export const upload = (api: TenderApi, who: 'acme-tms' | 'globex-tms', x12: string | Uint8Array) =>
  api.call(
    who,
    'POST',
    '/v1/edi/interchanges',
    typeof x12 === 'string' ? x12 : Buffer.from(x12).toString('latin1'),
    {
      'content-type': 'application/edi-x12',
    },
  );

export interface OutboxItem {
  id: string;
  type: '997' | '990' | '214';
  tenderId: string | null;
  controlNumber: string;
  sandbox: boolean;
}

export async function outbox(api: TenderApi, who: 'acme-tms' | 'globex-tms'): Promise<OutboxItem[]> {
  const page = await api.call(who, 'GET', '/v1/edi/outbound?after=0&limit=1000');
  if (page.status !== 200) throw new Error(`outbox ${page.status} ${page.text}`);
  return page.json().items as OutboxItem[];
}

export async function outboundText(
  api: TenderApi,
  who: 'acme-tms' | 'globex-tms',
  id: string,
): Promise<string> {
  const one = await api.call(who, 'GET', `/v1/edi/outbound/${id}`);
  if (one.status !== 200) throw new Error(`outbound ${one.status}`);
  return one.text;
}

/** A certificate-bound token for `who` (as TenderApi mints its own), for requests sent by hand. */
export async function tokenFor(api: TenderApi, who: 'acme-tms' | 'globex-tms'): Promise<string> {
  const { token } = await api.t.token({
    clientId: who,
    tenant: who === 'acme-tms' ? 'acme' : 'globex',
    scope: 'tenders:write tenders:read tracking:read',
    lifetimeSeconds: 3600,
    cnf: { 'x5t#S256': certThumbprint(api.t.partner(who).cert) },
  });
  return token;
}
