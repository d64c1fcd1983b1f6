// scale-schedule: put environments to sleep (scale to zero, remembering counts) or wake them.
import { ECSClient } from '@aws-sdk/client-ecs';
import { readScaleScheduleConfig } from '../../src/actions/scale-schedule.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { requireCluster } from '../../src/ecs/cluster.ts';
import { notYetImplemented, runAction } from '../../src/run.ts';

await runAction('scale-schedule', async ({ progress }) => {
  const config = readScaleScheduleConfig();
  const settings = awsSettings('scale-schedule');
  progress.line(`Checking cluster ${config.cluster} in ${settings.region}`);
  await requireCluster(createClient(ECSClient, settings), config.cluster, settings.region);
  throw notYetImplemented('scale-schedule', `the inputs are valid and cluster ${config.cluster} exists`);
});
