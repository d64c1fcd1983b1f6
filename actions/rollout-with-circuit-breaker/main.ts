// rollout-with-circuit-breaker: register a revision, roll the service(s) to it, watch, and explain failures.
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { readRolloutConfig, rollout } from '../../src/actions/rollout-with-circuit-breaker.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { addDeploymentSummary, addImageSummary, diagnosisLines, failureMessage, imagesText, whyDeploymentFailed } from '../../src/deployment-report.ts';
import { shellCommand } from '../../src/ecs/execute-command.ts';
import { isFailure } from '../../src/ecs/rollout.ts';
import { revisionName } from '../../src/ecs/task-definition.ts';
import { ActionError } from '../../src/errors.ts';
import { firstLine, GithubReport } from '../../src/github-report.ts';
import { fenced } from '../../src/report.ts';
import { runAction } from '../../src/run.ts';
import { setOutput } from '../../src/runner.ts';

await runAction('rollout-with-circuit-breaker', async ({ progress, summary, clock }) => {
  const config = readRolloutConfig();
  const settings = awsSettings('rollout-with-circuit-breaker');
  const ecs = createClient(ECSClient, settings);
  const logs = createClient(CloudWatchLogsClient, settings);
  const elb = createClient(ElasticLoadBalancingV2Client, settings);

  const github = config.dryRun ? undefined : GithubReport.forRun(config.githubToken, config.environment ?? config.service?.[0] ?? config.cluster);
  const asked = imagesText((config.images ?? []).map((pair) => ({ name: pair.container ?? '', image: pair.image })));
  await github?.deploying(`Rolling out ${asked ?? 'a new revision'}`);
  let outcome: Awaited<ReturnType<typeof rollout>>;
  try {
    outcome = await rollout(config, { ecs, logs, elb, clock, progress });
  } catch (error) {
    await github?.deployed(false, { status: `failed: ${firstLine(error)}` }, 'Rollout failed');
    throw error;
  }
  const failed = outcome.results.filter((result) => isFailure(result.status));
  const first = outcome.results[0] ?? outcome.started[0];
  setOutput('task-definition-arn', outcome.taskDefinitionArn ?? '');
  setOutput('deployment-id', first?.serviceDeploymentArn ?? first?.deploymentId ?? '');
  setOutput('status', outcome.status);
  setOutput('rolled-back-to', failed.find((result) => result.rolledBackTo)?.rolledBackTo ?? '');
  setOutput('failure-reason', failed[0]?.diagnosis?.reason ?? '');
  setOutput(
    'services',
    JSON.stringify(
      (outcome.results.length > 0 ? outcome.results : outcome.started).map((deployment) => ({
        service: deployment.serviceName,
        deploymentId: deployment.serviceDeploymentArn ?? deployment.deploymentId,
        status: 'status' in deployment ? deployment.status : outcome.status,
        taskDefinitionArn: deployment.taskDefinitionArn,
        rolledBackTo: 'rolledBackTo' in deployment ? deployment.rolledBackTo : undefined,
        revertedTo: outcome.reverted.find((back) => back.serviceName === deployment.serviceName)?.taskDefinitionArn,
      })),
    ),
  );
  if (config.dryRun) summary.add('**Dry run**: nothing registered, no service changed.');
  if (outcome.results.length > 0) addDeploymentSummary(summary, outcome.results);
  else if (outcome.started.length > 0) {
    summary.addTable(
      ['service', 'revision', 'deployment', 'outcome'],
      outcome.started.map((deployment) => [
        deployment.serviceName,
        revisionName(deployment.taskDefinitionArn),
        deployment.serviceDeploymentArn ?? deployment.deploymentId,
        deployment.unchanged ? 'already on this revision' : 'started; not waited for (wait: false)',
      ]),
    );
  }
  addImageSummary(summary, outcome.images);
  const shells = outcome.shells.map(shellCommand);
  if (shells.length > 0)
    summary.add(`Open a shell in a running task (ECS Exec, with the AWS CLI and its Session Manager plugin):\n\n${fenced(shells.join('\n'))}`);
  if (config.onFailure === 'rollback-all' && failed.length > 0) {
    summary.add('**on-failure: rollback-all**: every service this run moved went back to the revision it ran before.');
    summary.addTable(
      ['service', 'from', 'to', 'back on', 'how'],
      outcome.results.map((result) => {
        const reverted = outcome.reverted.find((back) => back.serviceName === result.serviceName);
        const back = reverted ? reverted.taskDefinitionArn : result.rolledBackTo;
        const how = reverted ? `rollback-all: ${reverted.status}` : result.rolledBackTo ? 'circuit breaker' : result.status;
        return [
          result.serviceName,
          revisionName(result.previousTaskDefinitionArn),
          revisionName(result.taskDefinitionArn),
          back ? revisionName(back) : '',
          how,
        ];
      }),
    );
  }
  const rolledBackTo = failed.find((result) => result.rolledBackTo)?.rolledBackTo;
  const firstService = outcome.images[0]?.service;
  const deployedImages = imagesText(
    outcome.images.filter((change) => change.service === firstService).map((change) => ({ name: change.container, image: change.to })),
  );
  await github?.deployed(
    failed.length === 0,
    {
      // After a failure the environment still runs what it ran before: the comment keeps that image, revision and shell.
      image: failed.length === 0 ? deployedImages : undefined,
      revision: failed.length === 0 && outcome.taskDefinitionArn ? revisionName(outcome.taskDefinitionArn) : undefined,
      status:
        failed.length === 0
          ? outcome.status
          : `${outcome.status}${rolledBackTo ? `, back on ${revisionName(rolledBackTo)}` : ''}: ${failed[0]?.diagnosis?.reason ?? 'see the run'}`,
      // New tasks: the last shell line names a task that is gone.
      shell: failed.length === 0 ? (shells[0] ?? '') : undefined,
    },
    `Rollout ${outcome.status}`,
  );

  if (failed.length > 0) {
    progress.phase(whyDeploymentFailed);
    for (const result of failed) for (const line of diagnosisLines(result)) progress.line(line);
    const timedOut = failed.every((result) => result.status === 'timed-out');
    const reverted = outcome.reverted.map(
      (back) => `${back.serviceName} (${back.status === 'successful' ? 'back on' : `${back.status} going back to`} ${revisionName(back.taskDefinitionArn)})`,
    );
    throw new ActionError(
      `${failureMessage(failed)}${reverted.length > 0 ? `\non-failure: rollback-all put back ${reverted.join(', ')}.` : ''}`,
      timedOut
        ? 'the deployment continues in ECS; wait longer (timeout), or go back with rollback-to-revision (to: previous).'
        : `the stopped tasks, their last log lines and the service events are under “${whyDeploymentFailed}” in the log and in the job summary; fix the cause and push again.`,
    );
  }
});
