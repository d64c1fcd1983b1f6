// scale-schedule: put environments to sleep (scale to zero, remembering counts and auto scaling limits) or wake them as they were.
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { readScaleScheduleConfig } from '../../src/actions/scale-schedule.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { ActionError } from '../../src/errors.ts';
import { runAction } from '../../src/run.ts';
import { setOutput } from '../../src/runner.ts';
import { addScaleSummary, failureLines, scaleCounts, updatePullRequestComments } from '../../src/scale/report.ts';
import { scaleEnvironments } from '../../src/scale/schedule.ts';

await runAction('scale-schedule', async ({ progress, summary, clock }) => {
  const config = readScaleScheduleConfig();
  const settings = awsSettings('scale-schedule');
  const context = {
    ecs: createClient(ECSClient, settings),
    aas: createClient(ApplicationAutoScalingClient, settings),
    logs: createClient(CloudWatchLogsClient, settings),
    clock,
    progress,
  };
  const result = await scaleEnvironments(context, {
    mode: config.mode,
    cluster: config.cluster,
    repository: config.repository,
    repositories: config.repositories,
    region: settings.region,
    environments: config.environments,
    exclude: config.exclude ?? [],
    protectedEnvironments: config.protectedEnvironments,
    wait: config.wait,
    timeoutSeconds: config.timeout,
    dryRun: config.dryRun,
    concurrency: config.concurrency,
  });

  const counts = scaleCounts(result, settings.region);
  setOutput('changed', counts.changed);
  setOutput('skipped', counts.skipped);
  setOutput('failed', counts.failed);
  setOutput('estimated-daily-saving', counts.dailySavingUsd === undefined ? '' : counts.dailySavingUsd.toFixed(2));
  addScaleSummary(summary, result, { mode: config.mode, cluster: config.cluster, region: settings.region, dryRun: config.dryRun });
  if (!config.dryRun) await updatePullRequestComments(context.ecs, config.githubToken, result, config.mode);
  const failures = failureLines(result);
  if (failures.length > 0) {
    throw new ActionError(
      `${failures.length} environment(s) could not be ${config.mode === 'sleep' ? 'put to sleep' : 'woken'}:\n${failures.join('\n')}`,
      'fix the cause shown for each, then run the step again: it finishes what is left and leaves what is done as it is.',
    );
  }
  progress.line(`${counts.changed} environments ${config.mode === 'sleep' ? 'put to sleep' : 'woken'}, ${counts.skipped} skipped.`);
});
