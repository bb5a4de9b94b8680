/**
 * The `fleetgate` command line. Each command lives in src/commands/; this file only wires them.
 * Exit codes: 0 success, 1 failure (e.g. audit verification found a discrepancy), 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { auditReplicateCommand } from './commands/audit-replicate.ts';
import { auditRedactCommand, auditRetentionCommand } from './commands/audit-retention.ts';
import { auditVerifyCommand } from './commands/audit-verify.ts';
import { auditWitnessCommand } from './commands/audit-witness.ts';
import { caRolloverCommand } from './commands/ca-rollover.ts';
import { caStatusCommand } from './commands/ca-status.ts';
import { demoCommand } from './commands/demo.ts';
import { deviceEnrollCommand } from './commands/device-enroll.ts';
import { deviceKeysCommand } from './commands/device-keys.ts';
import { deviceListCommand } from './commands/device-list.ts';
import { deviceRevokeCommand } from './commands/device-revoke.ts';
import { deviceRotateCommand } from './commands/device-rotate.ts';
import { deviceShowCommand } from './commands/device-show.ts';
import { initCommand } from './commands/init.ts';
import { partnerAddCommand } from './commands/partner-add.ts';
import { partnerListCommand } from './commands/partner-list.ts';
import { partnerRotateKeysCommand } from './commands/partner-rotate-keys.ts';
import { partnerSuspendCommand } from './commands/partner-suspend.ts';
import { serveCommand } from './commands/serve.ts';

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number): void => {
    exitCode = code;
  };
  const program = new Command('fleetgate')
    .description(
      'fleetgate: the authenticated, audited gateway between TMS partners and autonomous truck fleets',
    )
    .showHelpAfterError();
  program.addCommand(initCommand(setExit));
  program.addCommand(serveCommand(setExit));
  program.addCommand(demoCommand(setExit));
  const device = new Command('device').description(
    'vehicle certificates: enrollment, rotation, revocation, inventory',
  );
  for (const command of [
    deviceEnrollCommand(setExit),
    deviceRotateCommand(setExit),
    deviceRevokeCommand(setExit),
    deviceListCommand(setExit),
    deviceShowCommand(setExit),
    deviceKeysCommand(setExit),
  ]) {
    device.addCommand(command);
  }
  program.addCommand(device);
  const partner = new Command('partner').description(
    'TMS partners: OAuth clients, their tenant, scopes and policy',
  );
  for (const command of [
    partnerAddCommand(setExit),
    partnerListCommand(setExit),
    partnerSuspendCommand(setExit),
    partnerRotateKeysCommand(setExit),
  ]) {
    partner.addCommand(command);
  }
  program.addCommand(partner);
  const ca = new Command('ca').description('the CA hierarchy: status and rollover');
  ca.addCommand(caStatusCommand(setExit));
  ca.addCommand(caRolloverCommand(setExit));
  program.addCommand(ca);
  const audit = new Command('audit').description('the tamper-evident audit log');
  audit.addCommand(auditVerifyCommand(setExit));
  audit.addCommand(auditReplicateCommand(setExit));
  audit.addCommand(auditWitnessCommand(setExit));
  audit.addCommand(auditRetentionCommand(setExit));
  audit.addCommand(auditRedactCommand(setExit));
  program.addCommand(audit);
  // Subcommands added with addCommand do not inherit settings: usage errors must throw everywhere.
  const overrideExits = (command: Command): void => {
    command.exitOverride().showHelpAfterError();
    for (const sub of command.commands) overrideExits(sub);
  };
  overrideExits(program);
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    console.error(`fleetgate: ${(error as Error).message}`);
    return 1;
  }
  return exitCode;
}
