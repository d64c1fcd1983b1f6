// provision-platform: create or update an environment's cluster, load-balancer routing, task definition and service.
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { readProvisionPlatformConfig } from '../../src/actions/provision-platform.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { diagnosisLines, failureMessage } from '../../src/deployment-report.ts';
import { findCluster } from '../../src/ecs/cluster.ts';
import { isFailure } from '../../src/ecs/rollout.ts';
import { revisionName } from '../../src/ecs/task-definition.ts';
import { otherRepositoryError } from '../../src/environment.ts';
import { ActionError } from '../../src/errors.ts';
import { firstLine, GithubReport } from '../../src/github-report.ts';
import { estimateCost, fargatePrices } from '../../src/pricing.ts';
import { applySpec } from '../../src/provision/apply.ts';
import { freeSlots } from '../../src/provision/pool.ts';
import { environmentSpec } from '../../src/provision/spec.ts';
import { runAction } from '../../src/run.ts';
import { setOutput } from '../../src/runner.ts';
import { discover } from '../../src/teardown/discover.ts';

await runAction('provision-platform', async ({ progress, summary, clock }) => {
  const config = readProvisionPlatformConfig();
  const settings = awsSettings('provision-platform');
  const spec = environmentSpec(config, settings.region);
  const ecs = createClient(ECSClient, settings);
  const elb = createClient(ElasticLoadBalancingV2Client, settings);
  const logs = createClient(CloudWatchLogsClient, settings);

  if (config.dryRun) {
    progress.phase(`Dry run: what ${config.environment} has now`);
    const cluster = await findCluster(ecs, config.cluster);
    const found = cluster ? await discover({ ecs, elb, logs }, { identity: spec.identity, listenerArn: config.listenerArn }) : undefined;
    const [claimed] = found?.claimed ?? [];
    if (claimed) throw otherRepositoryError(spec.identity, claimed.repository, `${claimed.kind} ${claimed.name}`);
    const plan: [string, string, boolean][] = [
      ['cluster', config.cluster, !!cluster],
      ['log group', spec.names.logGroup, (found?.logGroups.length ?? 0) > 0],
      ...[spec.names.targetGroup, ...(config.strategy === 'blue-green' ? [spec.names.alternateTargetGroup] : [])].map((name): [string, string, boolean] => [
        'target group',
        name,
        found?.targetGroups.some((group) => group.name === name) ?? false,
      ]),
      ['listener rule', spec.host, (found?.rules.length ?? 0) > 0],
      ['service', spec.names.service, (found?.services.length ?? 0) > 0],
    ];
    for (const [kind, name, exists] of plan)
      progress.line(`${kind} ${name}: ${exists ? 'exists; would be checked and updated in place if it differs' : 'would be created'}`);
    summary.addTable(
      ['resource', 'name', 'dry run'],
      plan.map(([kind, name, exists]) => [kind, name, exists ? 'exists' : 'would be created']),
    );
    setOutput('url', spec.url);
    return;
  }

  const github = GithubReport.forRun(config.githubToken, config.environment);
  await github?.deploying(`Provisioning ${config.environment}`);
  let result: Awaited<ReturnType<typeof applySpec>>;
  try {
    result = await applySpec(
      { ecs, elb, logs, clock, progress, route53: config.hostedZoneId ? createClient(Route53Client, settings) : undefined },
      config,
      spec,
    );
  } catch (error) {
    await github?.deployed(false, { url: spec.url, status: `failed: ${firstLine(error)}` }, 'Provisioning failed');
    throw error;
  }
  const cost = estimateCost({
    region: settings.region,
    cpu: Number(spec.registration.cpu ?? config.cpu),
    memory: Number(spec.registration.memory ?? config.memory),
    tasks: config.desiredCount,
    strategy: config.capacityProviderStrategy.map((item) => ({ provider: item.split(':')[0] ?? '', weight: Number(item.split(':')[1] ?? '1') })),
  });
  setOutput('estimated-monthly-cost', cost ? cost.monthlyUsd.toFixed(2) : '');
  setOutput('url', spec.url);
  setOutput('service-arn', result.serviceArn);
  setOutput('target-group-arn', result.targetGroupArn);
  setOutput('alternate-target-group-arn', result.alternateTargetGroupArn ?? '');
  setOutput('listener-rule-arn', result.listenerRuleArn);
  setOutput('log-group', spec.names.logGroup);
  setOutput('task-definition-arn', result.taskDefinitionArn);
  const changed = result.changes.filter((change) => change.change !== 'unchanged');
  progress.line(changed.length === 0 ? 'No changes: the environment already matches the inputs.' : `${changed.length} resources created or updated.`);
  summary.add(`**${config.environment}**: ${spec.url} on ${revisionName(result.taskDefinitionArn)}`);
  summary.addTable(
    ['resource', 'name', 'change'],
    result.changes.map((change) => [change.resource, change.name, change.change]),
  );
  summary.add(`Routed by **${result.loadBalancer.LoadBalancerName}** (${result.loadBalancer.DNSName}), listener ${result.listenerArn}.`);
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
  if (!config.hostedZoneId) {
    // Without a hosted zone the team keeps DNS itself: one wildcard record per ALB covers its environments.
    const wildcard = spec.host.replace(/^[^.]*/, '*');
    const balancers = pool ? pool.members.map((member) => member.loadBalancer) : [result.loadBalancer];
    summary.add('No hosted-zone-id: DNS is yours to keep. Each load balancer needs a wildcard record:');
    summary.addTable(
      ['record', 'type', 'target'],
      balancers.map((balancer) => [wildcard, 'ALIAS', balancer.DNSName ?? '']),
    );
    // One name resolves to one ALB: past the first, a wildcard cannot cover the whole pool.
    if (balancers.length > 1)
      summary.add(
        `A wildcard resolves to one ALB only: ${spec.host} needs its own record, ALIAS ${result.loadBalancer.DNSName}, or give hosted-zone-id to have it made.`,
      );
  }
  const prices = fargatePrices(settings.region);
  if (cost && prices) {
    summary.add(
      `Estimated cost: **$${cost.monthlyUsd.toFixed(2)} a month** ($${cost.dailyUsd.toFixed(2)} a day) for ${config.desiredCount} task(s) of ${spec.registration.cpu ?? config.cpu} CPU units and ${spec.registration.memory ?? config.memory} MiB, ${Math.round(cost.spotShare * 100)}% on Spot.`,
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
  const image = spec.registration.containerDefinitions?.find((container) => container.name === config.containerName)?.image;
  await github?.deployed(
    !failed,
    {
      url: spec.url,
      image,
      revision: revisionName(result.taskDefinitionArn),
      status: failed ? `failed: ${deployment.status}${deployment.rolledBackTo ? `, back on ${revisionName(deployment.rolledBackTo)}` : ''}` : 'deployed',
      monthlyCost: cost?.monthlyUsd.toFixed(2),
    },
    failed ? `Deployment ${deployment.status}` : `Deployed ${revisionName(result.taskDefinitionArn)}`,
  );
  if (deployment && failed) {
    progress.phase('Why the deployment failed');
    for (const line of diagnosisLines(deployment)) progress.line(line);
    throw new ActionError(failureMessage([deployment]), 'see the stopped tasks and their last log lines above; fix the cause and run again.');
  }
});
