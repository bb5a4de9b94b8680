/**
 * One settled drop-directory file received as its partner (issue 6 §6; docs/tendering.md "Transport"):
 * the partner acts as its OAuth client would — registered, active, in its configured tenant, with
 * `tenders:write` — and the file then goes through receiveInterchange exactly as an upload, with the
 * client's policy. The outcome says where the file moves and the coded result written beside it.
 */
import { parseClientPolicy } from '../auth/policy/policy.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { withOperator } from '../tendering/tenant-scope.ts';
import { EdiChannelError, type ReceiveDeps, receiveInterchange } from './receive-interchange.ts';

export interface DropOutcome {
  where: 'processed' | 'rejected';
  result: Record<string, unknown>;
}

export async function receiveDropFile(
  deps: ReceiveDeps,
  partnerId: string,
  bytes: Buffer,
): Promise<DropOutcome> {
  const partner = deps.settings.partners.find((p) => p.id === partnerId);
  // The partner acts as its OAuth client would: it must be registered, active and allowed to tender.
  const [client] = await withOperator(deps.store, (tx) =>
    tx.query<{ tenant_id: string; status: string; scopes: string[]; policy: string }>(
      'SELECT tenant_id, status, scopes, policy FROM oauth_clients WHERE client_id = $1',
      [partnerId],
    ),
  );
  if (
    partner === undefined ||
    client === undefined ||
    client.status !== 'active' ||
    client.tenant_id !== partner.tenant ||
    !client.scopes.includes('tenders:write')
  ) {
    await deps.audit.append({
      class: 'edi.interchange.refused',
      actor: { kind: 'partner', id: partnerId },
      subject: { kind: 'edi-drop', id: partnerId },
      outcome: 'rejected',
      reasons: ['EDI_PARTNER_NOT_CONFIGURED'],
      details: { source: 'drop', why: 'not an active client with tenders:write' },
    });
    return {
      where: 'rejected',
      result: {
        ok: false,
        code: 'EDI_PARTNER_NOT_CONFIGURED',
        detail: 'the partner is not an active client with the tenders:write scope',
      },
    };
  }
  try {
    const result = await receiveInterchange(
      deps,
      {
        id: partnerId,
        tenant: client.tenant_id,
        certSha256: '',
        policy: parseClientPolicy(client.policy),
        tokenId: 'drop-directory',
      },
      bytes,
      'drop',
    );
    return { where: 'processed', result: { ok: true, ...result } };
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    const coded = {
      ok: false,
      code: error.code,
      ...(error.detail === undefined ? {} : { detail: error.detail }),
      ...(error instanceof EdiChannelError && error.ediCode !== undefined ? { ediCode: error.ediCode } : {}),
      ...(error instanceof EdiChannelError && error.acknowledgment !== undefined
        ? { acknowledgment: error.acknowledgment }
        : {}),
    };
    // Already received: the file was processed before a crash or is a resend; nothing was created twice.
    if (error.code === 'EDI_INTERCHANGE_DUPLICATE') return { where: 'processed', result: coded };
    return { where: 'rejected', result: coded };
  }
}
