// teardown-env: delete everything an environment owns, in reverse-dependency order, and nothing else;
// in sweep mode, do that for every environment whose pull request is closed or whose ttl has passed.
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { readTeardownEnvConfig } from '../../src/actions/teardown-env.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { ActionError } from '../../src/errors.ts';
import { GithubReport } from '../../src/github-report.ts';
import { runAction } from '../../src/run.ts';
import { setOutput } from '../../src/runner.ts';
import { addSweepSummary, sweepEnvironments } from '../../src/teardown/sweep.ts';
import { teardownEnvironment } from '../../src/teardown/teardown.ts';

await runAction('teardown-env', async ({ progress, summary, clock }) => {
  const config = readTeardownEnvConfig();
  const settings = awsSettings('teardown-env');
  const context = {
    route53: createClient(Route53Client, settings),
    ecs: createClient(ECSClient, settings),
    elb: createClient(ElasticLoadBalancingV2Client, settings),
    logs: createClient(CloudWatchLogsClient, settings),
    ecr: createClient(ECRClient, settings),
    clock,
    progress,
  };
  const options = {
    listenerArn: config.listenerArn,
    keepLogs: config.keepLogs,
    imageRepository: config.deleteImages ? config.repository : undefined,
    timeoutSeconds: config.timeout,
    dryRun: config.dryRun,
  };

  if (config.mode === 'sweep') {
    const swept = await sweepEnvironments(context, {
      ...options,
      cluster: config.cluster,
      repositories: config.repositories,
      githubToken: config.githubToken,
      protectedEnvironments: config.protectedEnvironments,
    });
    const done = swept.filter((environment) => environment.outcome);
    setOutput(
      'deleted',
      done.reduce((total, environment) => total + (environment.outcome?.deleted.length ?? 0), 0),
    );
    setOutput(
      'left',
      done.reduce((total, environment) => total + (environment.outcome?.foreign.length ?? 0), 0),
    );
    setOutput('swept', done.map((environment) => environment.environment).join(','));
    addSweepSummary(summary, swept, config.dryRun);
    const failed = swept.filter((environment) => environment.error);
    if (failed.length > 0) {
      throw new ActionError(
        `${failed.length} stale environment(s) could not be torn down:\n${failed.map((environment) => `${environment.environment}: ${environment.error}`).join('\n')}`,
        'fix the cause shown for each and run the sweep again: it finishes what is left and changes nothing else.',
      );
    }
    return;
  }

  const environment = config.environment ?? '';
  const outcome = await teardownEnvironment(context, { ...options, identity: { repository: config.githubRepository, cluster: config.cluster, environment } });
  if (!config.dryRun) await GithubReport.forRun(config.githubToken, environment)?.destroyed();
  setOutput('deleted', outcome.deleted.length);
  setOutput('left', outcome.foreign.length);
  setOutput('swept', '');
  // A re-run that finds nothing says so: the summary is where people look for what the step did.
  if (outcome.planned.length === 0) summary.add(`Nothing owned by \`${environment}\` is left in cluster \`${config.cluster}\`: nothing to delete.`);
  if (outcome.foreign.length > 0)
    summary.addTable(
      [`left untouched: not tagged as owned by ${environment}`, 'kind'],
      outcome.foreign.map((found) => [found.name, found.kind]),
    );
  if (config.dryRun && outcome.planned.length > 0)
    summary.addTable(
      ['would delete', 'kind'],
      outcome.planned.map((found) => [found.name, found.kind]),
    );
  if (outcome.deleted.length > 0)
    summary.addTable(
      ['deleted', 'kind'],
      outcome.deleted.map((found) => [found.name, found.kind]),
    );
});
