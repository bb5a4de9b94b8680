/**
 * The real `fleetgate` bin runner for this package's tests: the same runner the gateway's tests use
 * (packages/gateway/test/support/cli.ts spawns packages/cli/bin/fleetgate.js, i.e. this package's bin).
 */
export { type CliResult, fleetgate } from '../../../gateway/test/support/cli.ts';
