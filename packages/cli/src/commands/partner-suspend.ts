/**
 * `fleetgate partner suspend <id> --data-dir DIR`: suspends a partner and revokes every live token it holds
 * at once (auth/server/suspend-client.ts: status, oauth_tokens.revoked_at and the audit entry in one
 * transaction). Resource servers refuse its tokens within a second; the token endpoint refuses it.
 */
import { suspendClient } from '@fleetgate/gateway/auth/server/suspend-client';
import { Command } from 'commander';
import { operatorActor, reportFailure, withPartnerContext } from './partner-context.ts';

export function partnerSuspendCommand(setExit: (code: number) => void): Command {
  return new Command('suspend')
    .description('suspend a partner and revoke all of its live access tokens')
    .argument('<id>', 'partner id')
    .requiredOption('--data-dir <dir>', 'data directory')
    .option('--operator <id>', 'who suspends, for the audit log (default: $USER)')
    .option('--reason <code>', 'reason code for the audit log', 'OPERATOR_REQUEST')
    .action(async (id: string, opts: { dataDir: string; operator?: string; reason: string }) => {
      try {
        const actor = operatorActor(opts.operator);
        const reason = /^[A-Z][A-Z0-9_]{0,63}$/.test(opts.reason) ? opts.reason : 'OPERATOR_REQUEST';
        const result = await withPartnerContext(opts.dataDir, (ctx) => suspendClient(ctx, id, actor, reason));
        console.log(
          `${result.alreadySuspended ? 'already suspended' : 'suspended'} ${id}: ${result.revokedTokens} live token(s) revoked`,
        );
        setExit(0);
      } catch (error) {
        reportFailure('suspend', error, setExit);
      }
    });
}
