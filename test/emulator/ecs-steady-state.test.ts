import {
  CreateServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { advanceUntil, describeService, type Harness, harness, platform, SECURITY_GROUP, SUBNETS } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.stop();
});

test('a service of 3 tasks behind a listener rule reaches steady state in AWS-like time', async () => {
  const p = await platform(h);
  const td = await p.taskDefinitionArn('app:v1');
  await h.ecs.send(
    new CreateServiceCommand({
      cluster: p.clusterName,
      serviceName: 'pr-1-web',
      taskDefinition: td,
      desiredCount: 3,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
      loadBalancers: [{ targetGroupArn: p.targetGroupArn, containerName: 'web', containerPort: 8080 }],
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
    }),
  );
  const took = await advanceUntil(h, async () => {
    const s = await describeService(h, p.clusterName, 'pr-1-web');
    return !!s.events?.some((e) => e.message === '(service pr-1-web) has reached a steady state.');
  });
  // Provisioning 10 s + pull/start 20 s + health checks 10 s x 3, plus scheduler passes (README: 60-120 s
  // for this health check; AWS's own guidance puts a Fargate service behind an ALB at about 1-3 minutes).
  expect(took).toBeGreaterThanOrEqual(60);
  expect(took).toBeLessThanOrEqual(120);

  const s = await describeService(h, p.clusterName, 'pr-1-web');
  expect(s.runningCount).toBe(3);
  expect(s.deployments).toHaveLength(1);
  expect(s.deployments?.[0]?.rolloutState).toBe('COMPLETED');
  const messages = s.events?.map((e) => e.message) ?? [];
  expect(messages.filter((m) => m === `(service pr-1-web) registered 1 targets in (target-group ${p.targetGroupArn})`)).toHaveLength(3);
  expect(messages.some((m) => /^\(service pr-1-web\) \(deployment ecs-svc\/\d{19}\) deployment completed\.$/.test(m ?? ''))).toBe(true);

  const list = await h.ecs.send(new ListServiceDeploymentsCommand({ cluster: p.clusterName, service: 'pr-1-web' }));
  const sd = await h.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [list.serviceDeployments?.[0]?.serviceDeploymentArn as string] }));
  expect(sd.serviceDeployments?.[0]).toMatchObject({
    status: 'SUCCESSFUL',
    targetServiceRevision: { requestedTaskCount: 3, runningTaskCount: 3, pendingTaskCount: 0 },
    deploymentCircuitBreaker: { status: 'MONITORING_COMPLETE', failureCount: 0, threshold: 3 },
  });

  const health = await h.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: p.targetGroupArn }));
  expect(health.TargetHealthDescriptions?.map((d) => d.TargetHealth?.State)).toEqual(['healthy', 'healthy', 'healthy']);

  const arns = await h.ecs.send(new ListTasksCommand({ cluster: p.clusterName, serviceName: 'pr-1-web' }));
  const tasks = await h.ecs.send(new DescribeTasksCommand({ cluster: p.clusterName, tasks: arns.taskArns }));
  expect(tasks.tasks?.map((t) => t.lastStatus)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
  expect(new Set(tasks.tasks?.map((t) => t.availabilityZone))).toEqual(new Set(['us-east-1a', 'us-east-1b']));
});
