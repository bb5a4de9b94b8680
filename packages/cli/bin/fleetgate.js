#!/usr/bin/env node
// The `fleetgate` command. Runs the TypeScript sources directly on Node 24 (type stripping); refuses an
// older Node with a clear message instead of a syntax error.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `fleetgate needs Node.js 24 (found ${process.version}). Run it through npm (\`npx fleetgate\`, \`npm start\`), ` +
      'which puts the Node 24 that `npm install` brought first on PATH.',
  );
  process.exit(1);
}
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv);
