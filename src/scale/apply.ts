// Carrying out one service's plan. Sleep writes the counts to tags before changing them, so a run
// killed halfway can be re-run (or woken) from the truth; wake removes the tags only once restored.
// Every call is idempotent, and calls that would change nothing are not made.
import type { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { type ECSClient, type Service, TagResourceCommand, UntagResourceCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { setServiceLimits } from '../autoscaling/targets.ts';
import { awsCall } from '../aws.ts';
import { toEcsTags } from '../ecs/services.ts';
import type { Capacity, ServicePlan } from './plan.ts';

export interface ScaleClients {
  ecs: ECSClient;
  aas: ApplicationAutoScalingClient;
}

const limitsChange = (current: Capacity, to: Capacity) =>
  to.min !== undefined && to.max !== undefined && (current.min !== to.min || current.max !== to.max) ? { min: to.min, max: to.max } : undefined;

/** Returns the service as UpdateService left it, when it was called. */
export async function applyPlan(clients: ScaleClients, cluster: string, plan: ServicePlan): Promise<Service | undefined> {
  const { ecs, aas } = clients;
  const { serviceName, serviceArn, current, to } = plan;
  const resource = `service ${serviceName} in cluster ${cluster}`;
  const limits = limitsChange(current, to);
  const setDesired = async () =>
    current.desired === to.desired
      ? undefined
      : (await awsCall('UpdateService', resource, () => ecs.send(new UpdateServiceCommand({ cluster, service: serviceName, desiredCount: to.desired }))))
          .service;

  if (plan.action === 'sleep') {
    if (plan.record)
      await awsCall('TagResource', resource, () => ecs.send(new TagResourceCommand({ resourceArn: serviceArn, tags: toEcsTags(plan.record ?? {}) })));
    // Limits first: with min above 0, Application Auto Scaling would scale the service back up.
    if (limits) await setServiceLimits(aas, cluster, serviceName, limits);
    return setDesired();
  }
  // Limits first on wake too: with max still 0, the service would be scaled straight back in.
  if (limits) await setServiceLimits(aas, cluster, serviceName, limits);
  const updated = await setDesired();
  if (plan.forget.length > 0) {
    await awsCall('UntagResource', resource, () => ecs.send(new UntagResourceCommand({ resourceArn: serviceArn, tagKeys: plan.forget })));
  }
  return updated;
}
