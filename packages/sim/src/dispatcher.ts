/**
 * A simulated fleet dispatch desk (the operator's side of the tender API, issue 6): it works the human
 * review queue — deciding each pending tender with a stated reason, as an operator must — and drives every
 * accepted load through its lifecycle with fleet events (POST /v1/tenders/{id}/events: dispatched with a
 * truck, at_pickup, loaded, in_transit, at_delivery, delivered), so the partner sees the load to delivery
 * (status, tracking, webhooks, EDI 214) and the truck's capacity is released at the end. Now and then a
 * load is delayed on the way and resumes, to show the exception path. It calls the API with its own mTLS
 * certificate and a DPoP-bound token with the `admin` scope, exactly as a dispatch system would.
 */
import type { PartnerCredentials, TenderResponse } from './tms.ts';
import { TmsClient } from './tms.ts';

export interface DispatcherStats {
  /** Review-queue tenders decided by the operator (with a reason). */
  reviewed: number;
  /** Fleet events recorded (each a lifecycle transition). */
  events: number;
  dispatched: number;
  delivered: number;
  /** Loads that went through an exception (delayed → resumed). */
  delayed: number;
  failed: number;
}

const STEPS = ['dispatched', 'at_pickup', 'loaded', 'in_transit', 'at_delivery', 'delivered'] as const;
type Step = (typeof STEPS)[number];

interface Load {
  id: string;
  /** Index into STEPS of the next event. */
  next: number;
  vehicleId: string;
  /** Set when the load is delayed: the next event is `resumed`. */
  delayed: boolean;
}

export class DispatchDesk {
  readonly stats: DispatcherStats = {
    reviewed: 0,
    events: 0,
    dispatched: 0,
    delivered: 0,
    delayed: 0,
    failed: 0,
  };
  readonly #client: TmsClient;
  readonly #vehicles: readonly string[];
  readonly #intervalMs: number;
  readonly #random: () => number;
  readonly #loads: Load[] = [];
  #vehicleCursor = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(options: {
    baseUrl: string;
    credentials: PartnerCredentials;
    /** Trucks loads are dispatched to, in turn. */
    vehicles: readonly string[];
    intervalMs: number;
    random?: () => number;
  }) {
    this.#client = new TmsClient(options.baseUrl, options.credentials, { scope: 'admin tenders:read' });
    if (options.vehicles.length === 0) throw new Error('the dispatch desk needs at least one vehicle');
    this.#vehicles = options.vehicles;
    this.#intervalMs = options.intervalMs;
    this.#random = options.random ?? Math.random;
  }

  get tokensObtained(): number {
    return this.#client.tokens.tokensObtained;
  }

  /** A tender the TMS reports as accepted: the desk will dispatch it. */
  accepted(tenderId: string): void {
    const vehicleId = this.#vehicles[this.#vehicleCursor % this.#vehicles.length] as string;
    this.#vehicleCursor += 1;
    this.#loads.push({ id: tenderId, next: 0, vehicleId, delayed: false });
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#inFlight = this.#inFlight.then(() => this.workOnce());
    }, this.#intervalMs);
  }

  /** One round: decide what waits in the review queue, then advance every load by one step. */
  async workOnce(): Promise<void> {
    try {
      await this.#review();
      for (const load of [...this.#loads]) await this.#advance(load);
    } catch {
      this.stats.failed += 1;
    }
  }

  async #review(): Promise<void> {
    const page = await this.#client.call('GET', '/v1/review/tenders?limit=10');
    if (page.status !== 200) {
      this.stats.failed += 1;
      return;
    }
    const items = Array.isArray(page.body.items) ? (page.body.items as { id?: unknown }[]) : [];
    for (const item of items) {
      if (typeof item.id !== 'string') continue;
      // The desk has a truck free for anything the engine was unsure of, except at random one in four.
      const accept = this.#random() >= 0.25;
      const res = await this.#client.call(
        'POST',
        `/v1/review/tenders/${encodeURIComponent(item.id)}/decision`,
        {
          decision: accept ? 'accept' : 'decline',
          reason: accept
            ? 'dispatcher confirmed a truck and driver-out-of-loop plan'
            : 'no truck for the window',
        },
      );
      if (res.status !== 200) {
        this.stats.failed += 1;
        continue;
      }
      this.stats.reviewed += 1;
      if (accept) this.accepted(item.id);
    }
  }

  async #advance(load: Load): Promise<void> {
    let res: TenderResponse;
    if (load.delayed) {
      res = await this.#event(load.id, { event: 'resumed' });
      if (res.status === 200) load.delayed = false;
    } else if (STEPS[load.next] === 'in_transit' && this.#random() < 0.1) {
      res = await this.#event(load.id, { event: 'delayed', reason: 'traffic incident ahead' });
      if (res.status === 200) {
        load.delayed = true;
        this.stats.delayed += 1;
      }
    } else {
      const step = STEPS[load.next] as Step;
      res = await this.#event(load.id, {
        event: step,
        ...(step === 'dispatched' ? { vehicleId: load.vehicleId } : {}),
      });
      if (res.status === 200) {
        load.next += 1;
        if (step === 'dispatched') this.stats.dispatched += 1;
        if (step === 'delivered') this.stats.delivered += 1;
      }
    }
    if (res.status === 200) this.stats.events += 1;
    // Delivered, or refused (e.g. the partner cancelled it meanwhile): the desk stops working the load.
    if (load.next >= STEPS.length || res.status === 409 || res.status === 404) {
      const i = this.#loads.indexOf(load);
      if (i >= 0) this.#loads.splice(i, 1);
      if (res.status !== 200) this.stats.failed += 1;
    }
  }

  #event(id: string, body: Record<string, string>): Promise<TenderResponse> {
    return this.#client.call('POST', `/v1/tenders/${encodeURIComponent(id)}/events`, body);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inFlight;
    this.#client.close();
  }
}
