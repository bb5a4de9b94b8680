import { startTestGateway } from '../support/harness.ts';

const t = await startTestGateway({ name: 'pglite' });
console.log(JSON.stringify({ ...t.url, dataDir: t.dataDir }));
process.on('SIGTERM', async () => {
  await t.stop();
  process.exit(0);
});
setInterval(() => {}, 1000);
