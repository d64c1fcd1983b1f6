// What provision-platform leaves for an environment, built with the SDK exactly as the naming contract
// says (names and ownership tags), so teardown tests do not depend on provision-platform itself.
import { CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateServiceCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateRuleCommand, CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { environmentNames, ownershipTags } from '../../src/environment.ts';
import { SECURITY_GROUP, SUBNETS, type World } from './world.ts';

let priority = 1;

/** `upTo` stops early, as an interrupted run would; `tags` are added to every resource (ttl, pull request). */
export async function provisioned(
  world: World,
  options: {
    cluster: string;
    listenerArn: string;
    environment: string;
    upTo?: 'target-group' | 'service';
    tags?: Record<string, string>;
    /** Default acme/web, the repository every bundle run is from. */
    repository?: string;
    /** Default <environment>.preview.example.com. */
    host?: string;
  },
): Promise<{ targetGroupArn: string }> {
  const { cluster, environment } = options;
  const names = environmentNames(cluster, environment);
  const tags = {
    ...ownershipTags({ repository: options.repository ?? 'acme/web', cluster, environment }, 'https://github.com/acme/web/actions/runs/1'),
    ...options.tags,
  };
  const elbTags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  const ecsTags = Object.entries(tags).map(([key, value]) => ({ key, value }));
  await world.logs.send(new CreateLogGroupCommand({ logGroupName: names.logGroup, tags }));
  const tg = await world.elb.send(
    new CreateTargetGroupCommand({ Name: names.targetGroup, Protocol: 'HTTP', Port: 8080, VpcId: 'vpc-0e1a2b3c4d5e6f701', TargetType: 'ip', Tags: elbTags }),
  );
  const targetGroupArn = tg.TargetGroups?.[0]?.TargetGroupArn ?? '';
  if (options.upTo === 'target-group') return { targetGroupArn };
  await world.elb.send(
    new CreateRuleCommand({
      ListenerArn: options.listenerArn,
      Priority: priority++,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [options.host ?? `${environment}.preview.example.com`] } }],
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
  return { targetGroupArn };
}

/** provision-platform inputs for an environment on an existing listener, as the e2e tests run it. */
export function provisionInputs(
  where: { cluster: string; listenerArn: string },
  environment: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    environment,
    cluster: where.cluster,
    'listener-arn': where.listenerArn,
    'host-pattern': '{env}.preview.example.com',
    image: 'web:v1',
    'execution-role-arn': 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    'container-port': '8080',
    subnets: SUBNETS.join(','),
    'security-groups': SECURITY_GROUP,
    'health-check-interval': '10s',
    'desired-count': '2',
    ...extra,
  };
}
