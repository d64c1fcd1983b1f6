import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { advanceUntil, describeService, type Harness, harness, platform, SECURITY_GROUP, SUBNETS } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.stop();
});

test('a crashing image trips the circuit breaker after 3 failed tasks and rolls back', async () => {
  const p = await platform(h);
  const good = await p.taskDefinitionArn('app:v1');
  await h.ecs.send(
    new CreateServiceCommand({
      cluster: p.clusterName,
      serviceName: 'web',
      taskDefinition: good,
      desiredCount: 2,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
      loadBalancers: [{ targetGroupArn: p.targetGroupArn, containerName: 'web', containerPort: 8080 }],
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
    }),
  );
  await advanceUntil(h, async () => (await describeService(h, p.clusterName, 'web')).deployments?.[0]?.rolloutState === 'COMPLETED');
  const completed = (await describeService(h, p.clusterName, 'web')).deployments?.[0]?.id as string;

  await h.control('/_emulator/behaviours', { image: 'app:v2', kind: 'crash', exitCode: 3, logLines: ['boom: missing DATABASE_URL'] });
  const bad = await p.taskDefinitionArn('app:v2');
  await h.ecs.send(new UpdateServiceCommand({ cluster: p.clusterName, service: 'web', taskDefinition: bad }));

  await advanceUntil(h, async () => {
    const s = await describeService(h, p.clusterName, 'web');
    return s.deployments?.length === 1 && s.deployments[0]?.rolloutState === 'COMPLETED' && s.taskDefinition === good;
  });
  const s = await describeService(h, p.clusterName, 'web');
  const messages = s.events?.map((e) => e.message ?? '') ?? [];
  const failed = messages.find((m) => /^\(service web\) \(deployment ecs-svc\/\d{19}\) deployment failed: tasks failed to start\.$/.test(m));
  expect(failed).toBeDefined();
  expect(messages).toContain(`(service web) rolling back to deployment ${completed}.`);
  expect(messages[0]).toBe('(service web) has reached a steady state.');
  // Events are newest first: failure, then rollback, then the completed rollback.
  expect(messages.indexOf(failed as string)).toBeGreaterThan(messages.indexOf(`(service web) rolling back to deployment ${completed}.`));

  const list = await h.ecs.send(new ListServiceDeploymentsCommand({ cluster: p.clusterName, service: 'web' }));
  expect(list.serviceDeployments?.map((d) => d.status)).toEqual(['ROLLBACK_SUCCESSFUL', 'SUCCESSFUL']);
  const sd = await h.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [list.serviceDeployments?.[0]?.serviceDeploymentArn as string] }));
  const d = sd.serviceDeployments?.[0];
  // Threshold for desired 2: 50% of 2 = 1, raised to the minimum of 3.
  expect(d?.deploymentCircuitBreaker).toEqual({ status: 'TRIGGERED', failureCount: 3, threshold: 3 });
  expect(d?.rollback?.reason).toBe('Service deployment rolled back because the circuit breaker threshold was exceeded.');
  const rev = await h.ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [d?.rollback?.serviceRevisionArn as string] }));
  expect(rev.serviceRevisions?.[0]?.taskDefinition).toBe(good);

  const stopped = await h.ecs.send(new ListTasksCommand({ cluster: p.clusterName, serviceName: 'web', desiredStatus: 'STOPPED' }));
  const tasks = await h.ecs.send(new DescribeTasksCommand({ cluster: p.clusterName, tasks: stopped.taskArns }));
  const crashed = tasks.tasks?.filter((t) => t.taskDefinitionArn === bad) ?? [];
  // Two tasks launch at a time, so the fourth may crash alongside the third before the breaker trips.
  expect(crashed.length).toBeGreaterThanOrEqual(3);
  for (const t of crashed) {
    expect(t.lastStatus).toBe('STOPPED');
    expect(t.stoppedReason).toBe('Essential container in task exited');
    expect(t.stopCode).toBe('EssentialContainerExited');
    expect(t.containers?.[0]?.exitCode).toBe(3);
  }
  const events = await h.logs.send(
    new FilterLogEventsCommand({ logGroupName: '/ecs/pr-1-web', logStreamNamePrefix: `ecs/web/${crashed[0]?.taskArn?.split('/').pop()}` }),
  );
  expect(events.events?.map((e) => e.message)).toEqual(['boom: missing DATABASE_URL']);
});
