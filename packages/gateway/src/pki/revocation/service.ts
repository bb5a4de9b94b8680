/**
 * Revocation in a running gateway: wires the CRL publisher, the OCSP responder and connection
 * enforcement to one store and keeps them current.
 *
 *   start   load the issuing CA (to sign the CRL and the responder certificate; without it the gateway
 *           still serves the stored CRL and enforces), make sure the delegated OCSP responder
 *           certificate exists and is fresh, publish the CRL, load the revoked set;
 *   notice  a revocation committed in this process (signal.ts): enforce it and reissue the CRL before
 *           revokeCertificate returns;
 *   poll    every `refreshIntervalMs` (≤ 1 s): revocations made elsewhere are enforced, and the CRL is
 *           reissued for them;
 *   timer   every CRL_CHECK_INTERVAL_MS: the CRL is reissued when due (`crlReissueSeconds` after its
 *           thisUpdate) and the responder certificate renewed when 10 days remain.
 * A failing task is logged and retried at its next tick; it never stops the gateway.
 */
import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditLog } from '../../audit/log.ts';
import type { RevocationConfig } from '../../config/config.ts';
import type { Store } from '../../store/store.ts';
import { type IssuingCa, loadIssuingCa } from '../ca.ts';
import { readCertificateIfExists } from '../internal/files.ts';
import { caPaths } from '../internal/layout.ts';
import { thumbprintOf } from '../inventory.ts';
import { type CrlDocument, CrlPublisher } from './crl-publisher.ts';
import { RevocationEnforcer } from './enforcement.ts';
import { registerRevocationMetrics } from './metrics.ts';
import { OcspResponder } from './ocsp-responder.ts';
import { ensureOcspResponder, type OcspResponderKeys } from './responder-certificate.ts';
import { onRevocation } from './signal.ts';

export const CRL_CHECK_INTERVAL_MS = 30_000;
const RESPONDER_CHECK_INTERVAL_MS = 60 * 60 * 1000;

export interface RevocationServiceOptions {
  readonly dataDir: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly now: () => Date;
  readonly logger: Logger;
  readonly config: RevocationConfig;
  /** The gateway's metrics registry. */
  readonly registry: Registry;
}

export interface RevocationService {
  readonly enforcer: RevocationEnforcer;
  /** Undefined when the data directory has no issuing CA certificate. */
  readonly ocsp: OcspResponder | undefined;
  /** The CRL being served, if one was published. */
  crl(): CrlDocument | undefined;
  /** One poll of the store now (what the timer does). */
  refresh(): Promise<void>;
  /** Stops the timers and waits for audit appends in flight. */
  close(): Promise<void>;
}

export async function startRevocationService(options: RevocationServiceOptions): Promise<RevocationService> {
  const { dataDir, store, audit, now, config } = options;
  const logger = options.logger.child({ component: 'revocation' });
  const issuer: X509Certificate | undefined = await readCertificateIfExists(caPaths(dataDir, 'intermediate').cert);
  let ca: IssuingCa | undefined;
  if (issuer !== undefined) {
    try {
      ca = await loadIssuingCa(dataDir);
    } catch (error) {
      logger.warn({ err: error }, 'issuing CA unavailable: serving the stored CRL, not signing new ones');
    }
  }

  let responder: OcspResponderKeys | undefined;
  const renewResponder = async (): Promise<void> => {
    if (issuer === undefined) return;
    const result = await ensureOcspResponder(dataDir, issuer, ca, now());
    responder = result;
    if (result.issued) {
      await audit.append({
        class: 'pki.certificate.issued',
        actor: { kind: 'system', id: 'ocsp-responder' },
        subject: { kind: 'ocsp-responder', id: result.certificate.serialNumber.toLowerCase() },
        outcome: 'recorded',
        details: {
          certSha256: thumbprintOf(result.certificate),
          notAfter: result.certificate.validToDate.toISOString(),
        },
      });
    }
  };
  const publisher =
    issuer === undefined
      ? undefined
      : new CrlPublisher({
          store,
          audit,
          dataDir,
          issuer,
          ca,
          now,
          validitySeconds: config.crlValiditySeconds,
          reissueSeconds: config.crlReissueSeconds,
        });
  const metrics = registerRevocationMetrics(options.registry, { crl: () => publisher?.latest(), now });
  const enforcer = new RevocationEnforcer({ store, audit, logger, metrics });
  const ocsp =
    issuer === undefined
      ? undefined
      : new OcspResponder({
          store,
          issuer,
          keys: () => responder,
          now,
          validitySeconds: config.ocspValiditySeconds,
        });

  const inFlight = new Set<Promise<void>>();
  const logged =
    (what: string, task: () => Promise<unknown>) =>
    (): Promise<void> => {
      const run = task().then(
        () => undefined,
        (error: unknown) => {
          logger.error({ err: error }, `${what} failed`);
        },
      );
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
      return run;
    };
  const publishCrl = logged('CRL publication', async () => publisher?.publish());
  const renew = logged('OCSP responder certificate renewal', renewResponder);
  let polling: Promise<void> | undefined;
  const poll = (): Promise<void> => {
    polling ??= logged('revocation poll', async () => {
      const added = await enforcer.refresh();
      if (added.length > 0) await publishCrl();
    })().finally(() => {
      polling = undefined;
    });
    return polling;
  };

  await renew();
  await publishCrl();
  await poll();
  const unsubscribe = onRevocation(store, async (notice) => {
    metrics.revocations.inc({ reason: notice.reason });
    await enforcer.revokedNow(notice.serialNumber);
    await publishCrl();
  });
  const timers = [
    setInterval(poll, config.refreshIntervalMs),
    setInterval(publishCrl, CRL_CHECK_INTERVAL_MS),
    setInterval(renew, RESPONDER_CHECK_INTERVAL_MS),
  ];
  for (const timer of timers) timer.unref();

  return {
    enforcer,
    ocsp,
    crl: () => publisher?.latest(),
    refresh: poll,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      unsubscribe();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await enforcer.settled();
    },
  };
}
