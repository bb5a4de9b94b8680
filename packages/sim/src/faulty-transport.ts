/**
 * A faulty, hostile link between a vehicle and the gateway, at the envelope level (the chaos harness of
 * ARCHITECTURE.md §11): it sits where a transport goes — EdgeClient → FaultyTransport → HttpsTransport
 * (real mTLS) or MqttTransport (through the real broker) — and drops, loses answers, duplicates, holds
 * back (reorders), replays and flips bits in signed envelopes, by a plan the test writes down. Every
 * delivery it makes to the real transport is logged with what was done and what the gateway answered,
 * so a test can assert exactly which batches were stored and which were refused, and why.
 *
 * Deliveries are serialised — one at a time, from one queue, a held envelope that becomes due going to
 * its front — so the gateway sees exactly the order the plan describes. Nothing here forges a signature: a tampered envelope is the signed bytes with one bit
 * changed, a replay is bytes the vehicle really sent.
 *
 * Faults, by the index of the envelope handed to send() (0, 1, …):
 *   pass          delivered; the sender gets the answer
 *   drop          not delivered; the sender gets EDGE_NETWORK (as if the connection broke)
 *   lose-answer   delivered, the answer is lost; the sender gets EDGE_TIMEOUT
 *   duplicate     delivered twice in a row; the sender gets the first answer (once both were answered)
 *   hold          kept back and delivered right after `after` later deliveries (reordering); the sender gets
 *                 EDGE_NETWORK at once (`answerHeld: 'error'`, for a sequential sender such as
 *                 EdgeClient) or the answer once delivered (`'wait'`, for concurrent senders)
 *   replay        delivered, then the envelope of index `of` is delivered again (an attacker's replay);
 *                 the sender gets the first answer once both were answered
 *   flip          one bit flipped (bit `bit` of the envelope, modulo its length) before delivery
 * inject() delivers bytes of the test's choosing (a captured envelope, altered) through the same queue.
 */
import { createHash } from 'node:crypto';
import type { EnvelopeTransport } from '@fleetgate/edge/client';
import { EdgeError } from '@fleetgate/edge/errors';
import type { SendResult } from '@fleetgate/edge/transport/https';

export type Fault =
  | { kind: 'pass' }
  | { kind: 'drop' }
  | { kind: 'lose-answer' }
  | { kind: 'duplicate' }
  | { kind: 'hold'; after: number }
  | { kind: 'replay'; of: number }
  | { kind: 'flip'; bit: number };

export interface Delivery {
  /** Order in which the gateway received it (0, 1, …). */
  seq: number;
  /** Index of the envelope send() was given (-1 for inject()). */
  index: number;
  /** What this delivery is. */
  as: 'original' | 'duplicate' | 'held' | 'replay' | 'flipped' | 'injected';
  /** Lower-case hex SHA-256 of the bytes delivered. */
  sha256: string;
  /** The gateway's status, or the transport's error code when no answer came. */
  status?: number;
  /** The problem code of a refusal. */
  code?: string;
  error?: string;
}

export interface FaultyTransportOptions {
  /** The fault for the envelope at `index`; default: pass. */
  plan?: (index: number, envelope: Uint8Array) => Fault;
  /** What a sender of a held envelope gets: an immediate EDGE_NETWORK (default) or the later answer. */
  answerHeld?: 'error' | 'wait';
}

interface Pending {
  envelope: Uint8Array;
  index: number;
  as: Delivery['as'];
  settle: (result: SendResult | EdgeError) => void;
}

interface Held extends Pending {
  remaining: number;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** `bytes` with bit `bit` (modulo its length in bits) flipped; the input is not changed. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  const at = ((bit % (copy.length * 8)) + copy.length * 8) % (copy.length * 8);
  copy[at >> 3] = (copy[at >> 3] ?? 0) ^ (1 << (at & 7));
  return copy;
}

export class FaultyTransport implements EnvelopeTransport {
  /** Every envelope send() was given, by index (what a wiretapper holds). */
  readonly seen: Uint8Array[] = [];
  /** Every delivery to the real transport, in order. */
  readonly deliveries: Delivery[] = [];
  readonly #inner: EnvelopeTransport;
  readonly #plan: (index: number, envelope: Uint8Array) => Fault;
  readonly #answerHeld: 'error' | 'wait';
  #held: Held[] = [];
  #pending: Pending[] = [];
  #working: Promise<void> | undefined;

  constructor(inner: EnvelopeTransport, options: FaultyTransportOptions = {}) {
    this.#inner = inner;
    this.#plan = options.plan ?? (() => ({ kind: 'pass' }));
    this.#answerHeld = options.answerHeld ?? 'error';
  }

  async send(envelope: Uint8Array): Promise<SendResult> {
    const index = this.seen.length;
    this.seen.push(envelope);
    const fault = this.#plan(index, envelope);
    switch (fault.kind) {
      case 'pass':
        return unwrap(await this.#deliver(envelope, index, 'original'));
      case 'drop':
        throw new EdgeError('EDGE_NETWORK', 'faulty link: dropped');
      case 'lose-answer':
        await this.#deliver(envelope, index, 'original');
        throw new EdgeError('EDGE_TIMEOUT', 'faulty link: answer lost');
      case 'duplicate': {
        const first = this.#deliver(envelope, index, 'original');
        await this.#deliver(envelope, index, 'duplicate');
        return unwrap(await first);
      }
      case 'replay': {
        const first = this.#deliver(envelope, index, 'original');
        const old = this.seen[fault.of];
        if (old !== undefined) await this.#deliver(old, fault.of, 'replay');
        return unwrap(await first);
      }
      case 'flip':
        return unwrap(await this.#deliver(flipBit(envelope, fault.bit), index, 'flipped'));
      case 'hold': {
        const answer = new Promise<SendResult | EdgeError>((settle) => {
          this.#held.push({ envelope, index, as: 'held', remaining: Math.max(1, fault.after), settle });
        });
        if (this.#answerHeld === 'wait') return unwrap(await answer);
        throw new EdgeError('EDGE_NETWORK', 'faulty link: held back');
      }
    }
  }

  /** Delivers `envelope` as is, through the same queue (an attacker's injection); resolves with the answer. */
  async inject(envelope: Uint8Array): Promise<SendResult | EdgeError> {
    return this.#deliver(envelope, -1, 'injected');
  }

  /** Delivers whatever is still held back, in the order it was held; resolves when all are answered. */
  async release(): Promise<void> {
    const held = this.#held;
    this.#held = [];
    await Promise.all(held.map((h) => this.#deliver(h.envelope, h.index, 'held').then(h.settle)));
    await this.settled();
  }

  /** Resolves once nothing is waiting to be delivered (held envelopes aside). */
  async settled(): Promise<void> {
    while (this.#working !== undefined) await this.#working;
  }

  /** Envelopes still held back. */
  get holding(): number {
    return this.#held.length;
  }

  close(): void | Promise<void> {
    return this.#inner.close?.();
  }

  #deliver(envelope: Uint8Array, index: number, as: Delivery['as']): Promise<SendResult | EdgeError> {
    return new Promise((settle) => {
      this.#pending.push({ envelope, index, as, settle });
      this.#kick();
    });
  }

  #kick(): void {
    this.#working ??= this.#work().finally(() => {
      this.#working = undefined;
      if (this.#pending.length > 0) this.#kick(); // queued between the loop's end and now
    });
  }

  /** The one worker: delivers the queue's head, answers its sender, lets due held envelopes jump the queue. */
  async #work(): Promise<void> {
    await Promise.resolve(); // #working is set before the first delivery starts
    for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) {
      const delivery: Delivery = {
        seq: this.deliveries.length,
        index: next.index,
        as: next.as,
        sha256: sha256(next.envelope),
      };
      this.deliveries.push(delivery);
      let result: SendResult | EdgeError;
      try {
        result = await this.#inner.send(next.envelope);
        delivery.status = result.status;
        if (result.problem?.code !== undefined) delivery.code = result.problem.code;
      } catch (error) {
        result =
          error instanceof EdgeError
            ? error
            : new EdgeError('EDGE_NETWORK', 'delivery failed', { cause: error });
        delivery.error = result.code;
      }
      if (next.as !== 'held') this.#countDown();
      next.settle(result);
    }
  }

  /** One more delivery happened: held envelopes whose turn it is go next, in the order they were held. */
  #countDown(): void {
    const due: Held[] = [];
    for (const h of this.#held) if (--h.remaining === 0) due.push(h);
    this.#held = this.#held.filter((h) => h.remaining > 0);
    this.#pending.unshift(...due);
  }
}

function unwrap(result: SendResult | EdgeError): SendResult {
  if (result instanceof EdgeError) throw result;
  return result;
}
