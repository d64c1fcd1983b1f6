// teardown-env, run as a runner runs it, against the emulator. The environments are built with the
// SDK exactly as the naming contract says provision-platform builds them (names and ownership tags).

import { CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateClusterCommand, CreateServiceCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateRuleCommand, CreateTargetGroupCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { environmentNames, ownershipTags } from '../../src/environment.ts';
import { SECURITY_GROUP, SUBNETS, sharedListener, startWorld, taggedResources, type World } from '../helpers/world.ts';

let world: World;
let elb: ElasticLoadBalancingV2Client;
let listenerArn: string;
let priority = 1;
const cluster = 'previews';

beforeAll(async () => {
  world = await startWorld();
  elb = world.elb;
  await world.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  ({ listenerArn } = await sharedListener(world, 'shared'));
});
afterAll(() => world.stop());

/** What provision-platform leaves for an environment; `upTo` stops early, as an interrupted run would. */
async function provisioned(environment: string, upTo: 'target-group' | 'service' = 'service'): Promise<void> {
  const names = environmentNames(cluster, environment);
  const tags = ownershipTags(environment, 'https://github.com/acme/web/actions/runs/1');
  const elbTags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  const ecsTags = Object.entries(tags).map(([key, value]) => ({ key, value }));
  await world.logs.send(new CreateLogGroupCommand({ logGroupName: names.logGroup, tags }));
  const tg = await elb.send(
    new CreateTargetGroupCommand({ Name: names.targetGroup, Protocol: 'HTTP', Port: 8080, VpcId: 'vpc-0e1a2b3c4d5e6f701', TargetType: 'ip', Tags: elbTags }),
  );
  const targetGroupArn = tg.TargetGroups?.[0]?.TargetGroupArn ?? '';
  if (upTo === 'target-group') return;
  await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: priority++,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`${environment}.preview.example.com`] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
      Tags: elbTags,
    }),
  );
  const td = await world.ecs.send(
    new RegisterTaskDefinitionCommand({
      family: names.family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
      tags: ecsTags,
      containerDefinitions: [
        {
          name: 'app',
          image: 'web:v1',
          portMappings: [{ containerPort: 8080 }],
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': names.logGroup, 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'app' },
          },
        },
      ],
    }),
  );
  await world.ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: names.service,
      taskDefinition: td.taskDefinition?.taskDefinitionArn,
      desiredCount: 2,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
      loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 8080 }],
      tags: ecsTags,
      propagateTags: 'SERVICE',
    }),
  );
}

const tagged = (environment: string) => taggedResources(world, environment);

test('teardown deletes everything pr-7 owns, in order, and leaves pr-70 and a foreign look-alike alone; twice is safe', async () => {
  await provisioned('pr-7');
  await provisioned('pr-70');
  // Somebody else's log group named like pr-8's: never ours to delete.
  await world.logs.send(new CreateLogGroupCommand({ logGroupName: environmentNames(cluster, 'pr-8').logGroup }));
  expect((await tagged('pr-7')).length).toBeGreaterThan(0);
  // pr-70's tasks come and go with its scheduler; its resources must stay exactly as they were.
  const durable = (ids: string[]) => ids.filter((id) => !id.includes(':task/'));
  const pr70Before = durable(await tagged('pr-70'));

  const first = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-7' } });
  expect(first.exitCode).toBe(0);
  expect(Number(first.outputs.deleted)).toBe(5);
  expect(first.outputs.left).toBe('0');
  const order = [
    'Stopping and deleting the service',
    'Deleting listener rules',
    'Deleting target groups',
    'Deregistering and deleting task definitions',
    'Deleting the log group',
  ];
  const positions = order.map((phase) => first.stdout.indexOf(phase));
  expect(positions.every((at) => at >= 0)).toBe(true);
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  expect(await tagged('pr-7')).toEqual([]);
  expect(durable(await tagged('pr-70'))).toEqual(pr70Before);

  const before = (await world.calls()).length;
  const second = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-7' } });
  expect(second.exitCode).toBe(0);
  expect(second.outputs.deleted).toBe('0');
  expect(second.stdout).toContain('Nothing owned by pr-7 is left');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);

  const foreign = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-8' } });
  expect(foreign.exitCode).toBe(0);
  expect(foreign.outputs).toMatchObject({ deleted: '0', left: '1' });
  expect(foreign.stdout).toContain('left untouched (not owned by pr-8): log group /ecs/previews/pr-8');
  const groups = (await world.control<{ services: { logs: unknown } }>('/_emulator/state')).services.logs;
  expect(JSON.stringify(groups)).toContain('/ecs/previews/pr-8');
});

test('dry run lists the plan and changes nothing', async () => {
  await provisioned('pr-21');
  const before = (await world.calls()).length;
  const run = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-21', 'dry-run': 'true' } });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toContain('would delete: service pr-21');
  expect(run.stdout).toContain('would delete: target group previews-pr-21');
  expect(run.stdout).toContain('would delete: log group /ecs/previews/pr-21');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
  expect((await tagged('pr-21')).length).toBeGreaterThan(0);
});

test('after a provision interrupted between the target group and the service, teardown leaves nothing', async () => {
  await provisioned('pr-33', 'target-group');
  const run = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-33' } });
  expect(run.exitCode).toBe(0);
  expect(run.outputs.deleted).toBe('2');
  expect(await tagged('pr-33')).toEqual([]);
});

test('keep-logs keeps the log group and deletes the rest', async () => {
  await provisioned('pr-50');
  const run = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-50', 'keep-logs': 'true' } });
  expect(run.exitCode).toBe(0);
  expect(run.outputs.deleted).toBe('4');
  expect(await tagged('pr-50')).toEqual(['/ecs/previews/pr-50']);
});
