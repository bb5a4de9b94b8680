/**
 * The daily retention job (docs/audit.md "Retention and redaction"): runs runRetention once a minute
 * after start and then every 24 hours; passes never overlap. Safe on several nodes at once (redact.ts
 * redacts and records each index once; cursors only move forward).
 */
import type { Logger } from 'pino';
import type { AuditRetentionConfig } from '../../config/config.ts';
import type { RedactionDeps } from './redact.ts';
import { type RetentionReport, runRetention } from './run.ts';

export const RETENTION_INTERVAL_MS = 24 * 60 * 60 * 1000;
const FIRST_RUN_MS = 60_000;

export interface RetentionJob {
  runOnce(): Promise<RetentionReport>;
  stop(): Promise<void>;
}

export function startRetentionJob(
  deps: RedactionDeps & { logger?: Pick<Logger, 'info' | 'warn' | 'error'> },
  config: AuditRetentionConfig,
): RetentionJob {
  let running: Promise<RetentionReport> | undefined;
  const runOnce = (): Promise<RetentionReport> => {
    running ??= runRetention(deps, config, deps.logger === undefined ? {} : { logger: deps.logger }).finally(
      () => {
        running = undefined;
      },
    );
    return running;
  };
  const tick = (): void => {
    runOnce().catch((error: unknown) => deps.logger?.error({ err: error }, 'retention job failed'));
  };
  const first = setTimeout(tick, FIRST_RUN_MS);
  first.unref();
  const timer = setInterval(tick, RETENTION_INTERVAL_MS);
  timer.unref();
  return {
    runOnce,
    stop: async () => {
      clearTimeout(first);
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
