// rollout-with-circuit-breaker: register a revision, roll the service(s) to it, watch, and explain failures.
import { ECSClient } from '@aws-sdk/client-ecs';
import { readRolloutConfig } from '../../src/actions/rollout-with-circuit-breaker.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { requireCluster } from '../../src/ecs/cluster.ts';
import { notYetImplemented, runAction } from '../../src/run.ts';

await runAction('rollout-with-circuit-breaker', async ({ progress }) => {
  const config = readRolloutConfig();
  const settings = awsSettings('rollout-with-circuit-breaker');
  progress.line(`Checking cluster ${config.cluster} in ${settings.region}`);
  await requireCluster(createClient(ECSClient, settings), config.cluster, settings.region);
  throw notYetImplemented('rollout-with-circuit-breaker', `the inputs are valid and cluster ${config.cluster} exists`);
});
