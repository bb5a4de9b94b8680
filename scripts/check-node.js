// Fails early, with a clear message, when npm scripts run on a Node older than 24: the project brings
// Node 24 as the `node` devDependency, which npm puts first on PATH for every script.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `fleetgate needs Node.js 24 (found ${process.version}). Run \`npm install\` first: it brings Node 24 ` +
      'from the npm registry and npm scripts use it.',
  );
  process.exit(1);
}
