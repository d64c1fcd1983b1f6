// Our own time per environment: the emulated duration of provision-platform and teardown-env minus the
// part AWS itself takes (the service deployment, the service draining), at time-scale 10.
import { ListServiceDeploymentsCommand } from '@aws-sdk/client-ecs';
import { SECURITY_GROUP, SUBNETS, sharedListener, startWorld } from '../test/helpers/world.ts';

const TIME_SCALE = 10;

export interface OverheadFigures {
  provisionTotal: number;
  provisionAws: number;
  teardownTotal: number;
  teardownAws: number;
}

export async function measureEnvironmentOverhead(): Promise<OverheadFigures> {
  const world = await startWorld({ timeScale: TIME_SCALE });
  try {
    const { listenerArn } = await sharedListener(world, 'bench');
    const now = async () => ((await world.control('/_emulator/clock')) as { epochMs: number }).epochMs;
    const calls = async () =>
      (await world.control('/_emulator/calls')) as { calls: { operation: string; time: number; parameters: Record<string, unknown> }[] };

    const provisionStart = await now();
    const provision = await world.run('provision-platform', {
      inputs: {
        environment: 'pr-1',
        cluster: 'bench',
        'listener-arn': listenerArn,
        'host-pattern': '{env}.preview.example.com',
        image: 'web:v1',
        'execution-role-arn': 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
        subnets: SUBNETS.join(','),
        'security-groups': SECURITY_GROUP,
        'health-check-interval': '10s',
      },
    });
    const provisionEnd = await now();
    if (provision.exitCode !== 0) throw new Error(`provision failed:\n${provision.stdout}`);
    const listed = await world.ecs.send(new ListServiceDeploymentsCommand({ cluster: 'bench', service: 'pr-1' }));
    const deployment = listed.serviceDeployments?.[0];
    const provisionAws = (deployment?.finishedAt?.getTime() ?? 0) - (deployment?.createdAt?.getTime() ?? 0);

    const teardownStart = await now();
    const teardown = await world.run('teardown-env', { inputs: { cluster: 'bench', environment: 'pr-1' } });
    const teardownEnd = await now();
    if (teardown.exitCode !== 0) throw new Error(`teardown failed:\n${teardown.stdout}`);
    // AWS's part: from DeleteService to the last DescribeServices that still saw the service draining.
    const log = (await calls()).calls.filter((call) => call.time >= teardownStart);
    const deleted = log.find((call) => call.operation === 'DeleteService')?.time ?? teardownStart;
    const nextDelete =
      log.find((call) => call.time > deleted && ['DeleteRule', 'DeleteTargetGroup', 'DeregisterTaskDefinition'].includes(call.operation))?.time ?? deleted;
    return {
      provisionTotal: (provisionEnd - provisionStart) / 1000,
      provisionAws: provisionAws / 1000,
      teardownTotal: (teardownEnd - teardownStart) / 1000,
      teardownAws: (nextDelete - deleted) / 1000,
    };
  } finally {
    await world.stop();
  }
}
