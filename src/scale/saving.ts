// What one task of a service costs a day on Fargate (on-demand or Spot, by its capacity providers):
// what a sleeping environment saves per task.
import type { Service, TaskDefinition } from '@aws-sdk/client-ecs';
import { estimateCost } from '../pricing.ts';

export interface TaskCost {
  dailyUsd: number;
  /** Part of it rests on an unconfirmed Spot price. */
  spotEstimated: boolean;
}

/** undefined when the service does not run on Fargate, the task has no task-level size, or the region has no prices. */
export function dailyCostPerTask(region: string, service: Service, taskDefinition: TaskDefinition): TaskCost | undefined {
  const strategy = (service.capacityProviderStrategy ?? []).map((item) => ({ provider: item.capacityProvider ?? '', weight: item.weight ?? 0 }));
  if (strategy.length === 0 && service.launchType && service.launchType !== 'FARGATE') return undefined;
  // Capacity providers backed by EC2 Auto Scaling groups are billed as instances, not per task.
  if (strategy.some((item) => item.provider !== 'FARGATE' && item.provider !== 'FARGATE_SPOT')) return undefined;
  const cpu = Number(taskDefinition.cpu);
  const memory = Number(taskDefinition.memory);
  if (!(cpu > 0 && memory > 0)) return undefined;
  const estimate = estimateCost({ region, cpu, memory, tasks: 1, strategy });
  return estimate && { dailyUsd: estimate.perTaskHourUsd * 24, spotEstimated: estimate.spotEstimated };
}
