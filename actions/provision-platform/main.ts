// provision-platform: create or update an environment's cluster, load-balancer routing, task definition and service.
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { readProvisionPlatformInputs } from '../../src/actions/provision-platform.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { GithubReport } from '../../src/github-report.ts';
import { apply } from '../../src/provision/apply.ts';
import { observe } from '../../src/provision/observe.ts';
import { plan } from '../../src/provision/plan.ts';
import { applying, reportPlan, reportResult } from '../../src/provision/report.ts';
import { desiredEnvironment } from '../../src/provision/spec.ts';
import { verify } from '../../src/provision/verify.ts';
import { runAction } from '../../src/run.ts';

await runAction('provision-platform', async ({ progress, summary, clock }) => {
  const inputs = readProvisionPlatformInputs();
  const settings = awsSettings('provision-platform');
  const desired = desiredEnvironment(inputs.spec, settings.region);
  const clients = {
    ecs: createClient(ECSClient, settings),
    elb: createClient(ElasticLoadBalancingV2Client, settings),
    logs: createClient(CloudWatchLogsClient, settings),
    route53: inputs.spec.hostedZoneId ? createClient(Route53Client, settings) : undefined,
  };
  progress.phase(`What ${inputs.spec.identity.environment} has now`);
  const planned = plan(desired, await observe(clients, desired));
  reportPlan(progress, summary, planned, inputs.dryRun);
  if (inputs.verify) await verify(settings, planned, progress, clients.logs);
  if (inputs.dryRun) return;

  const github = GithubReport.forRun(inputs.githubToken, inputs.spec.identity.environment);
  const result = await applying(github, desired, () => apply({ ...clients, clock, progress }, planned));
  await reportResult({ progress, summary, github, settings }, planned, result);
});
