/**
 * In-process notification that a revocation committed, keyed by the Store it was written to. The
 * gateway subscribes its CRL publisher and connection enforcement to its own store; revokeCertificate
 * announces on the store it was given, so a revocation made in the gateway process (an operator API,
 * the rotation engine after its grace period, a detection playbook) is enforced at once, without
 * waiting for the next poll.
 *
 * Revocations made elsewhere (another gateway node on PostgreSQL, the CLI on a stopped gateway) reach
 * no subscriber here; the enforcement poll (at least every second) finds them in the store. This is a
 * shortcut for latency, never the only path.
 *
 * The registry is a WeakMap from store object to its subscribers: nothing global outlives a store, and
 * two gateways in one process (tests) never hear each other.
 */
import type { Store } from '../../store/store.ts';
import type { RevocationReason } from './reasons.ts';

export interface RevocationNotice {
  readonly serialNumber: string;
  readonly reason: RevocationReason;
  readonly revokedAt: Date;
}

export type RevocationSubscriber = (notice: RevocationNotice) => Promise<void>;

const subscribers = new WeakMap<Store, Set<RevocationSubscriber>>();

/** Calls `subscriber` after every revocation committed through `store` in this process. */
export function onRevocation(store: Store, subscriber: RevocationSubscriber): () => void {
  let set = subscribers.get(store);
  if (set === undefined) {
    set = new Set();
    subscribers.set(store, set);
  }
  set.add(subscriber);
  return () => {
    set.delete(subscriber);
  };
}

/**
 * Runs every subscriber of `store` and waits for all of them. A subscriber that fails does not stop
 * the others, and never fails the revocation (it has committed): its error is returned for logging.
 */
export async function announceRevocation(store: Store, notice: RevocationNotice): Promise<unknown[]> {
  const set = subscribers.get(store);
  if (set === undefined || set.size === 0) return [];
  const results = await Promise.allSettled([...set].map((subscriber) => subscriber(notice)));
  return results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
}
