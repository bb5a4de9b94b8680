/**
 * `fleetgate partner add <id> --tenant T [--auth tls_client_auth|self_signed_tls_client_auth|private_key_jwt]
 *  [--jwks FILE] [--cert FILE] [--scopes …] [--lifetime S] [--lanes …] [--equipment …]
 *  [--window 22:00-06:00@America/Chicago …] --data-dir DIR`: registers a TMS partner as an OAuth client
 * (auth/server/register-client.ts; audited). For tls_client_auth without a certificate yet, the issuing CA
 * issues one into DIR/pki/partners/<id>/ (key 0600). There is no option for a client secret: none is
 * offered. Lanes must be lanes of the configuration.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLIENT_AUTH_METHODS,
  type ClientAuthMethod,
  type OAuthClient,
} from '@fleetgate/gateway/auth/server/client-registry';
import { issuePartnerCredentials, partnerDir } from '@fleetgate/gateway/auth/server/partner-certificate';
import { registerClient } from '@fleetgate/gateway/auth/server/register-client';
import { Command, InvalidArgumentError, Option } from 'commander';
import { listOf, operatorActor, parseWindow, reportFailure, withPartnerContext } from './partner-context.ts';

interface AddOptions {
  dataDir: string;
  tenant: string;
  auth: ClientAuthMethod;
  jwks?: string;
  cert?: string;
  scopes?: string[];
  lifetime?: number;
  lanes?: string[];
  equipment?: string[];
  window?: string[];
  operator?: string;
  json?: boolean;
}

const MAX_FILE_BYTES = 256 * 1024;

function readSmallFile(path: string, what: string): string {
  if (!existsSync(path)) throw new InvalidArgumentError(`${what} file not found: ${path}`);
  const text = readFileSync(path, 'utf8');
  if (text.length > MAX_FILE_BYTES) throw new InvalidArgumentError(`${what} file is larger than 256 KiB`);
  return text;
}

export function readJwksFile(path: string): unknown {
  try {
    return JSON.parse(readSmallFile(path, 'JWKS')) as unknown;
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`JWKS file is not JSON: ${path}`);
  }
}

export function readCertFile(path: string): string {
  return readSmallFile(path, 'certificate');
}

const lifetime = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 30 || n > 3600)
    throw new InvalidArgumentError('an integer from 30 to 3600');
  return n;
};

export function describeClient(client: OAuthClient): string {
  let policy = '{}';
  try {
    policy = JSON.stringify(JSON.parse(client.policy));
  } catch {
    policy = '(invalid)';
  }
  return [
    `${client.clientId}  tenant ${client.tenantId}  ${client.status}  ${client.authMethod}`,
    `  scopes ${client.scopes.join(' ')}  lifetime ${client.tokenLifetimeSeconds}s  policy ${policy}`,
  ].join('\n');
}

export function partnerAddCommand(setExit: (code: number) => void): Command {
  return new Command('add')
    .description('register a TMS partner as an OAuth client (mTLS or private_key_jwt; no client secrets)')
    .argument('<id>', 'partner id = client_id, e.g. acme-tms')
    .requiredOption('--tenant <tenant>', 'the tenant the partner belongs to')
    .addOption(
      new Option('--auth <method>', 'client authentication at the token endpoint')
        .choices(CLIENT_AUTH_METHODS)
        .default('tls_client_auth'),
    )
    .option('--jwks <file>', 'public JWKS (private_key_jwt; x5c keys for self_signed_tls_client_auth)')
    .option('--cert <file>', 'the self-signed client certificate, PEM (self_signed_tls_client_auth)')
    .option('--scopes <scopes...>', 'tenders:write tenders:read tracking:read commands:write admin')
    .option('--lifetime <seconds>', 'access token lifetime (default 300)', lifetime)
    .option('--lanes <ids...>', 'restrict tenders to these lane ids (policy)')
    .option('--equipment <types...>', 'restrict tenders to these equipment types (policy)')
    .option('--window <spec...>', 'restrict pickups to windows, e.g. 22:00-06:00@America/Chicago (policy)')
    .requiredOption('--data-dir <dir>', 'data directory')
    .option('--operator <id>', 'who registers, for the audit log (default: $USER)')
    .option('--json', 'print the client as JSON')
    .action(async (id: string, opts: AddOptions) => {
      try {
        const actor = operatorActor(opts.operator);
        const lanes = listOf(opts.lanes);
        const equipment = listOf(opts.equipment);
        const windows = opts.window?.map(parseWindow);
        const policy = {
          ...(lanes === undefined ? {} : { lanes }),
          ...(equipment === undefined ? {} : { equipment }),
          ...(windows === undefined ? {} : { timeWindows: windows }),
        };
        const scopes = listOf(opts.scopes);
        const result = await withPartnerContext(opts.dataDir, async (ctx) => {
          const known = new Set(ctx.config.lanes.map((l) => l.id));
          const unknown = (lanes ?? []).filter((l) => !known.has(l));
          if (unknown.length > 0) throw new InvalidArgumentError(`unknown lane(s): ${unknown.join(', ')}`);
          const client = await registerClient(
            ctx,
            {
              clientId: id,
              tenantId: opts.tenant,
              authMethod: opts.auth,
              ...(opts.jwks === undefined ? {} : { jwks: readJwksFile(opts.jwks) }),
              ...(opts.cert === undefined ? {} : { certificatePem: readCertFile(opts.cert) }),
              ...(scopes === undefined ? {} : { scopes }),
              ...(opts.lifetime === undefined ? {} : { tokenLifetimeSeconds: opts.lifetime }),
              policy,
            },
            actor,
          );
          let certificate: { serialNumber: string; dir: string } | undefined;
          if (
            client.authMethod === 'tls_client_auth' &&
            !existsSync(join(partnerDir(ctx.dataDir, id), 'cert.pem'))
          ) {
            const issued = await issuePartnerCredentials(ctx, id, actor);
            certificate = { serialNumber: issued.serialNumber, dir: issued.dir };
          }
          return { client, certificate };
        });
        if (opts.json === true) {
          console.log(JSON.stringify({ ...result.client, certificate: result.certificate }, null, 2));
        } else {
          console.log(`registered ${describeClient(result.client)}`);
          if (result.certificate !== undefined) {
            console.log(
              `  certificate serial ${result.certificate.serialNumber}: ${result.certificate.dir}/{chain.pem,key.pem}`,
            );
          }
        }
        setExit(0);
      } catch (error) {
        reportFailure('add', error, setExit);
      }
    });
}
