/**
 * Reissues the CRL of every live intermediate once and writes DIR/pki/crl.der and crl.pem — for a
 * process that is not a running gateway (`fleetgate device revoke` right after revoking). It uses the
 * same store rows and lock as the gateway's publisher (crl-publisher.ts), so CRL numbers stay strictly
 * increasing whether the CLI or a gateway node signs, and an unchanged, not-yet-due CRL is not re-signed.
 */
import type { AuditLog } from '../../audit/log.ts';
import type { RevocationConfig } from '../../config/config.ts';
import type { Store } from '../../store/store.ts';
import { readAuthorities } from './authorities.ts';
import { crlPaths, writeCrlFiles } from './crl-files.ts';
import { type CrlDocument, CrlPublisher } from './crl-publisher.ts';

export interface ReissueCrlsResult {
  /** The CRLs now published, issuing intermediate first (none before `fleetgate init`). */
  readonly crls: readonly CrlDocument[];
  /** Why a CA key could not be used (its stored CRL was published as it is), if one could not. */
  readonly keyError: unknown;
  /** Where the PEM bundle was written. */
  readonly pemPath: string | undefined;
}

export async function reissueCrls(options: {
  dataDir: string;
  store: Store;
  audit: AuditLog;
  now: () => Date;
  config: RevocationConfig;
}): Promise<ReissueCrlsResult> {
  const { list, keyError } = await readAuthorities(options.dataDir);
  const crls: CrlDocument[] = [];
  for (const authority of list) {
    const publisher = new CrlPublisher({
      store: options.store,
      audit: options.audit,
      issuer: authority.issuer,
      ca: authority.ca,
      now: options.now,
      validitySeconds: options.config.crlValiditySeconds,
      reissueSeconds: options.config.crlReissueSeconds,
    });
    const crl = await publisher.publish();
    if (crl !== undefined) crls.push(crl);
  }
  await writeCrlFiles(options.dataDir, crls);
  return { crls, keyError, pemPath: crls.length > 0 ? crlPaths(options.dataDir).pem : undefined };
}
