/** `fleetgate serve --data-dir DIR`: runs the gateway until SIGINT/SIGTERM, then drains and stops. */
import { resolve } from 'node:path';
import { loadConfig } from '@fleetgate/gateway/config/load';
import { startGateway } from '@fleetgate/gateway/gateway';
import { Command } from 'commander';

export function serveCommand(setExit: (code: number) => void): Command {
  return new Command('serve')
    .description('run the gateway (control plane, telemetry, public and ops listeners)')
    .requiredOption('--data-dir <dir>', 'data directory created by `fleetgate init`')
    .action(async (opts: { dataDir: string }) => {
      const dataDir = resolve(opts.dataDir);
      const gateway = await startGateway({ dataDir, config: loadConfig(dataDir) });
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await gateway.close();
      setExit(0);
    });
}
