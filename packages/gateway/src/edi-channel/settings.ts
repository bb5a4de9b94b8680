/**
 * The EDI channel's view of the configuration (issue 6 §6; docs/tendering.md "Transport"): our identity
 * (edi) and each partner's (partners[].edi). The routes receive the gateway's whole configuration through
 * TenderDeps, typed narrower; `ediSettingsOf` reads it back with a check instead of a cast, and falls back
 * to the defaults (no partner has EDI) when a caller, e.g. a benchmark, passes a partial configuration.
 */
import {
  defaultEdiConfig,
  type EdiConfig,
  type PartnerConfig,
  type PartnerEdiConfig,
} from '../config/config.ts';

export interface EdiSettings {
  edi: EdiConfig;
  partners: readonly PartnerConfig[];
}

export function ediSettingsOf(config: object): EdiSettings {
  const c = config as { edi?: unknown; partners?: unknown };
  const edi = typeof c.edi === 'object' && c.edi !== null ? (c.edi as EdiConfig) : defaultEdiConfig();
  const partners = Array.isArray(c.partners) ? (c.partners as PartnerConfig[]) : [];
  return { edi, partners };
}

/** The partner's configured EDI identity, or undefined when it has none (it cannot send EDI). */
export function partnerEdiOf(settings: EdiSettings, partnerId: string): PartnerEdiConfig | undefined {
  return settings.partners.find((p) => p.id === partnerId)?.edi;
}

/** Our SCAC in messages to this partner. */
export function scacFor(settings: EdiSettings, partner: PartnerEdiConfig): string {
  return partner.scac ?? settings.edi.scac;
}

/**
 * Our reference for a tender in 990 N9 and 214 B10 (1–30 characters): the tender id's first 30 hex digits
 * (its 48-bit time and 72 random bits); the full id goes in the 214's L11 `CN`.
 */
export function carrierReference(tenderId: string): string {
  return tenderId.replace(/^tnd_/, '').replaceAll('-', '').slice(0, 30);
}
