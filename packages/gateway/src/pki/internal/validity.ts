/**
 * Validity periods (RFC 5280 §4.1.2.5). Defaults per profile, a 5-minute backdate of notBefore so a
 * peer whose clock runs slightly behind does not refuse a fresh certificate, and explicit overrides so
 * tests can mint expired and not-yet-valid certificates.
 *
 * Threat: a leaf that outlives its issuer, or an empty/inverted window, would be refused at validation
 * time anyway; it is refused here, at issuance, so the mistake surfaces when it is made.
 */
import { PkiError } from '../errors.ts';

export type CertificateProfile = 'root' | 'intermediate' | 'server' | 'partner' | 'device';

export const DEFAULT_VALIDITY_DAYS: Readonly<Record<CertificateProfile, number>> = {
  root: 3650,
  intermediate: 1825,
  server: 365,
  partner: 365,
  device: 90,
};

/** notBefore is backdated by this much to absorb clock skew between us and the peer. */
export const CLOCK_SKEW_BACKDATE_MS = 5 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface ValidityOptions {
  /** The issuance instant; default the current time. */
  readonly now?: Date;
  /** Explicit start; default `now` minus 5 minutes. */
  readonly notBefore?: Date;
  /** Explicit end; default `now` plus `validityDays`. */
  readonly notAfter?: Date;
  /** Length in days when `notAfter` is absent; default per profile (DEFAULT_VALIDITY_DAYS). */
  readonly validityDays?: number;
}

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function isValidDate(date: Date): boolean {
  return !Number.isNaN(date.getTime());
}

/**
 * Resolves the window for one certificate. Certificate times have one-second resolution, so both ends
 * are truncated to whole seconds. `issuerNotAfter` is absent for a self-signed certificate.
 */
export function resolveValidity(
  profile: CertificateProfile,
  options: ValidityOptions,
  issuerNotAfter?: Date,
): Validity {
  const now = options.now ?? new Date();
  const days = options.validityDays ?? DEFAULT_VALIDITY_DAYS[profile];
  if (!isValidDate(now) || !Number.isFinite(days) || days <= 0) {
    throw new PkiError(
      'PKI_INVALID_ARGUMENT',
      `invalid issuance time or validity for the ${profile} profile`,
    );
  }
  const start = options.notBefore ?? new Date(now.getTime() - CLOCK_SKEW_BACKDATE_MS);
  const end = options.notAfter ?? new Date(now.getTime() + Math.round(days * DAY_MS));
  const notBefore = new Date(Math.floor(start.getTime() / 1000) * 1000);
  const notAfter = new Date(Math.floor(end.getTime() / 1000) * 1000);
  if (!isValidDate(notBefore) || !isValidDate(notAfter) || notAfter.getTime() <= notBefore.getTime()) {
    throw new PkiError('PKI_INVALID_ARGUMENT', `empty or inverted validity for the ${profile} profile`);
  }
  if (issuerNotAfter !== undefined && notAfter.getTime() > issuerNotAfter.getTime()) {
    throw new PkiError(
      'PKI_INVALID_ARGUMENT',
      `a ${profile} certificate may not outlive its issuer (${issuerNotAfter.toISOString()})`,
    );
  }
  return { notBefore, notAfter };
}
