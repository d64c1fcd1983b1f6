// How fast a failed deployment is noticed: from the moment ECS (the emulator) marks it failed, to
// the poll that sees it and to the step's exit, in emulated seconds.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { node24, root } from '../test/helpers/run-bundle.ts';
import { seedService, startWorld } from '../test/helpers/world.ts';

// Low enough that the step's own start-up and exit (real milliseconds) stay small in emulated time.
const TIME_SCALE = 10;

export interface DetectionFigures {
  /** Failure event to the first DescribeServiceDeployments after it. */
  detectSeconds: number;
  /** Failure event to the step's exit, diagnosis included. */
  exitSeconds: number;
}

export async function measureDetection(): Promise<DetectionFigures> {
  const world = await startWorld({ timeScale: TIME_SCALE });
  const work = mkdtempSync(join(tmpdir(), 'bench-detection-'));
  try {
    const seeded = await seedService(world, { cluster: 'bench', service: 'web', image: 'web:v1' });
    await world.control('/_emulator/behaviours', { image: 'web:crash', kind: 'crash', exitCode: 1, logLines: ['Error: missing DATABASE_URL'] });
    for (const file of ['output', 'summary']) writeFileSync(join(work, file), '');
    const child = spawn(node24, [join(root, 'dist/rollout-with-circuit-breaker/index.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'x',
        AWS_ENDPOINT_URL: world.emulator.endpoint,
        ECS_DEPLOY_ACTIONS_TIME_SCALE: String(TIME_SCALE),
        GITHUB_OUTPUT: join(work, 'output'),
        GITHUB_STEP_SUMMARY: join(work, 'summary'),
        INPUT_CLUSTER: seeded.cluster,
        INPUT_SERVICE: seeded.service,
        INPUT_IMAGE: 'web:crash',
      },
      stdio: 'ignore',
    });
    await new Promise((resolve) => child.on('exit', resolve));
    const exitedAt = ((await world.control('/_emulator/clock')) as { epochMs: number }).epochMs;
    const service = (await world.ecs.send(new DescribeServicesCommand({ cluster: seeded.cluster, services: [seeded.service] }))).services?.[0];
    const failedAt = service?.events?.find((event) => /deployment failed/.test(event.message ?? ''))?.createdAt?.getTime();
    if (failedAt === undefined) throw new Error('the deployment did not fail; the bench scenario is broken');
    const calls = (await world.control('/_emulator/calls')) as { calls: { operation: string; time: number }[] };
    const detectedAt = calls.calls.find((call) => call.operation === 'DescribeServiceDeployments' && call.time >= failedAt)?.time ?? Number.NaN;
    return { detectSeconds: (detectedAt - failedAt) / 1000, exitSeconds: (exitedAt - failedAt) / 1000 };
  } finally {
    rmSync(work, { recursive: true, force: true });
    await world.stop();
  }
}

/** From a CloudWatch alarm going into ALARM during a deployment to the poll that sees it and the step's exit. */
export async function measureAlarmDetection(): Promise<DetectionFigures> {
  const world = await startWorld({ timeScale: TIME_SCALE });
  try {
    const seeded = await seedService(world, { cluster: 'bench', service: 'web', image: 'web:v1' });
    // Slow to start, so the deployment is still in progress when the alarm fires.
    await world.control('/_emulator/behaviours', { image: 'web:v2', kind: 'slow-start', startSeconds: 60 });
    const clock = async () => ((await world.control('/_emulator/clock')) as { epochMs: number }).epochMs;
    const running = world.run('rollout-with-circuit-breaker', {
      inputs: { cluster: seeded.cluster, service: seeded.service, image: 'web:v2', alarms: 'web-5xx' },
    });
    for (;;) {
      const calls = (await world.control('/_emulator/calls')) as { calls: { operation: string }[] };
      if (calls.calls.some((call) => call.operation === 'DescribeServiceDeployments')) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const raisedAt = await clock();
    await world.control('/_emulator/alarms', { name: 'web-5xx', state: 'ALARM' });
    const run = await running;
    const exitedAt = await clock();
    if (run.outputs['failure-reason'] !== 'alarm') throw new Error(`the alarm did not fail the deployment; the bench scenario is broken:\n${run.stdout}`);
    const calls = (await world.control('/_emulator/calls')) as { calls: { operation: string; time: number }[] };
    const detectedAt = calls.calls.find((call) => call.operation === 'DescribeServiceDeployments' && call.time >= raisedAt)?.time ?? Number.NaN;
    return { detectSeconds: (detectedAt - raisedAt) / 1000, exitSeconds: (exitedAt - raisedAt) / 1000 };
  } finally {
    await world.stop();
  }
}
