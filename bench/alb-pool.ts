// Placement in a load-balancer pool: the time and AWS calls to provision the 1st environment into an
// empty pool versus the 100th into a pool holding 99 (the quota is 100 target groups per ALB). The 98
// others are seeded with the SDK, each a target group and a rule tagged as its own environment.
import { AddTagsCommand, CreateRuleCommand, CreateTargetGroupCommand, DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SECURITY_GROUP, SUBNETS, sharedListener, startWorld } from '../test/helpers/world.ts';

export interface PlacementFigures {
  environments: number;
  wallMs: number;
  describeCalls: number;
  mutatingCalls: number;
}

export async function measurePoolPlacement(): Promise<PlacementFigures[]> {
  const world = await startWorld({ timeScale: 100, callLatencyMs: 5 });
  try {
    const { listenerArn, loadBalancerArn } = await sharedListener(world, 'bench-1', { https: true });
    await world.elb.send(new AddTagsCommand({ ResourceArns: [loadBalancerArn], Tags: [{ Key: 'ecs-deploy-actions:pool', Value: 'bench' }] }));
    const vpcId = (await world.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [loadBalancerArn] }))).LoadBalancers?.[0]?.VpcId;
    const provision = async (environment: string, environments: number): Promise<PlacementFigures> => {
      const before = (await world.calls()).length;
      const started = performance.now();
      const run = await world.run('provision-platform', {
        inputs: {
          environment,
          cluster: 'bench',
          'load-balancer-pool': 'bench',
          'host-pattern': '{env}.preview.example.com',
          image: 'web:v1',
          'execution-role-arn': 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
          subnets: SUBNETS.join(','),
          'security-groups': SECURITY_GROUP,
          'desired-count': '0',
        },
      });
      const wallMs = performance.now() - started;
      if (run.exitCode !== 0) throw new Error(`provision ${environment} failed:\n${run.stdout}`);
      const calls = (await world.calls()).slice(before).filter((call) => call.service === 'elbv2');
      return {
        environments,
        wallMs,
        describeCalls: calls.filter((call) => !call.mutating).length,
        mutatingCalls: calls.filter((call) => call.mutating).length,
      };
    };
    const first = await provision('pr-1', 1);
    for (let n = 2; n <= 99; n++) {
      const environment = `pr-${n}`;
      const tags = [
        { Key: 'ecs-deploy-actions:managed-by', Value: 'ecs-deploy-actions' },
        { Key: 'ecs-deploy-actions:environment', Value: environment },
      ];
      const group = await world.elb.send(
        new CreateTargetGroupCommand({ Name: `bench-${environment}`, Protocol: 'HTTP', Port: 80, VpcId: vpcId, TargetType: 'ip', Tags: tags }),
      );
      await world.elb.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: n,
          Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`${environment}.preview.example.com`] } }],
          Actions: [{ Type: 'forward', TargetGroupArn: group.TargetGroups?.[0]?.TargetGroupArn }],
          Tags: tags,
        }),
      );
    }
    const hundredth = await provision('pr-100', 100);
    return [first, hundredth];
  } finally {
    await world.stop();
  }
}
