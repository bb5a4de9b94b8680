/**
 * The replica's closed union of stable codes (docs/audit.md "Replica"). Client-side failures, not HTTP
 * problems: they are printed as one `fleetgate: <CODE>: <detail>` line on stderr and map to the exit
 * code. An ALARM (fork or rewind) is evidence against the log and stops the replica for good (exit 3,
 * until an operator investigates and removes the ALARM file); everything else is exit 1 and may be
 * retried (the replica's data is unchanged).
 */

export type ReplicaErrorCode =
  /** The gateway's checkpoint has the size the replica holds but another root, or its consistency proof fails. */
  | 'REPLICA_FORK'
  /** The gateway's checkpoint is smaller than the one the replica holds. */
  | 'REPLICA_REWOUND'
  /** An ALARM file exists in the replica: it refuses to continue. */
  | 'REPLICA_ALARMED'
  /** A checkpoint lacks one of its two signatures (one stripped). */
  | 'REPLICA_SIGNATURE_MISSING'
  /** A checkpoint signature does not verify with the pinned key. */
  | 'REPLICA_SIGNATURE_INVALID'
  /** A checkpoint body is malformed or names another origin. */
  | 'REPLICA_CHECKPOINT_MALFORMED'
  /** The entries served do not produce the signed root, or a bundle is malformed. */
  | 'REPLICA_ENTRIES_INVALID'
  /** The gateway or target did not answer as the API says (status, size, timeout). */
  | 'REPLICA_UPSTREAM'
  /** The replica's own files are missing or do not match each other (state, checkpoint, tiles). */
  | 'REPLICA_STATE_INVALID'
  /** An immutable object already exists in the target with other bytes. */
  | 'REPLICA_CONFLICT'
  /** Bad options (a URL that is not https:, an unreadable vkey file). */
  | 'REPLICA_USAGE';

const ALARMS: ReadonlySet<ReplicaErrorCode> = new Set(['REPLICA_FORK', 'REPLICA_REWOUND', 'REPLICA_ALARMED']);

export class ReplicaError extends Error {
  readonly code: ReplicaErrorCode;
  /** Evidence for an ALARM: the checkpoint the replica holds and the one the gateway served. */
  readonly evidence: { held?: string; served?: string } | undefined;

  constructor(
    code: ReplicaErrorCode,
    detail: string,
    options?: { cause?: unknown; evidence?: { held?: string; served?: string } },
  ) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReplicaError';
    this.code = code;
    this.evidence = options?.evidence;
  }

  /** 3 for an alarm (fork, rewind, or a replica already alarmed), 1 otherwise. */
  get exitCode(): number {
    return ALARMS.has(this.code) ? 3 : 1;
  }
}
