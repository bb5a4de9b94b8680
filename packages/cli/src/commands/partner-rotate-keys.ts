/**
 * `fleetgate partner rotate-keys <id> [--jwks FILE] [--cert FILE] --data-dir DIR`: new credentials for a
 * partner (auth/server/rotate-client-keys.ts). tls_client_auth: a new key and certificate from the issuing
 * CA in DIR/pki/partners/<id>/, the old certificate revoked (superseded); private_key_jwt: the registered
 * JWKS replaced by --jwks; self_signed_tls_client_auth: the registered certificate by --cert (or --jwks).
 */
import { rotateClientKeys } from '@fleetgate/gateway/auth/server/rotate-client-keys';
import { Command } from 'commander';
import { readCertFile, readJwksFile } from './partner-add.ts';
import { operatorActor, reportFailure, withPartnerContext } from './partner-context.ts';

export function partnerRotateKeysCommand(setExit: (code: number) => void): Command {
  return new Command('rotate-keys')
    .description('issue a partner a new certificate (revoking the old one) or replace its registered keys')
    .argument('<id>', 'partner id')
    .option('--jwks <file>', 'the new public JWKS (private_key_jwt, self_signed_tls_client_auth)')
    .option('--cert <file>', 'the new self-signed client certificate (self_signed_tls_client_auth)')
    .requiredOption('--data-dir <dir>', 'data directory')
    .option('--operator <id>', 'who rotates, for the audit log (default: $USER)')
    .action(
      async (id: string, opts: { dataDir: string; jwks?: string; cert?: string; operator?: string }) => {
        try {
          const actor = operatorActor(opts.operator);
          const input = {
            ...(opts.jwks === undefined ? {} : { jwks: readJwksFile(opts.jwks) }),
            ...(opts.cert === undefined ? {} : { certificatePem: readCertFile(opts.cert) }),
          };
          const result = await withPartnerContext(opts.dataDir, (ctx) =>
            rotateClientKeys(ctx, id, input, actor),
          );
          if (result.certificate !== undefined) {
            console.log(
              `new certificate for ${id}: serial ${result.certificate.serialNumber} in ${result.certificate.dir}/{chain.pem,key.pem}`,
            );
            if (result.previous !== undefined) {
              console.log(
                result.previous.revoked
                  ? `previous certificate ${result.previous.serialNumber} revoked (superseded)`
                  : `previous certificate ${result.previous.serialNumber} was not issued by the current CA: not revoked here`,
              );
            }
          } else {
            console.log(`replaced the registered keys of ${id} (${result.authMethod})`);
          }
          setExit(0);
        } catch (error) {
          reportFailure('rotate-keys', error, setExit);
        }
      },
    );
}
