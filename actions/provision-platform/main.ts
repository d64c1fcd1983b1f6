// provision-platform: create or update an environment's cluster, load-balancer routing, task definition and service.
import { ECSClient } from '@aws-sdk/client-ecs';
import { readProvisionPlatformConfig } from '../../src/actions/provision-platform.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { findCluster } from '../../src/ecs/cluster.ts';
import { notYetImplemented, runAction } from '../../src/run.ts';

await runAction('provision-platform', async ({ progress }) => {
  const config = readProvisionPlatformConfig();
  const settings = awsSettings('provision-platform');
  progress.line(`Looking up cluster ${config.cluster} in ${settings.region}`);
  const cluster = await findCluster(createClient(ECSClient, settings), config.cluster);
  progress.line(cluster ? `Found ${cluster.clusterArn}` : `Cluster ${config.cluster} does not exist yet`);
  throw notYetImplemented('provision-platform', `the inputs for environment ${config.environment} are valid and the cluster was looked up`);
});
