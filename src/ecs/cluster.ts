// Finding an ECS cluster and telling the user clearly when it is not there.
import { type Cluster, DescribeClustersCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { awsCall } from '../aws.ts';
import { ActionError } from '../errors.ts';

/** The ACTIVE cluster of that name, or undefined when there is none (missing or INACTIVE). */
export async function findCluster(ecs: ECSClient, name: string): Promise<Cluster | undefined> {
  const response = await awsCall('DescribeClusters', `cluster ${name}`, () => ecs.send(new DescribeClustersCommand({ clusters: [name], include: ['TAGS'] })));
  return response.clusters?.find((cluster) => cluster.status === 'ACTIVE');
}

export async function requireCluster(ecs: ECSClient, name: string, region: string): Promise<Cluster> {
  const cluster = await findCluster(ecs, name);
  if (!cluster) {
    throw new ActionError(
      `ECS cluster "${name}" was not found in ${region}.`,
      'check the cluster input and AWS_REGION, or create the cluster with provision-platform.',
    );
  }
  return cluster;
}
