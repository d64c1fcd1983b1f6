// Application Auto Scaling targets of ECS services: their min/max, read in batches and set one at a time.
import {
  type ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  RegisterScalableTargetCommand,
  type ScalableTarget,
} from '@aws-sdk/client-application-auto-scaling';
import { awsCall } from '../aws.ts';
import { chunk } from '../list.ts';

export interface ScalableLimits {
  min: number;
  max: number;
}

const DIMENSION = 'ecs:service:DesiredCount';
// DescribeScalableTargets returns at most 50 targets a page.
const BATCH = 50;

export function serviceResourceId(cluster: string, service: string): string {
  return `service/${cluster}/${service}`;
}

/** The min/max of every service that has a scalable target, by service name. */
export async function describeServiceLimits(aas: ApplicationAutoScalingClient, cluster: string, services: string[]): Promise<Map<string, ScalableLimits>> {
  const pages = await Promise.all(
    chunk(services, BATCH).map(async (batch) => {
      const found: ScalableTarget[] = [];
      let nextToken: string | undefined;
      do {
        const page = await awsCall('DescribeScalableTargets', `services ${batch[0]}..${batch.at(-1)} in cluster ${cluster}`, () =>
          aas.send(
            new DescribeScalableTargetsCommand({
              ServiceNamespace: 'ecs',
              ScalableDimension: DIMENSION,
              ResourceIds: batch.map((service) => serviceResourceId(cluster, service)),
              MaxResults: BATCH,
              NextToken: nextToken,
            }),
          ),
        );
        found.push(...(page.ScalableTargets ?? []));
        nextToken = page.NextToken;
      } while (nextToken);
      return found;
    }),
  );
  const limits = new Map<string, ScalableLimits>();
  for (const target of pages.flat()) {
    const service = target.ResourceId?.split('/')[2];
    if (service) limits.set(service, { min: target.MinCapacity ?? 0, max: target.MaxCapacity ?? 0 });
  }
  return limits;
}

/** Sets an existing target's min and max; its role, policies and suspended state stay as they are. */
export async function setServiceLimits(aas: ApplicationAutoScalingClient, cluster: string, service: string, limits: ScalableLimits): Promise<void> {
  await awsCall('RegisterScalableTarget', `the scalable target of service ${service}`, () =>
    aas.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'ecs',
        ScalableDimension: DIMENSION,
        ResourceId: serviceResourceId(cluster, service),
        MinCapacity: limits.min,
        MaxCapacity: limits.max,
      }),
    ),
  );
}
