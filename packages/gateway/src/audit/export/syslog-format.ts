/**
 * RFC 5424 syslog messages carrying OCSF events, framed for TLS transport by RFC 5425 §4.3 octet
 * counting: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN the message's length in octets.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [fleetgate@32473 index="N" origin="…"] BOM MSG
 *
 * PRI = facility 13 (log audit, RFC 5424 §6.2.1) × 8 + a severity derived from the OCSF severity_id;
 * TIMESTAMP the event time (RFC 3339, UTC, milliseconds); MSGID `ocsf-<class_uid>`; the structured data
 * element names the audit index and log origin (32473 is the private enterprise number RFC 5612 reserves
 * for documentation: operators that need their own may map it at the collector); MSG is the OCSF JSON,
 * UTF-8 with the BOM RFC 5424 §6.4 asks for. Header fields are checked against RFC 5424's character and
 * length limits so a hostile value cannot break the framing (none comes from outside, but cheaply sure).
 */
import type { ExportRecord } from './sink.ts';

export const SYSLOG_FACILITY_LOG_AUDIT = 13;
export const SD_ID = 'fleetgate@32473';
const BOM = '\uFEFF';

// OCSF severity_id → syslog severity: Informational 6, Low 5 (notice), Medium 4 (warning), High 3
// (error), Critical 2, Fatal 1; unknown or other 6.
const SYSLOG_SEVERITY: Record<number, number> = { 1: 6, 2: 5, 3: 4, 4: 3, 5: 2, 6: 1 };

export interface SyslogHeader {
  hostname: string;
  appName: string;
  procId: string;
}

/** RFC 5424 PRINTUSASCII (33-126), at most `max` octets, '-' (NILVALUE) when empty. */
function headerField(value: string, max: number): string {
  const cleaned = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return cleaned === '' ? '-' : cleaned;
}

/** PARAM-VALUE escaping (RFC 5424 §6.3.3): '"', '\' and ']' are escaped with '\'. */
function paramValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

export function syslogMessage(record: ExportRecord, header: SyslogHeader): string {
  const severity = SYSLOG_SEVERITY[record.event.severity_id] ?? 6;
  const pri = SYSLOG_FACILITY_LOG_AUDIT * 8 + severity;
  const time = new Date(record.event.time).toISOString();
  const sd = `[${SD_ID} index="${record.index}" origin="${paramValue(record.event.metadata.log_name)}"]`;
  return [
    `<${pri}>1`,
    time,
    headerField(header.hostname, 255),
    headerField(header.appName, 48),
    headerField(header.procId, 128),
    headerField(`ocsf-${record.event.class_uid}`, 32),
    `${sd} ${BOM}${record.json}`,
  ].join(' ');
}

/** RFC 5425 octet-counting frame: `MSG-LEN SP SYSLOG-MSG`. */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.byteLength} `, 'ascii'), body]);
}
