// `scripts/node24 emulator/cli.ts --port 4566 --time-scale 100 [--no-registry]`
import { parseArgs } from 'node:util';
import { startEmulator } from './index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    // The same variable scales the actions' waits, so both sides agree on how fast time runs.
    'time-scale': { type: 'string', default: process.env.ECS_DEPLOY_ACTIONS_TIME_SCALE ?? '1' },
    'no-registry': { type: 'boolean', default: false },
    region: { type: 'string', default: 'us-east-1' },
  },
});

const port = Number(values.port);
const timeScale = Number(values['time-scale']);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}
if (!(timeScale > 0)) {
  console.error(`--time-scale must be a positive number, got ${values['time-scale']}`);
  process.exit(2);
}

const emulator = await startEmulator({ port, timeScale, registry: !values['no-registry'], region: values.region });
console.log(`emulator listening on ${emulator.endpoint} (time-scale ${timeScale})`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  emulator.stop().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error('emulator: stop failed:', e);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
