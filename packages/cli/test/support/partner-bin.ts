/**
 * `fleetgate partner …` as a process, for tests until src/main.ts registers the partner commands: the
 * same commander wiring and exit-code mapping as main.ts (0 success, 1 failure, 2 usage error), with
 * add, list, suspend and rotate-keys under `partner`.
 */
import { Command, CommanderError } from 'commander';
import { partnerAddCommand } from '../../src/commands/partner-add.ts';
import { partnerListCommand } from '../../src/commands/partner-list.ts';
import { partnerRotateKeysCommand } from '../../src/commands/partner-rotate-keys.ts';
import { partnerSuspendCommand } from '../../src/commands/partner-suspend.ts';

let exitCode = 0;
const setExit = (code: number): void => {
  exitCode = code;
};
const partner = new Command('partner').description('TMS partners as OAuth clients');
for (const command of [
  partnerAddCommand(setExit),
  partnerListCommand(setExit),
  partnerSuspendCommand(setExit),
  partnerRotateKeysCommand(setExit),
]) {
  partner.addCommand(command);
}
const program = new Command('fleetgate').addCommand(partner);
const overrideExits = (command: Command): void => {
  command.exitOverride().showHelpAfterError();
  for (const sub of command.commands) overrideExits(sub);
};
overrideExits(program);
try {
  await program.parseAsync(process.argv);
  process.exitCode = exitCode;
} catch (error) {
  if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? 0 : 2;
  else {
    console.error(`fleetgate: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
