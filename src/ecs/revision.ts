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
import { mergeTags, provenanceTags, type Registration, readTaskDefinitionFile, toRegistration, withImage } from './task-definition.ts';

export interface RevisionSource {
  taskDefinition?: string | undefined;
  image?: string | undefined;
  container?: string | undefined;
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
  if (source.taskDefinition?.startsWith('arn:')) {
    const { definition } = await describeTaskDefinition(ecs, source.taskDefinition);
    return [
      {
        arn: definition.taskDefinitionArn,
        registration: undefined,
        containers: definition.containerDefinitions ?? [],
        origin: source.taskDefinition,
        services,
      },
    ];
  }
  if (source.taskDefinition) {
    const file = readTaskDefinitionFile(source.taskDefinition);
    const registration = toRegistration(file.definition, derivedTags(file.tags), source.taskDefinition);
    return [{ arn: undefined, registration, containers: registration.containerDefinitions, origin: source.taskDefinition, services }];
  }
  // Services sharing a revision share the new one; a web service and its worker each get their own.
  const byCurrent = new Map<string, Service[]>();
  for (const service of services) byCurrent.set(service.taskDefinition ?? '', [...(byCurrent.get(service.taskDefinition ?? '') ?? []), service]);
  return Promise.all(
    [...byCurrent].map(async ([current, group]) => {
      const { definition, tags } = await describeTaskDefinition(ecs, current);
      if (!source.image) return { arn: current, registration: undefined, containers: definition.containerDefinitions ?? [], origin: current, services: group };
      const registration = withImage(toRegistration(definition, derivedTags(tags), current), source.image, source.container);
      return { arn: undefined, registration, containers: registration.containerDefinitions, origin: current, services: group };
    }),
  );
}

export async function registerRevision(ecs: ECSClient, registration: Registration): Promise<string> {
  const response = await awsCall('RegisterTaskDefinition', `family ${registration.family}`, () => ecs.send(new RegisterTaskDefinitionCommand(registration)));
  const arn = response.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new ActionError(`RegisterTaskDefinition for ${registration.family} returned no ARN.`, 'retry the step.');
  return arn;
}
