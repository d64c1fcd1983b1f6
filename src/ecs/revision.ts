// Which revision each service is rolled to: an existing ARN or a rendered file (one revision for all),
// or each service's current revision with a new image (one new revision per family in use).
import {
  type ContainerDefinition,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type Service,
  type Tag,
} from '@aws-sdk/client-ecs';
import { awsCall } from '../aws.ts';
import { TAG_SPEC } from '../environment.ts';
import { ActionError } from '../errors.ts';
import { type ContainerImage, mergeTags, provenanceTags, type Registration, readTaskDefinitionFile, toRegistration, withImages } from './task-definition.ts';

export interface RevisionSource {
  taskDefinition?: string | undefined;
  images?: ContainerImage[] | undefined;
  /** The input the container names came from (images, or container with image), for refusals. */
  imagesInput?: string | undefined;
}

/** One container of one service: the image it ran and the one it gets (undefined where the container is new or gone). */
export interface ImageChange {
  service: string;
  container: string;
  from: string | undefined;
  to: string | undefined;
}

/** A revision to deploy: already registered (arn) or to be registered (registration). */
export interface PlannedRevision {
  arn: string | undefined;
  registration: Registration | undefined;
  containers: ContainerDefinition[];
  /** Where it came from, for people. */
  origin: string;
  /** The services that move to it. */
  services: Service[];
  /** Every container of each of those services, before and after. */
  images: ImageChange[];
}

async function describeTaskDefinition(ecs: ECSClient, taskDefinition: string) {
  const response = await awsCall('DescribeTaskDefinition', taskDefinition, () =>
    ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ['TAGS'] })),
  );
  if (!response.taskDefinition) throw new ActionError(`Task definition ${taskDefinition} was not found.`, 'check the ARN and region.');
  return { definition: response.taskDefinition, tags: response.tags ?? [] };
}

/**
 * Tags for a revision made from another (or from a file that may hold a described one's tags): the
 * source's, without its spec hash, which describes the source and would make provision-platform
 * take this revision for the one it registered.
 */
function derivedTags(tags: Tag[]): Tag[] {
  return mergeTags(
    tags.filter((tag) => tag.key !== TAG_SPEC),
    provenanceTags(),
  );
}

/** Works out what each service is rolled to, registering nothing yet. */
export async function planRevisions(ecs: ECSClient, services: Service[], source: RevisionSource): Promise<PlannedRevision[]> {
  // Services sharing a revision share the new one; a web service and its worker each get their own.
  const byCurrent = new Map<string, Service[]>();
  for (const service of services) byCurrent.set(service.taskDefinition ?? '', [...(byCurrent.get(service.taskDefinition ?? '') ?? []), service]);
  const current = new Map(await Promise.all([...byCurrent.keys()].map(async (arn) => [arn, await describeTaskDefinition(ecs, arn)] as const)));
  const changes = (group: Service[], after: ContainerDefinition[]) =>
    group.flatMap((service) =>
      imageChanges(service.serviceName ?? '', current.get(service.taskDefinition ?? '')?.definition.containerDefinitions ?? [], after),
    );

  if (source.taskDefinition?.startsWith('arn:')) {
    const { definition } = await describeTaskDefinition(ecs, source.taskDefinition);
    const containers = definition.containerDefinitions ?? [];
    return [
      {
        arn: definition.taskDefinitionArn,
        registration: undefined,
        containers,
        origin: source.taskDefinition,
        services,
        images: changes(services, containers),
      },
    ];
  }
  if (source.taskDefinition) {
    const file = readTaskDefinitionFile(source.taskDefinition);
    const registration = toRegistration(file.definition, derivedTags(file.tags), source.taskDefinition);
    const containers = registration.containerDefinitions;
    return [{ arn: undefined, registration, containers, origin: source.taskDefinition, services, images: changes(services, containers) }];
  }
  return [...byCurrent].map(([arn, group]) => {
    const { definition, tags } = current.get(arn) as Awaited<ReturnType<typeof describeTaskDefinition>>;
    if (!source.images) {
      const containers = definition.containerDefinitions ?? [];
      return { arn, registration: undefined, containers, origin: arn, services: group, images: changes(group, containers) };
    }
    const registration = withImages(toRegistration(definition, derivedTags(tags), arn), source.images, source.imagesInput);
    return {
      arn: undefined,
      registration,
      containers: registration.containerDefinitions,
      origin: arn,
      services: group,
      images: changes(group, registration.containerDefinitions),
    };
  });
}

/** Each container of the new revision (and any the old one had that it drops), with its image before and after. */
function imageChanges(service: string, before: ContainerDefinition[], after: ContainerDefinition[]): ImageChange[] {
  const names = [...new Set([...after, ...before].map((container) => container.name ?? ''))];
  return names.map((container) => ({
    service,
    container,
    from: before.find((candidate) => candidate.name === container)?.image,
    to: after.find((candidate) => candidate.name === container)?.image,
  }));
}

export async function registerRevision(ecs: ECSClient, registration: Registration): Promise<string> {
  const response = await awsCall('RegisterTaskDefinition', `family ${registration.family}`, () => ecs.send(new RegisterTaskDefinitionCommand(registration)));
  const arn = response.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new ActionError(`RegisterTaskDefinition for ${registration.family} returned no ARN.`, 'retry the step.');
  return arn;
}
