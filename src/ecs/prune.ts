// keep-revisions: deregister and delete a family's old revisions that no service of the cluster uses.
import { DeleteTaskDefinitionsCommand, DeregisterTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { awsCall } from '../aws.ts';
import { familyRevisions } from './history.ts';
import { chunk, listClusterServices } from './services.ts';

/** Returns the ARNs removed, oldest first: every ACTIVE revision older than the newest `keep`, except those a service runs. */
export async function pruneRevisions(ecs: ECSClient, cluster: string, family: string, keep: number): Promise<string[]> {
  const active = await familyRevisions(ecs, family);
  const inUse = new Set(
    (await listClusterServices(ecs, cluster)).flatMap((service) => [service.taskDefinition, ...(service.deployments ?? []).map((d) => d.taskDefinition)]),
  );
  const doomed = active.slice(keep).filter((arn) => !inUse.has(arn));
  for (const arn of doomed) {
    await awsCall('DeregisterTaskDefinition', arn, () => ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })));
  }
  for (const batch of chunk(doomed, 10)) {
    await awsCall('DeleteTaskDefinitions', batch.join(', '), () => ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: batch })));
  }
  return doomed.reverse();
}
