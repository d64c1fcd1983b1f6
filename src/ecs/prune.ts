// Removing task-definition revisions: keep-revisions (old ones no service uses) and teardown (all of an environment's).
import { DeleteTaskDefinitionsCommand, DeregisterTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { awsCall } from '../aws.ts';
import { chunk } from '../list.ts';
import { familyRevisions } from './history.ts';
import { listClusterServices } from './services.ts';

/** Returns the ARNs removed, oldest first: every ACTIVE revision older than the newest `keep`, except those a service runs. */
export async function pruneRevisions(ecs: ECSClient, cluster: string, family: string, keep: number): Promise<string[]> {
  const active = await familyRevisions(ecs, family);
  const inUse = new Set(
    (await listClusterServices(ecs, cluster)).flatMap((service) => [service.taskDefinition, ...(service.deployments ?? []).map((d) => d.taskDefinition)]),
  );
  const doomed = active.slice(keep).filter((arn) => !inUse.has(arn));
  await deleteRevisions(ecs, doomed);
  return doomed.reverse();
}

/** Deregisters the ACTIVE revisions among `arns` (INACTIVE ones are already), then deletes them all, 10 a call. */
export async function deleteRevisions(ecs: ECSClient, arns: string[], alreadyInactive: ReadonlySet<string> = new Set()): Promise<void> {
  for (const arn of arns.filter((candidate) => !alreadyInactive.has(candidate))) {
    await awsCall('DeregisterTaskDefinition', arn, () => ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })));
  }
  for (const batch of chunk(arns, 10)) {
    await awsCall('DeleteTaskDefinitions', batch.join(', '), () => ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: batch })));
  }
}
