// teardown-env: delete everything an environment owns, in reverse-dependency order, and nothing else.
import { ECSClient } from '@aws-sdk/client-ecs';
import { readTeardownEnvConfig } from '../../src/actions/teardown-env.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { findCluster } from '../../src/ecs/cluster.ts';
import { notYetImplemented, runAction } from '../../src/run.ts';

await runAction('teardown-env', async ({ progress }) => {
  const config = readTeardownEnvConfig();
  const settings = awsSettings('teardown-env');
  progress.line(`Looking up cluster ${config.cluster} in ${settings.region}`);
  const cluster = await findCluster(createClient(ECSClient, settings), config.cluster);
  progress.line(cluster ? `Found ${cluster.clusterArn}` : `Cluster ${config.cluster} does not exist`);
  throw notYetImplemented('teardown-env', 'the inputs are valid and the cluster was looked up');
});
