// rollback-to-revision: put service(s) back on an earlier revision and wait for it.
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { planRollback, readRollbackConfig } from '../../src/actions/rollback-to-revision.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { addDeploymentSummary, diagnosisLines, failureMessage } from '../../src/deployment-report.ts';
import { deploy, isFailure, overallStatus } from '../../src/ecs/rollout.ts';
import { environmentServices, requireServices } from '../../src/ecs/services.ts';
import { revisionName } from '../../src/ecs/task-definition.ts';
import { ActionError } from '../../src/errors.ts';
import { runAction } from '../../src/run.ts';
import { setOutput } from '../../src/runner.ts';

await runAction('rollback-to-revision', async ({ progress, summary, clock }) => {
  const config = readRollbackConfig();
  const settings = awsSettings('rollback-to-revision');
  const ecs = createClient(ECSClient, settings);
  const logs = createClient(CloudWatchLogsClient, settings);
  const elb = createClient(ElasticLoadBalancingV2Client, settings);

  progress.phase('Finding the revision to go back to');
  const services = config.service
    ? await requireServices(ecs, config.cluster, config.service, config.repository)
    : await environmentServices(ecs, { repository: config.repository, cluster: config.cluster, environment: config.environment ?? '' });
  const plans = await planRollback(ecs, config, services);
  for (const plan of plans) progress.line(`${plan.service.serviceName}: ${revisionName(plan.from)} → ${revisionName(plan.to)}`);
  setOutput('from', plans[0]?.from ?? '');
  setOutput('to', plans[0]?.to ?? '');

  if (config.dryRun) {
    progress.line('Dry run: no service changed.');
    setOutput('status', 'skipped');
    summary.addTable(
      ['service', 'from', 'would go back to'],
      plans.map((plan) => [plan.service.serviceName, revisionName(plan.from), revisionName(plan.to)]),
    );
    return;
  }

  const { results } = await deploy(
    { ecs, logs, elb, clock, progress },
    {
      cluster: config.cluster,
      targets: plans.map((plan) => ({ service: plan.service, taskDefinitionArn: plan.to, containers: plan.containers })),
      forceNewDeployment: false,
      wait: config.wait,
      timeoutSeconds: config.timeout,
    },
  );
  if (!results) {
    setOutput('status', 'started');
    return;
  }
  setOutput('status', overallStatus(results.map((result) => result.status)));
  addDeploymentSummary(summary, results);
  const failed = results.filter((result) => isFailure(result.status));
  if (failed.length > 0) {
    progress.phase('Why the rollback failed');
    for (const result of failed) for (const line of diagnosisLines(result)) progress.line(line);
    throw new ActionError(failureMessage(failed), 'the revision you went back to does not start either: see the stopped tasks above, or pick another with to.');
  }
});
