/**
 * What the SIEM exporter hands a sink, and what it expects back (docs/audit.md "SIEM export"). A sink
 * resolves deliver() only once the destination has the whole batch — fsynced to disk, or answered 2xx —
 * or, for syslog over TLS, which has no acknowledgement (RFC 5425), once the TLS layer accepted it and the
 * connection stayed up a moment: at-most-once for that batch (syslog-tls-sink.ts). It rejects otherwise;
 * the runner (runner.ts) advances the sink's durable cursor only after it resolves. A sink never logs or throws a secret.
 */
import type { OcsfEvent } from '../ocsf/map-entry.ts';

export interface ExportRecord {
  /** Audit index (also `event.metadata.sequence`). */
  index: number;
  event: OcsfEvent;
  /** `JSON.stringify(event)`, computed once. */
  json: string;
}

export interface ExportSink {
  readonly name: string;
  /** Resolves once the destination acknowledged every record; `signal` aborts a delivery on shutdown. */
  deliver(batch: readonly ExportRecord[], signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** A delivery the destination refused or did not acknowledge; `message` never holds a secret. */
export class ExportDeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExportDeliveryError';
  }
}
