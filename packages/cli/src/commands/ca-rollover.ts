/**
 * `fleetgate ca rollover --data-dir DIR [--complete [--force]]` (docs/pki.md "CA rollover"): rolls the
 * CA hierarchy over with no downtime. Without --complete it creates a new root and intermediate (keys
 * through the configured provider, config `keys`), puts both anchors in ca.pem and moves issuance to
 * the new intermediate; running gateways reload ca.pem within a second. With --complete it ends the
 * overlap: the server certificate is re-issued under the new hierarchy and the previous anchors leave
 * ca.pem (refused while certificates of the previous hierarchy remain, unless --force).
 *
 * Safe while a gateway runs on the same data directory: it only writes files under DIR/pki (never the
 * store), and the gateway records the reload in the audit log ('pki.trust-bundle.reloaded').
 */
import { resolve } from 'node:path';
import { loadConfig } from '@fleetgate/gateway/config/load';
import { beginRollover } from '@fleetgate/gateway/pki/rollover/begin';
import { completeRollover } from '@fleetgate/gateway/pki/rollover/complete';
import { Command } from 'commander';

interface RolloverCliOptions {
  dataDir: string;
  complete?: boolean;
  force?: boolean;
  json?: boolean;
}

export function caRolloverCommand(setExit: (code: number) => void): Command {
  return new Command('rollover')
    .description(
      'roll the CA over to a new root and intermediate with no downtime; --complete ends the overlap',
    )
    .requiredOption('--data-dir <dir>', 'data directory')
    .option('--complete', 'end the overlap: re-issue the server certificate, drop the previous anchors')
    .option('--force', 'with --complete: even though certificates of the previous hierarchy remain')
    .option('--json', 'print the result as JSON')
    .action(async (opts: RolloverCliOptions) => {
      const dataDir = resolve(opts.dataDir);
      if (opts.force === true && opts.complete !== true) {
        console.error('fleetgate: --force only applies to --complete');
        setExit(2);
        return;
      }
      if (opts.complete === true) {
        const result = await completeRollover(dataDir, { force: opts.force === true });
        if (opts.json === true) {
          console.log(JSON.stringify(result, null, 2));
        } else {
          console.log(
            `rollover complete: ca.pem now holds only the current hierarchy; ` +
              `server certificate ${result.serverReissued ? 're-issued under the new intermediate' : 'already current'}; ` +
              `previous hierarchy moved to ${result.retiredTo}`,
          );
          if (result.remaining.length > 0) {
            console.log(
              `warning: ${result.remaining.length} certificate(s) of the previous hierarchy stop working:`,
            );
            for (const path of result.remaining) console.log(`  ${path}`);
          }
        }
        setExit(0);
        return;
      }
      const config = loadConfig(dataDir, process.env);
      const result = await beginRollover(dataDir, { keys: config.keys });
      if (opts.json === true) {
        console.log(JSON.stringify(result, null, 2));
      } else {
        console.log(
          `${result.resumed ? 'finished an interrupted rollover' : 'rolled over'} to generation ${result.generation}: ` +
            `new root ${result.newRoot}, new intermediate ${result.newIntermediate} (issues from now on); ` +
            `previous root ${result.previousRoot} stays trusted in pki/ca.pem until ` +
            '`fleetgate ca rollover --complete`',
        );
      }
      setExit(0);
    });
}
