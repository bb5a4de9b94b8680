/**
 * One audit entry (an accepted `tender.decided`) mapped to OCSF and wrapped as the ExportRecord the SIEM
 * sinks send: the payload of the export and outbound-TLS tests.
 */
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { auditDocument } from '../../src/audit/event.ts';
import type { ExportRecord } from '../../src/audit/export/sink.ts';
import { toOcsfEvent } from '../../src/audit/ocsf/map-entry.ts';

export function tenderDecidedRecord(index: number): ExportRecord {
  const event = toOcsfEvent(
    {
      index,
      entry: canonicalJson(
        auditDocument(
          {
            class: 'tender.decided',
            actor: { kind: 'partner', id: 'acme-tms' },
            subject: { kind: 'tender', id: `tnd_${index}` },
            outcome: 'accepted',
          },
          new Date(),
        ),
      ),
    },
    'fleetgate.test/audit',
  );
  return { index, event, json: JSON.stringify(event) };
}
