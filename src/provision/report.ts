// What provision-platform tells a person: the plan as a field-level diff (all a dry run says, and the
// head of a real run's summary), then what was done, where it is routed, what it costs, and the outputs.
import type { AwsSettings } from '../aws.ts';
import { diagnosisLines, failureMessage } from '../deployment-report.ts';
import { isFailure } from '../ecs/rollout.ts';
import { revisionName } from '../ecs/task-definition.ts';
import { ActionError } from '../errors.ts';
import { firstLine, type GithubReport } from '../github-report.ts';
import { estimateCost, fargatePrices } from '../pricing.ts';
import type { Progress, Summary } from '../report.ts';
import { setOutput } from '../runner.ts';
import type { ProvisionResult } from './apply.ts';
import { changes, type ProvisionPlan } from './plan.ts';
import { freeSlots } from './pool.ts';
import type { Desired } from './spec.ts';

const verb = { create: 'create', update: 'change', keep: 'keep', delete: 'delete' } as const;

/** The plan in the log: one line per resource, and under each change its fields, old → new. */
export function planLines(plan: ProvisionPlan): string[] {
  const changing = changes(plan);
  const lines = [
    changing.length === 0
      ? 'Plan: no changes; the environment already matches the inputs.'
      : `Plan: ${changing.length} of ${plan.steps.length} resources to create or change.`,
  ];
  for (const step of plan.steps) {
    lines.push(`${step.resource} ${step.name}: ${verb[step.action]}${step.note ? ` (${step.note})` : ''}`);
    for (const change of step.diff) lines.push(`  ${change.field}: ${change.from} → ${change.to}`);
  }
  return [...lines, ...plan.notes.map((note) => `note: ${note}`)];
}

export function reportPlan(progress: Progress, summary: Summary, plan: ProvisionPlan, dryRun: boolean): void {
  progress.phase(dryRun ? `Dry run: the plan for ${plan.desired.spec.identity.environment}` : `The plan for ${plan.desired.spec.identity.environment}`);
  for (const line of planLines(plan)) progress.line(line);
  summary.add(dryRun ? '**Plan** (dry run: nothing was changed)' : '**Plan**');
  summary.addTable(
    ['resource', 'name', 'plan', 'changes'],
    plan.steps.map((step) => [
      step.resource,
      step.name,
      `${verb[step.action]}${step.note ? ` (${step.note})` : ''}`,
      step.diff.map((change) => `${change.field}: ${change.from} → ${change.to}`).join('\n'),
    ]),
  );
  if (dryRun) setOutput('url', plan.desired.url);
}

/** The run's GitHub deployment marks failure when apply throws. */
export async function applying<T>(github: GithubReport | undefined, desired: Desired, work: () => Promise<T>): Promise<T> {
  await github?.deploying(`Provisioning ${desired.spec.identity.environment}`);
  try {
    return await work();
  } catch (error) {
    await github?.deployed(false, { url: desired.url, status: `failed: ${firstLine(error)}` }, 'Provisioning failed');
    throw error;
  }
}

function cost(desired: Desired, region: string) {
  const { spec, registration } = desired;
  return estimateCost({
    region,
    cpu: Number(registration.cpu ?? spec.cpu),
    memory: Number(registration.memory ?? spec.memory),
    tasks: spec.desiredCount,
    strategy: spec.capacityProviderStrategy.map((share) => ({ provider: share.capacityProvider, weight: share.weight })),
  });
}

export async function reportResult(
  run: { progress: Progress; summary: Summary; github: GithubReport | undefined; settings: AwsSettings },
  plan: ProvisionPlan,
  result: ProvisionResult,
): Promise<void> {
  const { progress, summary, github, settings } = run;
  const { desired } = plan;
  const { spec } = desired;
  const estimate = cost(desired, settings.region);
  setOutput('estimated-monthly-cost', estimate ? estimate.monthlyUsd.toFixed(2) : '');
  setOutput('url', desired.url);
  setOutput('service-arn', result.serviceArn);
  setOutput('target-group-arn', result.targetGroupArn);
  setOutput('alternate-target-group-arn', result.alternateTargetGroupArn ?? '');
  setOutput('listener-rule-arn', result.listenerRuleArn);
  setOutput('log-group', desired.names.logGroup);
  setOutput('task-definition-arn', result.taskDefinitionArn);
  const changed = result.changes.filter((change) => change.change !== 'unchanged');
  progress.line(changed.length === 0 ? 'No changes: the environment already matches the inputs.' : `${changed.length} resources created or updated.`);
  summary.add(`**${spec.identity.environment}**: ${desired.url} on ${revisionName(result.taskDefinitionArn)}`);
  summary.addTable(
    ['resource', 'name', 'change'],
    result.changes.map((change) => [change.resource, change.name, change.change]),
  );
  summary.add(
    `Routed by **${result.loadBalancer.name}** (${result.loadBalancer.dnsName}), listener ${result.listenerArn}, rule priority ${result.listenerRulePriority}.`,
  );
  const pool = result.pool;
  if (pool) {
    summary.addTable(
      ['load balancer of the pool', 'target groups', 'rules', 'free slots'],
      pool.members.map((member) => [
        member.name,
        `${member.targetGroups} of ${pool.quotas.targetGroups}`,
        `${member.rules} of ${pool.quotas.rules}`,
        String(freeSlots(member, pool.quotas)),
      ]),
    );
  }
  if (!spec.hostedZoneId) {
    // Without a hosted zone the team keeps DNS itself: one wildcard record per ALB covers its environments.
    const wildcard = desired.host.replace(/^[^.]*/, '*');
    const targets = pool ? pool.members.map((member) => member.loadBalancer.DNSName) : [result.loadBalancer.dnsName];
    summary.add('No hosted-zone-id: DNS is yours to keep. Each load balancer needs a wildcard record:');
    summary.addTable(
      ['record', 'type', 'target'],
      targets.map((target) => [wildcard, 'ALIAS', target]),
    );
    // One name resolves to one ALB: past the first, a wildcard cannot cover the whole pool.
    if (targets.length > 1)
      summary.add(
        `A wildcard resolves to one ALB only: ${desired.host} needs its own record, ALIAS ${result.loadBalancer.dnsName}, or give hosted-zone-id to have it made.`,
      );
  }
  const prices = fargatePrices(settings.region);
  if (estimate && prices) {
    summary.add(
      `Estimated cost: **$${estimate.monthlyUsd.toFixed(2)} a month** ($${estimate.dailyUsd.toFixed(2)} a day) for ${spec.desiredCount} task(s) of ${desired.registration.cpu ?? spec.cpu} CPU units and ${desired.registration.memory ?? spec.memory} MiB, ${Math.round(estimate.spotShare * 100)}% on Spot.`,
    );
    summary.addTable(
      [`Fargate prices, ${prices.region}, as of ${prices.asOf}`, 'per vCPU-hour', 'per GB-hour'],
      [
        ['on-demand', `$${prices.onDemand.vcpuHour}`, `$${prices.onDemand.gbHour}`],
        [`Spot${prices.spotEstimated ? ' (estimate; Spot prices move)' : ''}`, `$${prices.spot.vcpuHour}`, `$${prices.spot.gbHour}`],
      ],
    );
  } else summary.add(`No Fargate price table for ${settings.region}; no cost estimate.`);

  const deployment = result.deployment;
  const failed = deployment !== undefined && isFailure(deployment.status);
  const image = desired.registration.containerDefinitions.find((container) => container.name === spec.containerName)?.image;
  await github?.deployed(
    !failed,
    {
      url: desired.url,
      image,
      revision: revisionName(result.taskDefinitionArn),
      status: failed ? `failed: ${deployment.status}${deployment.rolledBackTo ? `, back on ${revisionName(deployment.rolledBackTo)}` : ''}` : 'deployed',
      monthlyCost: estimate?.monthlyUsd.toFixed(2),
    },
    failed ? `Deployment ${deployment.status}` : `Deployed ${revisionName(result.taskDefinitionArn)}`,
  );
  if (deployment && failed) {
    progress.phase('Why the deployment failed');
    for (const line of diagnosisLines(deployment)) progress.line(line);
    throw new ActionError(failureMessage([deployment]), 'see the stopped tasks and their last log lines above; fix the cause and run again.');
  }
}
