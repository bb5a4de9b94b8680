/**
 * The lifecycle state machine (tendering/lifecycle.ts) as properties: any random sequence of events, with
 * refused events ignored, only ever visits statuses the table allows, in an order that respects the
 * freight's progress (never delivered without having been loaded, never in transit before pickup), final
 * statuses are never left, and exceptions resume to the status they interrupted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FINAL,
  IN_PROGRESS,
  type LifecycleState,
  TENDER_EVENTS,
  TENDER_STATUSES,
  type TenderStatus,
  transition,
} from '../../src/tendering/lifecycle.ts';

const PROGRESS: readonly TenderStatus[] = [
  'dispatched',
  'at_pickup',
  'loaded',
  'in_transit',
  'at_delivery',
  'delivered',
];
const rank = (s: TenderStatus) => PROGRESS.indexOf(s);

describe('tender lifecycle', () => {
  it('random event sequences never reach an illegal state', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<TenderStatus>('accepted', 'declined', 'pending_review'),
        fc.array(fc.constantFrom(...TENDER_EVENTS), { maxLength: 60 }),
        (initial, events) => {
          let state: LifecycleState = { status: initial, resumeStatus: null };
          let highest = -1;
          const visited: TenderStatus[] = [initial];
          for (const event of events) {
            const next = transition(state, event);
            if (next === undefined) continue;
            expect(FINAL).not.toContain(state.status);
            expect(TENDER_STATUSES).toContain(next.status);
            // Progress is monotonic and one step at a time (resuming returns to the same step).
            const r = rank(next.status);
            if (r >= 0) {
              expect(r).toBeLessThanOrEqual(highest + 1);
              expect(r).toBeGreaterThanOrEqual(highest);
              highest = r;
            }
            if (next.status === 'delayed' || next.status === 'safe_stopped') {
              expect(IN_PROGRESS).toContain(next.resumeStatus);
            } else expect(next.resumeStatus).toBeNull();
            if (event === 'resumed') expect(next.status).toBe(state.resumeStatus);
            // Nothing moves once on the road but the fleet's own events; no decision after dispatch.
            if (highest >= 0 && (event === 'accept' || event === 'decline'))
              throw new Error('decided after dispatch');
            if (highest >= rank('loaded') && event === 'cancel') throw new Error('cancelled after loading');
            state = next;
            visited.push(next.status);
          }
          if (visited.includes('delivered')) {
            expect(visited).toContain('loaded');
            expect(visited.indexOf('loaded')).toBeLessThan(visited.indexOf('delivered'));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('has no exits from final statuses and no way back to received', () => {
    for (const status of TENDER_STATUSES) {
      for (const event of TENDER_EVENTS) {
        const next = transition({ status, resumeStatus: status === 'delayed' ? 'loaded' : null }, event);
        if (FINAL.includes(status)) expect(next).toBeUndefined();
        expect(next?.status).not.toBe('received');
      }
    }
  });

  it('follows the table on the happy path and the documented refusals', () => {
    const run = (events: Parameters<typeof transition>[1][]) =>
      events.reduce<LifecycleState | undefined>((s, e) => (s === undefined ? s : transition(s, e)), {
        status: 'accepted',
        resumeStatus: null,
      });
    expect(run(['dispatched', 'at_pickup', 'loaded', 'in_transit', 'at_delivery', 'delivered'])?.status).toBe(
      'delivered',
    );
    expect(run(['dispatched', 'at_pickup', 'loaded', 'cancel'])).toBeUndefined();
    expect(run(['dispatched', 'delayed', 'safe_stopped', 'resumed'])).toEqual({
      status: 'dispatched',
      resumeStatus: null,
    });
    expect(run(['dispatched', 'safe_stopped', 'handed_to_human_carrier'])?.status).toBe(
      'handed_to_human_carrier',
    );
    expect(run(['decline', 'accept'])?.status).toBe('accepted');
    expect(run(['resumed'])).toBeUndefined();
  });
});
