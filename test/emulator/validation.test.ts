// Each invalid request gets the error code AWS returns (as the SDK surfaces it: error name).

import { DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  TagResourceCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeTargetGroupsCommand,
  SetRulePrioritiesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Harness, harness, type Platform, platform, SECURITY_GROUP, SUBNETS, VPC } from './helpers.ts';

let h: Harness;
let p: Platform;
let td: string;
const network = { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } };

beforeAll(async () => {
  h = await harness();
  p = await platform(h);
  td = await p.taskDefinitionArn('app:v1');
  await h.ecs.send(
    new CreateServiceCommand({
      cluster: p.clusterName,
      serviceName: 'web',
      taskDefinition: td,
      desiredCount: 0,
      launchType: 'FARGATE',
      networkConfiguration: network,
    }),
  );
});
afterAll(async () => {
  await h.stop();
});

const fails = async (promise: Promise<unknown>, name: string, message?: string | RegExp): Promise<void> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err?.name).toBe(name);
  if (typeof message === 'string') expect(err?.message).toBe(message);
  else if (message) expect(err?.message).toMatch(message);
};

describe('EC2', () => {
  test('default VPC, subnets in two AZs and security group', async () => {
    const vpcs = await h.ec2.send(new DescribeVpcsCommand({}));
    expect(vpcs.Vpcs?.map((v) => [v.VpcId, v.IsDefault])).toEqual([[VPC, true]]);
    const subnets = await h.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [VPC] }] }));
    expect(subnets.Subnets?.map((s) => [s.SubnetId, s.AvailabilityZone])).toEqual([
      [SUBNETS[0], 'us-east-1a'],
      [SUBNETS[1], 'us-east-1b'],
    ]);
    const groups = await h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [SECURITY_GROUP] }));
    expect(groups.SecurityGroups?.[0]?.GroupName).toBe('default');
  });
  test('unknown IDs', async () => {
    await fails(
      h.ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0123456789abcdef0'] })),
      'InvalidSubnetID.NotFound',
      "The subnet ID 'subnet-0123456789abcdef0' does not exist",
    );
    await fails(
      h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })),
      'InvalidGroup.NotFound',
      "The security group 'sg-0123456789abcdef0' does not exist",
    );
  });
});

describe('ELBv2', () => {
  test('target group names', async () => {
    const base = { Protocol: 'HTTP' as const, Port: 80, VpcId: VPC, TargetType: 'ip' as const };
    await fails(
      h.elb.send(new CreateTargetGroupCommand({ ...base, Name: 'a'.repeat(33) })),
      'ValidationError',
      `Target group name '${'a'.repeat(33)}' cannot be longer than '32' characters`,
    );
    await fails(
      h.elb.send(new CreateTargetGroupCommand({ ...base, Name: 'bad_name' })),
      'ValidationError',
      /can only contain characters that are alphanumeric characters or hyphens/,
    );
    await fails(h.elb.send(new CreateTargetGroupCommand({ ...base, Name: 'pr-1-web', Port: 81 })), 'DuplicateTargetGroupNameException');
  });
  test('listener rule priorities are unique per listener', async () => {
    const rule = {
      ListenerArn: p.listenerArn,
      Conditions: [{ Field: 'path-pattern', Values: ['/x/*'] }],
      Actions: [{ Type: 'forward' as const, TargetGroupArn: p.targetGroupArn }],
    };
    await fails(h.elb.send(new CreateRuleCommand({ ...rule, Priority: 10 })), 'PriorityInUseException', "Priority '10' is currently in use");
    const created = await h.elb.send(new CreateRuleCommand({ ...rule, Priority: 11 }));
    await fails(
      h.elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: created.Rules?.[0]?.RuleArn, Priority: 10 }] })),
      'PriorityInUseException',
    );
  });
  test('unknown resources and resources in use', async () => {
    await fails(h.elb.send(new DescribeTargetGroupsCommand({ Names: ['nope'] })), 'TargetGroupNotFoundException');
    await fails(h.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: p.targetGroupArn })), 'ResourceInUseException');
    await fails(h.elb.send(new CreateLoadBalancerCommand({ Name: 'lb2', Subnets: ['subnet-0123456789abcdef0', SUBNETS[1]] })), 'SubnetNotFoundException');
    await fails(h.elb.send(new CreateLoadBalancerCommand({ Name: 'lb2', Subnets: [SUBNETS[0]] })), 'ValidationError');
  });
});

describe('ECS', () => {
  test('clusters and names', async () => {
    await fails(h.ecs.send(new CreateClusterCommand({ clusterName: 'bad name' })), 'InvalidParameterException');
    await fails(h.ecs.send(new DescribeServicesCommand({ cluster: 'nope', services: ['web'] })), 'ClusterNotFoundException', 'Cluster not found.');
    await fails(
      h.ecs.send(new UpdateServiceCommand({ cluster: p.clusterName, service: 'nope', desiredCount: 1 })),
      'ServiceNotFoundException',
      'Service not found.',
    );
    await fails(
      h.ecs.send(
        new CreateServiceCommand({
          cluster: p.clusterName,
          serviceName: 'x'.repeat(256),
          taskDefinition: td,
          launchType: 'FARGATE',
          networkConfiguration: network,
        }),
      ),
      'InvalidParameterException',
    );
  });
  test('task definitions', async () => {
    await fails(h.ecs.send(new RegisterTaskDefinitionCommand({ family: 'f', containerDefinitions: [] })), 'ClientException', 'Container list cannot be empty.');
    await fails(h.ecs.send(new RegisterTaskDefinitionCommand({ family: 'bad family', containerDefinitions: [{ name: 'a', image: 'a' }] })), 'ClientException');
    await fails(
      h.ecs.send(new RegisterTaskDefinitionCommand({ family: 'f', containerDefinitions: [{ name: 'a' } as never] })),
      'ClientException',
      'Container.image should not be null or empty.',
    );
    await fails(h.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'nope:1' })), 'ClientException', 'Unable to describe task definition.');
  });
  test('services', async () => {
    await fails(
      h.ecs.send(
        new CreateServiceCommand({ cluster: p.clusterName, serviceName: 'web', taskDefinition: td, launchType: 'FARGATE', networkConfiguration: network }),
      ),
      'InvalidParameterException',
      'Creation of service was not idempotent.',
    );
    await fails(
      h.ecs.send(
        new CreateServiceCommand({
          cluster: p.clusterName,
          serviceName: 'other',
          taskDefinition: td,
          launchType: 'FARGATE',
          networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-0123456789abcdef0'] } },
        }),
      ),
      'InvalidParameterException',
      /The subnet ID 'subnet-0123456789abcdef0' does not exist/,
    );
    await fails(
      h.ecs.send(new CreateServiceCommand({ cluster: p.clusterName, serviceName: 'other', taskDefinition: td, launchType: 'FARGATE' })),
      'InvalidParameterException',
      /Network Configuration must be provided/,
    );
    const old = await p.taskDefinitionArn('app:v0', 'old');
    await h.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: old }));
    await fails(
      h.ecs.send(new UpdateServiceCommand({ cluster: p.clusterName, service: 'web', taskDefinition: old })),
      'ClientException',
      'TaskDefinition is inactive',
    );
    await fails(
      h.ecs.send(new RunTaskCommand({ cluster: p.clusterName, taskDefinition: old, launchType: 'FARGATE', networkConfiguration: network })),
      'InvalidParameterException',
      'TaskDefinition is inactive',
    );
  });
  test('unknown ARNs', async () => {
    await fails(
      h.ecs.send(new TagResourceCommand({ resourceArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/nope', tags: [{ key: 'a', value: 'b' }] })),
      'ClusterNotFoundException',
    );
    await fails(
      h.ecs.send(new TagResourceCommand({ resourceArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/nope:1', tags: [{ key: 'a', value: 'b' }] })),
      'ResourceNotFoundException',
    );
  });
});
