/**
 * Revocation in a running gateway: wires the CRL publishers, the OCSP responder and connection
 * enforcement to one store and keeps them current.
 *
 *   start     read the authorities (issuing intermediate, and the previous one during a CA rollover),
 *             make sure each has a fresh delegated OCSP responder certificate, publish their CRLs, load
 *             the revoked set; without a CA key the stored CRL is still served and enforcement runs;
 *   notice    a revocation committed in this process (signal.ts): enforce it and reissue the CRLs before
 *             revokeCertificate returns;
 *   poll      every `refreshIntervalMs` (≤ 1 s): revocations made elsewhere are enforced, and the CRLs
 *             reissued for them;
 *   hierarchy every HIERARCHY_CHECK_INTERVAL_MS: a CA rollover (or its completion) swaps the
 *             authorities without a restart; a CA key that could not be opened is retried;
 *   timers    every CRL_CHECK_INTERVAL_MS the CRLs are reissued when due (`crlReissueSeconds` after
 *             thisUpdate); hourly, responder certificates are renewed when 10 days remain.
 * A failing task is logged and retried at its next tick; it never stops the gateway.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditLog } from '../../audit/log.ts';
import type { RevocationConfig } from '../../config/config.ts';
import type { Store } from '../../store/store.ts';
import { thumbprintOf } from '../inventory.ts';
import { type RevocationAuthority, readAuthorities } from './authorities.ts';
import { writeCrlFiles } from './crl-files.ts';
import { type CrlDocument, CrlPublisher } from './crl-publisher.ts';
import { RevocationEnforcer } from './enforcement.ts';
import { registerRevocationMetrics } from './metrics.ts';
import { type OcspAuthority, OcspResponder } from './ocsp-responder.ts';
import { ensureOcspResponder, type OcspResponderKeys } from './responder-certificate.ts';
import { onRevocation } from './signal.ts';

export const CRL_CHECK_INTERVAL_MS = 30_000;
export const HIERARCHY_CHECK_INTERVAL_MS = 5_000;
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
  readonly ocsp: OcspResponder;
  /** The issuing intermediate's CRL being served, if one was published. */
  crl(): CrlDocument | undefined;
  /** Every live intermediate's CRL, PEM, issuing first (what DIR/pki/crl.pem holds). */
  crlBundlePem(): string | undefined;
  /** One poll of the store now (what the timer does). */
  refresh(): Promise<void>;
  /** Stops the timers and waits for the work in flight (audit appends, CRL writes). */
  close(): Promise<void>;
}

interface LiveAuthority extends RevocationAuthority {
  readonly publisher: CrlPublisher;
  keys: OcspResponderKeys | undefined;
}

export async function startRevocationService(options: RevocationServiceOptions): Promise<RevocationService> {
  const { dataDir, store, audit, now, config } = options;
  const logger = options.logger.child({ component: 'revocation' });
  let authorities: LiveAuthority[] = [];
  let loaded: string | undefined; // fingerprint of `authorities`, once their keys opened
  let published: CrlDocument[] = [];

  const inFlight = new Set<Promise<void>>();
  const logged = (what: string, task: () => Promise<unknown>) => (): Promise<void> => {
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

  const renewResponders = async (): Promise<void> => {
    for (const authority of authorities) {
      const result = await ensureOcspResponder(
        dataDir,
        authority.issuer,
        authority.ca,
        now(),
        authority.role,
      );
      authority.keys = result;
      if (!result.issued) continue;
      await audit.append({
        class: 'pki.certificate.issued',
        actor: { kind: 'system', id: 'ocsp-responder' },
        subject: { kind: 'ocsp-responder', id: result.certificate.serialNumber.toLowerCase() },
        outcome: 'recorded',
        details: {
          certSha256: thumbprintOf(result.certificate),
          issuerSha256: authority.issuerSha256,
          notAfter: result.certificate.validToDate.toISOString(),
        },
      });
    }
  };
  // One publication at a time, in call order: a slower, older run must never write its CRLs over the
  // files of a newer one.
  let publications: Promise<void> = Promise.resolve();
  const publishAll = (): Promise<void> => {
    const run = publications.then(async () => {
      const crls: CrlDocument[] = [];
      for (const authority of authorities) {
        const crl = await authority.publisher.publish();
        if (crl !== undefined) crls.push(crl);
      }
      published = crls;
      await writeCrlFiles(dataDir, crls);
    });
    publications = run.catch(() => undefined);
    return run;
  };
  const reloadAuthorities = async (): Promise<void> => {
    const read = await readAuthorities(dataDir);
    if (read.fingerprint === loaded) return;
    const previous = new Map(authorities.map((a) => [`${a.role}:${a.issuerSha256}`, a]));
    authorities = read.list.map((a) => ({
      ...a,
      publisher: new CrlPublisher({
        store,
        audit,
        issuer: a.issuer,
        ca: a.ca,
        now,
        validitySeconds: config.crlValiditySeconds,
        reissueSeconds: config.crlReissueSeconds,
      }),
      keys: previous.get(`${a.role}:${a.issuerSha256}`)?.keys,
    }));
    if (read.keyError === undefined) loaded = read.fingerprint;
    else logger.warn({ err: read.keyError }, 'CA key unavailable: serving stored CRLs, retrying');
    logger.info({ authorities: read.fingerprint }, 'revocation authorities loaded');
    await renewResponders();
    await publishAll();
  };

  const metrics = registerRevocationMetrics(options.registry, { crl: () => published[0], now });
  const enforcer = new RevocationEnforcer({ store, audit, logger, metrics });
  const ocsp = new OcspResponder({
    store,
    authorities: (): readonly OcspAuthority[] => authorities,
    now,
    validitySeconds: config.ocspValiditySeconds,
  });

  const publishCrls = logged('CRL publication', publishAll);
  const checkHierarchy = logged('CA hierarchy check', reloadAuthorities);
  const renew = logged('OCSP responder certificate renewal', renewResponders);
  let polling: Promise<void> | undefined;
  const poll = (): Promise<void> => {
    polling ??= logged('revocation poll', async () => {
      const { changed } = await enforcer.refresh();
      if (changed) await publishAll();
    })().finally(() => {
      polling = undefined;
    });
    return polling;
  };

  await checkHierarchy();
  await poll();
  const unsubscribe = onRevocation(store, async (notice) => {
    metrics.revocations.inc({ reason: notice.reason });
    await enforcer.revokedNow(notice.serialNumber);
    await publishCrls();
  });
  const timers = [
    setInterval(poll, config.refreshIntervalMs),
    setInterval(checkHierarchy, HIERARCHY_CHECK_INTERVAL_MS),
    setInterval(publishCrls, CRL_CHECK_INTERVAL_MS),
    setInterval(renew, RESPONDER_CHECK_INTERVAL_MS),
  ];
  for (const timer of timers) timer.unref();

  return {
    enforcer,
    ocsp,
    crl: () => published[0],
    crlBundlePem: () => (published.length === 0 ? undefined : published.map((c) => c.pem).join('')),
    refresh: poll,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      unsubscribe();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await enforcer.settled();
    },
  };
}
