/**
 * The envelope of what fleetgate sends (997, 990, 214): ISA/GS/ST with control numbers the caller
 * supplies — the caller persists them, so that numbers are never reused across restarts or gateway nodes
 * (ASC X12.5: ISA13 unique per sender for a long period). `replyEnvelope` answers a received interchange
 * in its version, GS08, test indicator and delimiters, with sender and receiver swapped. Threat: a reply
 * whose usage indicator differed from the request would move sandbox traffic into production.
 */
import { EdiError } from './errors.ts';
import type { Delimiters, FunctionalGroup, Interchange, InterchangeParty, X12Version } from './types.ts';

export interface ControlNumbers {
  /** ISA13 / IEA02: 1 … 999,999,999. */
  interchange: number;
  /** GS06 / GE02: 1 … 999,999,999. */
  group: number;
  /** ST02 / SE02: 1 … 999,999,999 (written with at least four digits). */
  transactionSet: number;
}

export interface OutboundEnvelope {
  version: X12Version;
  /** GS08; defaults to 004010 / 005010. */
  groupVersion?: string;
  /** ISA05/ISA06 and ISA07/ISA08. */
  sender: InterchangeParty;
  receiver: InterchangeParty;
  /** GS02 / GS03. */
  applicationSender: string;
  applicationReceiver: string;
  controlNumbers: ControlNumbers;
  /** ISA15 = T. */
  test: boolean;
  /** ISA14; default false. */
  acknowledgmentRequested?: boolean;
  /** ISA09/ISA10 and GS04/GS05, written in UTC. */
  now: Date;
  /** Defaults: `*`, `>`, `^` (5010), `~`. */
  delimiters?: Partial<Delimiters>;
}

/** The envelope answering `group` of `received`: same version, GS08, test flag and delimiters. */
export function replyEnvelope(
  received: Interchange,
  group: Pick<FunctionalGroup, 'applicationSender' | 'applicationReceiver' | 'versionCode'>,
  controlNumbers: ControlNumbers,
  now: Date,
): OutboundEnvelope {
  if (Number.isNaN(now.getTime())) throw new EdiError('EDI_INVALID_ARGUMENT', 'now is not a valid date');
  return {
    version: received.version,
    groupVersion: group.versionCode,
    sender: received.receiver,
    receiver: received.sender,
    applicationSender: group.applicationReceiver,
    applicationReceiver: group.applicationSender,
    controlNumbers,
    test: received.test,
    now,
    delimiters: received.delimiters,
  };
}
