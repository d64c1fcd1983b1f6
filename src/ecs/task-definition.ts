// Task-definition revisions: what to register, from a file or from the current revision with a new image.
import { readFileSync } from 'node:fs';
import type { ContainerDefinition, RegisterTaskDefinitionCommandInput, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import { runUrl } from '../environment.ts';
import { ActionError, inputError } from '../errors.ts';
import { quote } from '../inputs.ts';

/**
 * The fields RegisterTaskDefinition accepts. Copying only these (rather than deleting the read-only
 * ones DescribeTaskDefinition adds) keeps working when AWS adds a new read-only field.
 */
const registrationFields = [
  'family',
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'containerDefinitions',
  'volumes',
  'placementConstraints',
  'requiresCompatibilities',
  'cpu',
  'memory',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const satisfies readonly (keyof RegisterTaskDefinitionCommandInput)[];

export type Registration = RegisterTaskDefinitionCommandInput & { containerDefinitions: ContainerDefinition[] };

/** A registration from a described revision or a rendered file: only accepted fields, with these tags. */
export function toRegistration(source: TaskDefinition | Record<string, unknown>, tags: Tag[], origin: string): Registration {
  const fields = source as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const field of registrationFields) {
    if (fields[field] !== undefined && fields[field] !== null) picked[field] = fields[field];
  }
  if (typeof picked.family !== 'string' || picked.family === '') {
    throw new ActionError(`${origin} has no family.`, 'a task definition needs "family"; amazon-ecs-render-task-definition keeps it from its input file.');
  }
  if (!Array.isArray(picked.containerDefinitions) || picked.containerDefinitions.length === 0) {
    throw new ActionError(`${origin} has no containerDefinitions.`, 'a task definition needs at least one container.');
  }
  return { ...(picked as unknown as Registration), ...(tags.length > 0 ? { tags } : {}) };
}

/**
 * Reads a task-definition JSON file, as written by amazon-ecs-render-task-definition, by hand, or by
 * `aws ecs describe-task-definition --include TAGS` (which wraps it and puts the tags beside it).
 */
export function readTaskDefinitionFile(path: string, input = 'task-definition'): { definition: Record<string, unknown>; tags: Tag[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw inputError(
      input,
      `the file ${quote(path)} cannot be read.`,
      'give a path relative to the repository root (check that the file was checked out or rendered in an earlier step).',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // Where, not what: the parser's message quotes the file, which may hold anything.
    const where = /at position \d+(?: \(line \d+ column \d+\))?/.exec((error as Error).message)?.[0];
    throw inputError(input, `${quote(path)} is not valid JSON${where ? ` (${where})` : ''}.`, 'fix the JSON, for example with jq . on the file.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw inputError(
      input,
      `${quote(path)} does not hold a JSON object.`,
      'the file must be one task definition object, as DescribeTaskDefinition returns it.',
    );
  }
  const { taskDefinition: wrapped, tags } = parsed as { taskDefinition?: unknown; tags?: unknown };
  const definition = (typeof wrapped === 'object' && wrapped !== null ? wrapped : parsed) as Record<string, unknown>;
  const tagList = Array.isArray(tags) ? tags : Array.isArray(definition.tags) ? definition.tags : [];
  return { definition, tags: tagList.filter((tag): tag is Tag => typeof tag?.key === 'string') };
}

/** The container whose image a rollout replaces: the named one, else the only essential one, else the first essential one. */
export function targetContainer(containers: ContainerDefinition[], name?: string, input = 'container'): ContainerDefinition {
  const names = containers.map((container) => container.name).join(', ');
  if (name !== undefined) {
    const named = containers.find((container) => container.name === name);
    if (!named) throw inputError(input, `there is no container "${name}" in the task definition (it has: ${names}).`, 'name one of its containers.');
    return named;
  }
  // essential defaults to true when absent.
  const essential = containers.filter((container) => container.essential !== false);
  const chosen = essential[0] ?? containers[0];
  if (!chosen) throw new ActionError('The task definition has no containers.', 'register a task definition with at least one container.');
  return chosen;
}

/** A new image for one container; no container means the default one (see targetContainer). */
export interface ContainerImage {
  container: string | undefined;
  image: string;
}

/**
 * The same registration with each given container's image replaced. `input` names the input the
 * containers came from, for the refusal of a name the task definition does not have.
 */
export function withImages(registration: Registration, images: ContainerImage[], input = 'container'): Registration {
  const names = registration.containerDefinitions.map((container) => container.name);
  const missing = images.filter((pair) => pair.container !== undefined && !names.includes(pair.container)).map((pair) => `"${pair.container}"`);
  if (missing.length > 0) {
    throw inputError(
      input,
      `the task definition ${registration.family} has no container named ${missing.join(' or ')} (it has: ${names.join(', ')}).`,
      'name containers of the task definition the service runs.',
    );
  }
  const replaced = new Map(images.map((pair) => [targetContainer(registration.containerDefinitions, pair.container, input), pair.image]));
  return {
    ...registration,
    containerDefinitions: registration.containerDefinitions.map((container) => {
      const image = replaced.get(container);
      return image === undefined ? container : { ...container, image };
    }),
  };
}

export const TAG_COMMIT = 'ecs-deploy-actions:commit';
export const TAG_RUN = 'ecs-deploy-actions:run';

/** Tags that record which commit and workflow run registered a revision. */
export function provenanceTags(env: NodeJS.ProcessEnv = process.env): Tag[] {
  const tags: Tag[] = [];
  if (env.GITHUB_SHA) tags.push({ key: TAG_COMMIT, value: env.GITHUB_SHA });
  const run = runUrl(env);
  if (run) tags.push({ key: TAG_RUN, value: run });
  return tags;
}

/** Merges tag lists; later lists win for the same key. */
export function mergeTags(...lists: (Tag[] | undefined)[]): Tag[] {
  const byKey = new Map<string, string>();
  for (const list of lists) for (const tag of list ?? []) if (tag.key) byKey.set(tag.key, tag.value ?? '');
  return [...byKey].map(([key, value]) => ({ key, value }));
}

/** family:revision from a task-definition ARN, for people to read. */
export function revisionName(taskDefinitionArn: string | undefined): string {
  if (!taskDefinitionArn) return 'unknown';
  return taskDefinitionArn.split('/').pop() ?? taskDefinitionArn;
}

/** The family of a task-definition ARN or family:revision. */
export function familyOf(taskDefinitionArn: string): string {
  return taskDefinitionArn.split('/').pop()?.split(':')[0] ?? '';
}
