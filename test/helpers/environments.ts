// Many environments at once, named and tagged as provision-platform makes them (without load
// balancers, which scaling does not touch), optionally with an Application Auto Scaling target.
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  RegisterScalableTargetCommand,
  type ScalableTarget,
} from '@aws-sdk/client-application-auto-scaling';
import { CreateClusterCommand, CreateServiceCommand, DescribeServicesCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { settleAll } from '../../src/concurrency.ts';
import { environmentNames, ownershipTags } from '../../src/environment.ts';
import { eventually, SECURITY_GROUP, SUBNETS, type World } from './world.ts';

export interface EnvironmentSeed {
  environment: string;
  desiredCount: number;
  limits?: { min: number; max: number };
  /** Extra tags, or null for a service without our ownership tags. */
  tags?: Record<string, string> | null;
  capacityProviders?: { capacityProvider: string; weight: number }[];
  /** Default web:v1; its own image lets a test change how this one's tasks behave. */
  image?: string;
  /** The GitHub repository that made it; default acme/web, the repository every bundle run is from. */
  repository?: string;
}

export interface Snapshot {
  desired: number;
  running: number;
  min?: number;
  max?: number;
  tags: Record<string, string>;
}

export function autoScaling(world: World): ApplicationAutoScalingClient {
  return new ApplicationAutoScalingClient({
    endpoint: world.emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
  });
}

export async function seedEnvironments(world: World, cluster: string, seeds: EnvironmentSeed[]): Promise<void> {
  const aas = autoScaling(world);
  await world.ecs.send(new CreateClusterCommand({ clusterName: cluster, capacityProviders: ['FARGATE', 'FARGATE_SPOT'] }));
  // A few at a time: quick even when the emulator adds latency to every call.
  const seeded = await settleAll(seeds, 10, async (seed) => {
    const names = environmentNames(cluster, seed.environment);
    const tags =
      seed.tags === null
        ? {}
        : {
            ...ownershipTags(
              { repository: seed.repository ?? 'acme/web', cluster, environment: seed.environment },
              'https://github.com/acme/web/actions/runs/1',
            ),
            ...seed.tags,
          };
    const td = await world.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: names.family,
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [{ name: 'app', image: seed.image ?? 'web:v1', essential: true, portMappings: [{ containerPort: 8080 }] }],
      }),
    );
    await world.ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: names.service,
        taskDefinition: td.taskDefinition?.taskDefinitionArn,
        desiredCount: seed.desiredCount,
        ...(seed.capacityProviders ? { capacityProviderStrategy: seed.capacityProviders } : { launchType: 'FARGATE' }),
        networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      }),
    );
    if (seed.limits) {
      await aas.send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: 'ecs',
          ScalableDimension: 'ecs:service:DesiredCount',
          ResourceId: `service/${cluster}/${names.service}`,
          MinCapacity: seed.limits.min,
          MaxCapacity: seed.limits.max,
        }),
      );
    }
  });
  const failed = seeded.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  aas.destroy();
  await settled(
    world,
    cluster,
    seeds.map((seed) => seed.environment),
  );
}

/** Waits until every service runs its desired count with one deployment. */
export async function settled(world: World, cluster: string, services: string[], wallTimeoutMs = 30_000): Promise<void> {
  await eventually(async () => {
    for (let i = 0; i < services.length; i += 10) {
      const described = await world.ecs.send(new DescribeServicesCommand({ cluster, services: services.slice(i, i + 10) }));
      if (!(described.services ?? []).every((service) => service.runningCount === service.desiredCount && service.deployments?.length === 1)) return false;
    }
    return true;
  }, wallTimeoutMs);
}

/** Desired and running counts, scalable-target limits and tags of each service, by name. */
export async function snapshot(world: World, cluster: string, services: string[]): Promise<Record<string, Snapshot>> {
  const aas = autoScaling(world);
  const targets: ScalableTarget[] = [];
  let NextToken: string | undefined;
  do {
    const page = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', NextToken }));
    targets.push(...(page.ScalableTargets ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  aas.destroy();
  const result: Record<string, Snapshot> = {};
  for (let i = 0; i < services.length; i += 10) {
    const described = await world.ecs.send(new DescribeServicesCommand({ cluster, services: services.slice(i, i + 10), include: ['TAGS'] }));
    for (const service of described.services ?? []) {
      const name = service.serviceName ?? '';
      const target = targets.find((candidate) => candidate.ResourceId === `service/${cluster}/${name}`);
      result[name] = {
        desired: service.desiredCount ?? -1,
        running: service.runningCount ?? -1,
        ...(target ? { min: target.MinCapacity ?? -1, max: target.MaxCapacity ?? -1 } : {}),
        tags: Object.fromEntries((service.tags ?? []).map((tag) => [tag.key ?? '', tag.value ?? ''])),
      };
    }
  }
  return result;
}
