// How a sleep or wake reads: outcome per environment, the counts it went from and to, the saving, the
// step's outputs, and each environment's pull-request comment.
import { DescribeTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { awsCall } from '../aws.ts';
import { imagesText } from '../deployment-report.ts';
import { revisionName } from '../ecs/task-definition.ts';
import { GithubReport } from '../github-report.ts';
import { fargatePrices } from '../pricing.ts';
import type { Summary } from '../report.ts';
import type { Capacity, Mode } from './plan.ts';
import type { ScaleResult, ServiceOutcome } from './schedule.ts';

export type EnvironmentStatus = 'changed' | 'planned' | 'skipped' | 'failed';

export interface EnvironmentOutcome {
  environment: string;
  status: EnvironmentStatus;
  services: ServiceOutcome[];
}

export function byEnvironment(result: ScaleResult): EnvironmentOutcome[] {
  const grouped = new Map<string, ServiceOutcome[]>();
  for (const outcome of result.services) grouped.set(outcome.environment, [...(grouped.get(outcome.environment) ?? []), outcome]);
  return [...grouped].map(([environment, services]) => {
    const has = (status: ServiceOutcome['status']) => services.some((service) => service.status === status);
    const status: EnvironmentStatus = has('failed') ? 'failed' : has('changed') ? 'changed' : has('planned') ? 'planned' : 'skipped';
    return { environment, status, services };
  });
}

export interface ScaleCounts {
  changed: number;
  skipped: number;
  failed: number;
  /** USD a day saved while asleep by what this run changed; undefined without prices for the region. */
  dailySavingUsd: number | undefined;
}

export function scaleCounts(result: ScaleResult, region: string): ScaleCounts {
  const environments = byEnvironment(result);
  const count = (status: EnvironmentStatus) => environments.filter((environment) => environment.status === status).length;
  const changed = result.services.filter((service) => service.status === 'changed');
  return {
    changed: count('changed'),
    skipped: count('skipped') + result.selection.excluded.length + result.selection.protectedSkipped.length,
    failed: count('failed'),
    dailySavingUsd: fargatePrices(region) ? changed.reduce((total, service) => total + (service.cost?.dailyUsd ?? 0), 0) : undefined,
  };
}

/** The environments that failed, one line each with what went wrong per service. */
export function failureLines(result: ScaleResult): string[] {
  return byEnvironment(result)
    .filter((environment) => environment.status === 'failed')
    .map(
      (environment) =>
        `${environment.environment}: ${environment.services
          .filter((service) => service.status === 'failed')
          .map((service) => `${service.serviceName === environment.environment ? '' : `${service.serviceName}: `}${service.error}`)
          .join('; ')}`,
    );
}

const limitsOf = (capacity: Capacity) => (capacity.min === undefined ? '—' : `${capacity.min}/${capacity.max}`);

function change(from: string, to: string): string {
  return from === to ? from : `${from} → ${to}`;
}

function resultOf(mode: Mode, service: ServiceOutcome): string {
  if (service.status === 'failed') return `❌ ${service.error}`;
  if (!service.plan || service.plan.action === 'none') return service.plan?.note ?? '';
  const words = { sleep: ['would sleep', 'asleep'], wake: ['would wake', 'awake'] }[mode];
  const done = service.status === 'planned' ? words[0] : words[1];
  const steady = service.deployment?.status === 'successful' ? ', steady' : '';
  return `${done}${steady}${service.plan.note ? ` (${service.plan.note})` : ''}`;
}

export function addScaleSummary(summary: Summary, result: ScaleResult, options: { mode: Mode; cluster: string; region: string; dryRun: boolean }): void {
  const { mode, region } = options;
  const counts = scaleCounts(result, region);
  const planned = result.services.filter((service) => service.status === 'planned');
  const done = options.dryRun
    ? `${byEnvironment(result).filter((e) => e.status === 'planned').length} would be changed (dry run)`
    : `${counts.changed} changed`;
  const saved = options.dryRun ? planned : result.services.filter((service) => service.status === 'changed');
  const total = saved.reduce((sum, service) => sum + (service.cost?.dailyUsd ?? 0), 0);
  const what = mode === 'sleep' ? 'saved a day while asleep' : 'a day that sleeping was saving, now spent again';
  const prices = fargatePrices(region);
  summary.add(
    `**${mode === 'sleep' ? 'Sleep' : 'Wake'}** in cluster \`${options.cluster}\`: ${done}, ${counts.skipped} skipped, ${counts.failed} failed.` +
      (prices && saved.length > 0 ? ` Estimated **$${total.toFixed(2)}** ${what}${options.dryRun ? ' (if run)' : ''}.` : ''),
  );
  if (result.services.length > 0) {
    summary.addTable(
      ['environment', 'service', 'desired count', 'min/max', 'result', mode === 'sleep' ? 'saving/day' : 'cost/day'],
      result.services.map((service) => {
        const plan = service.plan;
        return [
          service.environment,
          service.serviceName,
          plan ? change(String(plan.from.desired), String(plan.to.desired)) : undefined,
          plan ? change(limitsOf(plan.from), limitsOf(plan.to)) : undefined,
          resultOf(mode, service),
          service.cost && plan?.action !== 'none' ? `$${service.cost.dailyUsd.toFixed(2)}` : undefined,
        ];
      }),
    );
  }
  const skipped = [
    ...result.selection.excluded.map((environment) => `${environment} (excluded)`),
    ...result.selection.protectedSkipped.map((environment) => `${environment} (protected: name it exactly in environments to include it)`),
  ];
  if (skipped.length > 0) summary.add(`Skipped: ${skipped.join(', ')}.`);
  if (result.selection.notFound.length > 0) summary.add(`No environment tagged ${result.selection.notFound.join(', ')} in this cluster.`);
  if (prices) {
    const spot = saved.some((service) => service.cost?.spotEstimated);
    summary.add(
      `Saving = tasks × (vCPU × $${prices.onDemand.vcpuHour} + GB × $${prices.onDemand.gbHour}) per hour on demand, or Spot at $${prices.spot.vcpuHour} + $${prices.spot.gbHour}` +
        ` (Fargate prices for ${prices.region} as of ${prices.asOf}${spot ? '; Spot prices move and these are estimates' : ''}), × 24. Services not on Fargate are not counted.`,
    );
  } else summary.add(`No Fargate price table for ${region}: no saving estimated.`);
}

/**
 * The comment on each pull request whose environment this run put to sleep or woke: asleep or awake, with
 * the revision and image it runs (or will run again). No shell line: the tasks it named are gone.
 */
export async function updatePullRequestComments(ecs: ECSClient, token: string | undefined, result: ScaleResult, mode: Mode): Promise<void> {
  if (!token) return;
  const images = new Map<string, Promise<string | undefined>>();
  const imageOf = (arn: string) => {
    const known =
      images.get(arn) ??
      awsCall('DescribeTaskDefinition', arn, () => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).then((response) =>
        imagesText((response.taskDefinition?.containerDefinitions ?? []).map((container) => ({ name: container.name ?? '', image: container.image }))),
      );
    images.set(arn, known);
    return known;
  };
  for (const environment of byEnvironment(result).filter((candidate) => candidate.status === 'changed')) {
    const service = environment.services.find((candidate) => candidate.pullRequest);
    if (!service?.pullRequest) continue;
    await GithubReport.forRun(token, environment.environment, { pullRequest: service.pullRequest })?.deployed(
      true,
      {
        status: mode === 'sleep' ? 'asleep' : 'awake',
        revision: service.taskDefinitionArn ? revisionName(service.taskDefinitionArn) : undefined,
        image: service.taskDefinitionArn ? await imageOf(service.taskDefinitionArn) : undefined,
        shell: '',
      },
      mode === 'sleep' ? 'Asleep' : 'Awake',
    );
  }
}
