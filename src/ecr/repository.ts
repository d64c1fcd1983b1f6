// The ECR repository an image goes to: found, or created with scan on push and a lifecycle policy.
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  GetLifecyclePolicyCommand,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
  type Repository,
  type Tag,
} from '@aws-sdk/client-ecr';
import { sdkErrorName, wrapAwsError } from '../aws.ts';
import { MANAGED_BY, TAG_MANAGED_BY } from '../environment.ts';
import { ActionError } from '../errors.ts';

/** Tags that mark an image as released: kept by the default policy whatever other tags it carries. */
const RELEASE_TAG_PATTERNS = ['v*', 'release*', 'prod*', 'staging*'];

/**
 * Expires pull-request images 30 days after push and untagged images after 7 days. ECR expires an
 * image, not a tag, and a rule never expires an image matched by a higher-priority rule: so images
 * promoted to a release tag are matched first by a rule that keeps them, even when they also carry pr-*.
 */
export const DEFAULT_LIFECYCLE_POLICY = JSON.stringify({
  rules: [
    ...RELEASE_TAG_PATTERNS.map((pattern, index) => ({
      rulePriority: index + 1,
      description: `Keep images tagged ${pattern}`,
      selection: { tagStatus: 'tagged', tagPatternList: [pattern], countType: 'imageCountMoreThan', countNumber: 10000 },
      action: { type: 'expire' },
    })),
    {
      rulePriority: RELEASE_TAG_PATTERNS.length + 1,
      description: 'Expire pull-request images 30 days after push',
      selection: { tagStatus: 'tagged', tagPatternList: ['pr-*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 },
      action: { type: 'expire' },
    },
    {
      rulePriority: RELEASE_TAG_PATTERNS.length + 2,
      description: 'Expire untagged images 7 days after push',
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 },
      action: { type: 'expire' },
    },
  ],
});

/** Where the builder's layer cache for an image repository lives: beside it, with its own lifecycle. */
export function cacheRepositoryName(repository: string): string {
  return `${repository}-cache`;
}

/**
 * Cache images are tagged by content hashes that builds look up by name, never by age: an image not pushed
 * for 14 days is a layer no recent build produced, and the next build that needs it pushes it again.
 */
export const CACHE_LIFECYCLE_POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'Expire layer-cache images 14 days after push',
      selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 },
      action: { type: 'expire' },
    },
  ],
});

/** The repository's resource tags (a cache repository is created with them). */
export async function repositoryTags(ecr: ECRClient, repository: Repository): Promise<Tag[]> {
  try {
    return (await ecr.send(new ListTagsForResourceCommand({ resourceArn: repository.repositoryArn }))).tags ?? [];
  } catch (error) {
    throw wrapAwsError('ListTagsForResource', `repository ${repository.repositoryName}`, error);
  }
}

/** The repository of that name, or undefined when it does not exist yet. */
export async function findRepository(ecr: ECRClient, name: string): Promise<Repository | undefined> {
  try {
    const response = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return response.repositories?.[0];
  } catch (error) {
    if (sdkErrorName(error) === 'RepositoryNotFoundException') return undefined;
    throw wrapAwsError('DescribeRepositories', `repository ${name}`, error);
  }
}

export async function requireRepository(ecr: ECRClient, name: string): Promise<Repository> {
  const repository = await findRepository(ecr, name);
  if (!repository) {
    throw new ActionError(
      `ECR repository ${name} does not exist, so there is no image to promote.`,
      'check the repository input, or build the image first with build-push-ecr without source-tag.',
    );
  }
  return repository;
}

export interface EnsuredRepository {
  repository: Repository;
  created: boolean;
  /** What happened to the lifecycle policy: put, unchanged, or kept (the repository's own, or `none`). */
  lifecyclePolicy: 'put' | 'unchanged' | 'kept';
}

/**
 * Creates the repository when missing (scan on push, the given tag mutability, our tag) and puts the
 * lifecycle policy when it differs. An existing repository's settings are left as its owner set them.
 * `lifecyclePolicy` undefined means the default, applied only where the repository has no policy yet.
 */
export async function ensureRepository(
  ecr: ECRClient,
  options: { name: string; tagMutability: 'MUTABLE' | 'IMMUTABLE'; lifecyclePolicy: string | undefined; tags?: Tag[]; scanOnPush?: boolean },
  /** The caller's own lookup, when it made one: not asked again. */
  lookedUp?: { repository: Repository | undefined },
): Promise<EnsuredRepository> {
  let repository = lookedUp ? lookedUp.repository : await findRepository(ecr, options.name);
  let created = false;
  if (!repository) {
    try {
      const response = await ecr.send(
        new CreateRepositoryCommand({
          repositoryName: options.name,
          imageTagMutability: options.tagMutability,
          imageScanningConfiguration: { scanOnPush: options.scanOnPush ?? true },
          tags: [...(options.tags ?? []).filter((tag) => tag.Key !== TAG_MANAGED_BY), { Key: TAG_MANAGED_BY, Value: MANAGED_BY }],
        }),
      );
      repository = response.repository;
      created = true;
    } catch (error) {
      // Another job created it between our look and our create: use theirs.
      if (sdkErrorName(error) !== 'RepositoryAlreadyExistsException') throw wrapAwsError('CreateRepository', `repository ${options.name}`, error);
      repository = await findRepository(ecr, options.name);
    }
  }
  if (!repository) throw new ActionError(`ECR repository ${options.name} was created but cannot be described.`, 'run the step again.');
  const lifecyclePolicy = options.lifecyclePolicy === 'none' ? 'kept' : await ensureLifecyclePolicy(ecr, options.name, options.lifecyclePolicy);
  return { repository, created, lifecyclePolicy };
}

async function ensureLifecyclePolicy(ecr: ECRClient, name: string, requested: string | undefined): Promise<EnsuredRepository['lifecyclePolicy']> {
  let current: string | undefined;
  try {
    current = (await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: name }))).lifecyclePolicyText;
  } catch (error) {
    if (sdkErrorName(error) !== 'LifecyclePolicyNotFoundException') throw wrapAwsError('GetLifecyclePolicy', `repository ${name}`, error);
  }
  if (requested === undefined && current !== undefined) return 'kept';
  const wanted = requested ?? DEFAULT_LIFECYCLE_POLICY;
  if (current !== undefined && sameJson(current, wanted)) return 'unchanged';
  try {
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: wanted }));
  } catch (error) {
    throw wrapAwsError('PutLifecyclePolicy', `repository ${name}`, error);
  }
  return 'put';
}

function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    // Not JSON on one side: only an exact match counts as the same policy.
    return a === b;
  }
}
