// rollback-to-revision: put service(s) back on an earlier revision and wait for it.
import { ECSClient } from '@aws-sdk/client-ecs';
import { readRollbackConfig } from '../../src/actions/rollback-to-revision.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { requireCluster } from '../../src/ecs/cluster.ts';
import { notYetImplemented, runAction } from '../../src/run.ts';

await runAction('rollback-to-revision', async ({ progress }) => {
  const config = readRollbackConfig();
  const settings = awsSettings('rollback-to-revision');
  progress.line(`Checking cluster ${config.cluster} in ${settings.region}`);
  await requireCluster(createClient(ECSClient, settings), config.cluster, settings.region);
  throw notYetImplemented('rollback-to-revision', `the inputs are valid and cluster ${config.cluster} exists`);
});
