// teardown-env: delete everything an environment owns, in reverse-dependency order, and nothing else.
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { readTeardownEnvConfig } from '../../src/actions/teardown-env.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { notYetImplemented, runAction } from '../../src/run.ts';
import { setOutput } from '../../src/runner.ts';
import { deleteInventory } from '../../src/teardown/delete.ts';
import { discover, type Found } from '../../src/teardown/discover.ts';
import { discoverImages } from '../../src/teardown/images.ts';

await runAction('teardown-env', async ({ progress, summary, clock }) => {
  const config = readTeardownEnvConfig();
  if (config.mode === 'sweep') throw notYetImplemented('teardown-env mode: sweep', 'the inputs are valid');
  const environment = config.environment ?? '';
  const settings = awsSettings('teardown-env');
  const clients = {
    ecs: createClient(ECSClient, settings),
    elb: createClient(ElasticLoadBalancingV2Client, settings),
    logs: createClient(CloudWatchLogsClient, settings),
    ecr: createClient(ECRClient, settings),
  };

  progress.phase(`Finding what ${environment} owns in cluster ${config.cluster}`);
  const inventory = await discover(clients, { cluster: config.cluster, environment, listenerArn: config.listenerArn });
  if (config.deleteImages && config.repository) inventory.images = await discoverImages(clients.ecr, config.repository, environment);
  const planned: Found[] = [
    ...inventory.services.map((service) => ({ kind: 'service' as const, id: service.serviceArn ?? '', name: service.serviceName ?? '' })),
    ...inventory.rules,
    ...inventory.targetGroups,
    ...inventory.taskDefinitions,
    ...(config.keepLogs ? [] : inventory.logGroups),
    ...inventory.images,
  ];
  for (const found of planned) progress.line(`${config.dryRun ? 'would delete' : 'to delete'}: ${found.kind} ${found.name}`);
  for (const found of inventory.foreign) progress.line(`left untouched (not owned by ${environment}): ${found.kind} ${found.name}`);
  setOutput('left', inventory.foreign.length);
  if (inventory.foreign.length > 0)
    summary.addTable(
      [`left untouched: not tagged as owned by ${environment}`, 'kind'],
      inventory.foreign.map((found) => [found.name, found.kind]),
    );

  if (config.dryRun || planned.length === 0) {
    progress.line(planned.length === 0 ? `Nothing owned by ${environment} is left: nothing to delete.` : 'Dry run: nothing deleted.');
    setOutput('deleted', 0);
    if (planned.length > 0)
      summary.addTable(
        ['would delete', 'kind'],
        planned.map((found) => [found.name, found.kind]),
      );
    return;
  }

  const deleted = await deleteInventory({ ...clients, clock, progress }, inventory, {
    cluster: config.cluster,
    timeoutSeconds: config.timeout,
    keepLogs: config.keepLogs,
    imageRepository: config.repository,
  });
  setOutput('deleted', deleted.length);
  summary.addTable(
    ['deleted', 'kind'],
    deleted.map((found) => [found.name, found.kind]),
  );
});
