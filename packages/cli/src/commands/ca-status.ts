/**
 * `fleetgate ca status --data-dir DIR [--json]` (docs/pki.md "CA rollover"): the trust anchors in
 * ca.pem, every intermediate with its issuer, validity and key custody, which one issues, the rollover
 * phase, and how many certificates chain to each generation. Reads certificates and key documents only:
 * no key is opened, so it needs no passphrase or PIN. Exit 1 when the data directory has no CA.
 */
import { resolve } from 'node:path';
import { type CaStatus, caStatus } from '@fleetgate/gateway/pki/rollover/status';
import { Command } from 'commander';

const short = (sha256: string): string => `${sha256.slice(0, 16)}…`;
const day = (iso: string): string => iso.slice(0, 10);

export function formatCaStatus(status: CaStatus): string {
  const lines = [`phase: ${status.phase}`];
  lines.push('trust anchors (pki/ca.pem):');
  for (const a of status.anchors) {
    lines.push(
      `  ${a.subject}  sha256 ${short(a.sha256)}  ${day(a.notBefore)} → ${day(a.notAfter)}` +
        `${a.validNow ? '' : '  NOT VALID NOW'}  key: ${a.key.custody} (${a.key.detail})`,
    );
  }
  lines.push('intermediates:');
  for (const i of status.intermediates) {
    const role = i.issuing ? '* issuing  ' : `  ${i.generation.padEnd(9)}`;
    lines.push(
      `  ${role}${i.subject}  sha256 ${short(i.sha256)}  ` +
        `issued by ${short(i.issuerSha256)}  ${day(i.notBefore)} → ${day(i.notAfter)}` +
        `${i.validNow ? '' : '  NOT VALID NOW'}  key: ${i.key.custody} (${i.key.detail})`,
    );
  }
  const { current, previous, other } = status.leaves;
  lines.push(`partner and device certificates: ${current} current, ${previous} previous, ${other} other`);
  lines.push(
    `server certificate: ${status.server.generation}${status.server.notAfter ? ` (until ${day(status.server.notAfter)})` : ''}`,
  );
  return lines.join('\n');
}

export function caStatusCommand(setExit: (code: number) => void): Command {
  return new Command('status')
    .description('show trust anchors, intermediates, validity, key custody and which CA issues')
    .requiredOption('--data-dir <dir>', 'data directory')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { dataDir: string; json?: boolean }) => {
      const status = await caStatus(resolve(opts.dataDir));
      console.log(opts.json === true ? JSON.stringify(status, null, 2) : formatCaStatus(status));
      setExit(status.phase === 'uninitialised' ? 1 : 0);
    });
}
