// rollback-to-revision: put service(s) back on an earlier revision and wait for it.
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { planRollback, readRollbackConfig } from '../../src/actions/rollback-to-revision.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { addDeploymentSummary, diagnosisLines, failureMessage, imagesText, whyRollbackFailed } from '../../src/deployment-report.ts';
import { shellCommand, shellTarget } from '../../src/ecs/execute-command.ts';
import { deploy, isFailure, overallStatus } from '../../src/ecs/rollout.ts';
import { environmentServices, requireServices } from '../../src/ecs/services.ts';
import { revisionName, targetContainer } from '../../src/ecs/task-definition.ts';
import { ActionError } from '../../src/errors.ts';
import { firstLine, GithubReport } from '../../src/github-report.ts';
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
  summary.addTable(
    ['service', 'from', config.dryRun ? 'would go back to' : 'to', 'image there'],
    plans.map((plan) => [
      plan.service.serviceName,
      revisionName(plan.from),
      revisionName(plan.to),
      imagesText(plan.containers.map((container) => ({ name: container.name ?? '', image: container.image }))),
    ]),
  );

  if (config.dryRun) {
    progress.line('Dry run: no service changed.');
    setOutput('status', 'skipped');
    summary.add('**Dry run**: no service changed.');
    return;
  }

  const first = plans[0];
  const github = GithubReport.forRun(config.githubToken, config.environment ?? config.service?.[0] ?? config.cluster);
  await github?.deploying(`Rolling back to ${revisionName(first?.to)}`);
  let results: Awaited<ReturnType<typeof deploy>>['results'];
  try {
    ({ results } = await deploy(
      { ecs, logs, elb, clock, progress },
      {
        cluster: config.cluster,
        targets: plans.map((plan) => ({ service: plan.service, taskDefinitionArn: plan.to, containers: plan.containers })),
        forceNewDeployment: false,
        wait: config.wait,
        timeoutSeconds: config.timeout,
      },
    ));
  } catch (error) {
    await github?.deployed(false, { status: `rollback to ${revisionName(first?.to)} failed: ${firstLine(error)}` }, 'Rollback failed');
    throw error;
  }
  const status = results ? overallStatus(results.map((result) => result.status)) : 'started';
  setOutput('status', status);
  if (results) addDeploymentSummary(summary, results, whyRollbackFailed);
  else summary.add('Started; not waited for (wait: false).');
  const failed = (results ?? []).filter((result) => isFailure(result.status));

  // With ECS Exec on, the shell line for one of the tasks now running (the old line names a stopped one).
  const shell =
    first && failed.length === 0 && results && first.service.enableExecuteCommand
      ? await shellTarget(ecs, {
          cluster: config.cluster,
          service: first.service.serviceName ?? '',
          taskDefinitionArn: first.to,
          container: targetContainer(first.containers).name ?? '',
        })
      : undefined;
  if (shell) summary.add(`Open a shell in a running task (ECS Exec): \`${shellCommand(shell)}\``);
  await github?.deployed(
    failed.length === 0,
    failed.length === 0 && first
      ? {
          // The environment now runs the revision it went back to.
          revision: revisionName(first.to),
          image: imagesText(first.containers.map((container) => ({ name: container.name ?? '', image: container.image }))),
          status: `${status} (rolled back from ${revisionName(first.from)})`,
          shell: shell ? shellCommand(shell) : '',
        }
      : {
          status: `rollback to ${revisionName(first?.to)} ${status}${failed[0]?.rolledBackTo ? `, back on ${revisionName(failed[0].rolledBackTo)}` : ''}: ${failed[0]?.diagnosis?.reason ?? 'see the run'}`,
        },
    `Rollback ${status}`,
  );

  if (failed.length > 0) {
    progress.phase(whyRollbackFailed);
    for (const result of failed) for (const line of diagnosisLines(result)) progress.line(line);
    throw new ActionError(
      failureMessage(failed),
      `the revision you went back to does not start either: its stopped tasks and their last log lines are under “${whyRollbackFailed}” in the log and in the job summary; pick another with to.`,
    );
  }
});
