/**
 * The EDI channel's background work (issue 6 §6), started and stopped by gateway.ts: every
 * `edi.pollIntervalMs` (and at once when a drop file arrives) the outbound consumer turns lifecycle
 * changes into 990/214s (outbound-consumer.ts), the drop directory is scanned (drop-directory.ts), and
 * outbox messages not yet written are exported to DROP/<partnerId>/outbound/<ISA13>-<type>.edi. Runs never
 * overlap; stop() waits for the one in progress, so it finishes before the store closes.
 */
import type { Logger } from 'pino';
import { withOperator } from '../tendering/tenant-scope.ts';
import { DropDirectory, dropPartners } from './drop-directory.ts';
import { runOutboundOnce } from './outbound-consumer.ts';
import type { ReceiveDeps } from './receive-interchange.ts';

export interface EdiService {
  /** Runs one round now (tests, and the drop watcher); resolves when it is done. */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

export interface EdiServiceDeps extends ReceiveDeps {
  /** Absolute drop directory, or undefined (off). */
  dropDirectory: string | undefined;
  pollIntervalMs: number;
  logger: Logger;
}

export function startEdiService(deps: EdiServiceDeps): EdiService {
  const drop =
    deps.dropDirectory === undefined
      ? undefined
      : new DropDirectory({ ...deps, root: deps.dropDirectory, settleMs: deps.pollIntervalMs });
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const round = async (): Promise<void> => {
    if (drop !== undefined) await drop.scan();
    // Drain the feed: a batch at a time until caught up.
    for (let i = 0; i < 50 && (await runOutboundOnce(deps)) > 0; i += 1) {}
    if (drop !== undefined) await exportOutbound(deps, drop);
  };
  const runOnce = (): Promise<void> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await round();
        } while (again && !stopped);
      } catch (error) {
        deps.logger.error({ err: error }, 'EDI channel round failed');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void runOnce().then(schedule);
    }, deps.pollIntervalMs);
    timer.unref();
  };
  drop?.start(() => {
    if (!stopped) void runOnce();
  });
  schedule();
  return {
    runOnce,
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      drop?.stop();
      await running;
    },
  };
}

interface Unexported {
  id: string | number;
  partner_id: string;
  message_type: string;
  control_number: string;
  body: string;
  [key: string]: unknown;
}

/** Writes outbox messages not yet exported to their partner's outbound directory, then marks them. */
async function exportOutbound(deps: EdiServiceDeps, drop: DropDirectory): Promise<void> {
  const partners = dropPartners(deps);
  if (partners.length === 0) return;
  const rows = await withOperator(deps.store, (tx) =>
    tx.query<Unexported>(
      `SELECT id, partner_id, message_type, control_number, body FROM edi_outbound
       WHERE exported_at IS NULL AND partner_id = ANY($1) ORDER BY id LIMIT 500`,
      [partners],
    ),
  );
  // Through the partner's pinned, re-checked outbound/ (drop-directory.ts); an unsafe tree gets nothing.
  const done = await drop.writeOutbound(
    rows.map((row) => ({
      partnerId: row.partner_id,
      name: `${row.control_number}-${row.message_type}.edi`,
      body: row.body,
    })),
  );
  const written = rows.filter((_, i) => done.has(i)).map((row) => String(row.id));
  if (written.length === 0) return;
  const now = deps.now();
  await withOperator(deps.store, (tx) =>
    tx.query('UPDATE edi_outbound SET exported_at = $2 WHERE id = ANY($1::bigint[])', [written, now]),
  );
}
