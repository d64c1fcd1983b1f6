// Reading services: by name (10 per DescribeServices, as ECS allows) or by our environment tags.
import { DescribeServicesCommand, type ECSClient, ListServicesCommand, type Service, type Tag } from '@aws-sdk/client-ecs';
import { awsCall } from '../aws.ts';
import { type Identity, identityOf, isOwnedBy, otherRepositoryError, ownership, TAG_REPOSITORY, type Tags } from '../environment.ts';
import { ActionError } from '../errors.ts';
import { chunk } from '../list.ts';

const DESCRIBE_BATCH = 10;

export function tagsOf(service: Service): Tags {
  return Object.fromEntries((service.tags ?? []).map((tag) => [tag.key ?? '', tag.value ?? '']));
}

export function toEcsTags(tags: Tags): Tag[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

/** Services by name (or ARN) in these statuses (ACTIVE unless told); names ECS does not know, or in another status, come back in `missing`. */
export async function describeServices(
  ecs: ECSClient,
  cluster: string,
  names: string[],
  statuses: readonly string[] = ['ACTIVE'],
): Promise<{ found: Service[]; missing: string[] }> {
  const found: Service[] = [];
  const batches = await Promise.all(
    chunk(names, DESCRIBE_BATCH).map((batch) =>
      awsCall('DescribeServices', `services ${batch.join(', ')} in cluster ${cluster}`, () =>
        ecs.send(new DescribeServicesCommand({ cluster, services: batch, include: ['TAGS'] })),
      ),
    ),
  );
  for (const response of batches) found.push(...(response.services ?? []).filter((service) => statuses.includes(service.status ?? '')));
  const known = new Set(found.flatMap((service) => [service.serviceName, service.serviceArn]));
  return { found, missing: names.filter((name) => !known.has(name)) };
}

/**
 * Services named outright (made by IaC, the official actions or us). One our tags give to another
 * repository's environment is refused: naming a service does not make another team's preview ours.
 */
export async function requireServices(ecs: ECSClient, cluster: string, names: string[], repository: string): Promise<Service[]> {
  const { found, missing } = await describeServices(ecs, cluster, names);
  for (const service of found) {
    const owner = identityOf(tagsOf(service));
    if (owner && owner.repository !== repository) throw otherRepositoryError({ ...owner, repository }, owner.repository, `service ${service.serviceName}`);
  }
  if (missing.length > 0) {
    throw new ActionError(
      `No ACTIVE service ${missing.map((name) => `"${name}"`).join(', ')} in cluster ${cluster}.`,
      'check the service input and the cluster.',
    );
  }
  return names.map((name) => found.find((service) => service.serviceName === name || service.serviceArn === name) as Service);
}

/** Every service of the cluster in these statuses (ACTIVE unless told), with tags. */
export async function listClusterServices(ecs: ECSClient, cluster: string, statuses: readonly string[] = ['ACTIVE']): Promise<Service[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await awsCall('ListServices', `cluster ${cluster}`, () => ecs.send(new ListServicesCommand({ cluster, maxResults: 100, nextToken })));
    arns.push(...(page.serviceArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return (await describeServices(ecs, cluster, arns, statuses)).found;
}

/** The services our tags mark as owned by this environment; another repository's of the same name are refused. */
export async function environmentServices(ecs: ECSClient, identity: Identity): Promise<Service[]> {
  const { cluster, environment } = identity;
  const all = await listClusterServices(ecs, cluster);
  const claimed = all.find((service) => ownership(tagsOf(service), identity) === 'other-repository');
  if (claimed) throw otherRepositoryError(identity, tagsOf(claimed)[TAG_REPOSITORY] ?? '', `service ${claimed.serviceName}`);
  const services = all.filter((service) => isOwnedBy(tagsOf(service), identity));
  if (services.length === 0) {
    throw new ActionError(
      `No service in cluster ${cluster} is tagged as environment ${environment}.`,
      'provision the environment with provision-platform first, or name the service with the service input.',
    );
  }
  return services;
}
