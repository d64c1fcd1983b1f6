// build-push-ecr's plan, from the request and what exists (pure): promote, skip, build and push, or build only.
import type { Repository, Tag } from '@aws-sdk/client-ecr';
import type { BuildPushSpec, BuildSource } from '../actions/build-push-ecr.ts';
import { planTags, type TaggedImage, type TagPlan } from '../ecr/images.ts';
import { CACHE_LIFECYCLE_POLICY, cacheRepositoryName } from '../ecr/repository.ts';
import { MANAGED_BY, TAG_MANAGED_BY } from '../environment.ts';
import { ActionError, inputError } from '../errors.ts';
import { type AvailableBuilders, type BuilderKind, chooseBuilder } from './builder.ts';

/** What build-push-ecr found before deciding anything. */
export interface Observed {
  /** The image repository; undefined when it does not exist (or push is off: nothing was asked). */
  repository: Repository | undefined;
  /** Its resource tags, whose ecs-deploy-actions:* ones a new cache repository copies. */
  repositoryTags: Tag[];
  /** The image each wanted tag (and the source tag) names now. */
  images: Map<string, TaggedImage>;
  cacheRepository: Repository | undefined;
  /** The build inputs' tag in the cache repository (one-platform builds with the cache on), and the image it names. */
  contextTag: string | undefined;
  contextImage: TaggedImage | undefined;
  /** Undefined where no build can be needed (promote, or the image for the key exists). */
  builders: AvailableBuilders | undefined;
}

/** A repository this run uses, and how it ensures it. */
export interface RepositoryStep {
  name: string;
  existing: Repository | undefined;
  tagMutability: 'MUTABLE' | 'IMMUTABLE';
  /** JSON; undefined: ours only where the repository has none; `none`: leave it alone. */
  lifecyclePolicy: string | undefined;
  /** Resource tags for a repository this run creates. */
  tags: Tag[];
  scanOnPush: boolean;
}

export type BuildPushPlan =
  | { kind: 'promote'; repository: Repository; sourceTag: string; image: TaggedImage; tags: TagPlan }
  | { kind: 'skip'; repository: RepositoryStep; contentKey: string; image: TaggedImage; tags: TagPlan }
  | {
      kind: 'build';
      repository: RepositoryStep;
      /** The layer cache's repository; undefined with cache: false. */
      cache: RepositoryStep | undefined;
      builder: BuilderKind;
      source: BuildSource;
      /** Tags the unlabelled image in the cache repository after the build. */
      contextTag: string | undefined;
      /** Pushed under the content key's tag; the other tags are added by manifest afterwards. */
      tags: string[];
    }
  /** An earlier build had the same inputs: its layers, with this run's labels, make the image. No build. */
  | { kind: 'reuse'; repository: RepositoryStep; cache: RepositoryStep; contextTag: string; image: TaggedImage; source: BuildSource; tags: string[] }
  | { kind: 'build-only'; builder: BuilderKind; source: BuildSource };

export function planBuildPush(spec: BuildPushSpec, observed: Observed): BuildPushPlan {
  const { config } = spec;
  if (spec.kind === 'promote') {
    const repository = observed.repository;
    if (!repository) {
      throw new ActionError(
        `ECR repository ${config.repository} does not exist, so there is no image to promote.`,
        'check the repository input, or build the image first with build-push-ecr without source-tag.',
      );
    }
    const image = observed.images.get(spec.sourceTag);
    if (!image) {
      throw new ActionError(
        `${config.repository} has no image tagged ${spec.sourceTag}, so there is nothing to promote.`,
        'check source-tag: it is usually the commit SHA the build step pushed (its tags output lists them).',
      );
    }
    return { kind: 'promote', repository, sourceTag: spec.sourceTag, image, tags: tagsFor(config.repository, repository, image.digest, spec.tags, observed) };
  }
  const builder = () => {
    if (!observed.builders) throw new Error('observe must detect the builders when a build can be needed');
    const chosen = chooseBuilder(config.builder, observed.builders);
    if (chosen === 'docker' && !observed.builders.buildx && config.platforms.length > 1) {
      throw inputError(
        'platforms',
        `lists ${config.platforms.length} platforms, but docker without buildx builds one.`,
        'install docker buildx, or use builder: buildah.',
      );
    }
    return chosen;
  };
  if (!config.push) return { kind: 'build-only', builder: builder(), source: spec.build };
  const repository: RepositoryStep = {
    name: config.repository,
    existing: observed.repository,
    tagMutability: config.tagMutability,
    lifecyclePolicy: config.lifecyclePolicy,
    tags: [{ Key: TAG_MANAGED_BY, Value: MANAGED_BY }],
    scanOnPush: true,
  };
  const key = spec.build.contentKey.tag;
  const existing = observed.images.get(key);
  if (existing)
    return {
      kind: 'skip',
      repository,
      contentKey: key,
      image: existing,
      tags: tagsFor(config.repository, observed.repository, existing.digest, spec.tags, observed),
    };
  // Refuse before building when an immutable tag already names another image.
  tagsFor(config.repository, observed.repository, '', spec.tags, observed);
  const cache: RepositoryStep | undefined = config.cache
    ? {
        name: cacheRepositoryName(config.repository),
        existing: observed.cacheRepository,
        // Cache tags are content hashes that a later build may push again: tags must be able to move.
        tagMutability: 'MUTABLE',
        lifecyclePolicy: CACHE_LIFECYCLE_POLICY,
        // Our tag keys only: they are the ones the actions' IAM policies let them set (aws:TagKeys).
        tags: observed.repository ? observed.repositoryTags.filter((tag) => tag.Key?.startsWith(`${MANAGED_BY}:`)) : repository.tags,
        scanOnPush: false,
      }
    : undefined;
  if (cache && observed.contextTag && observed.contextImage) {
    return { kind: 'reuse', repository, cache, contextTag: observed.contextTag, image: observed.contextImage, source: spec.build, tags: spec.tags };
  }
  return { kind: 'build', repository, cache, builder: builder(), source: spec.build, contextTag: cache ? observed.contextTag : undefined, tags: spec.tags };
}

function tagsFor(name: string, repository: Repository | undefined, digest: string, wanted: string[], observed: Observed): TagPlan {
  return planTags({ repository: name, digest, wanted, current: observed.images, immutable: repository?.imageTagMutability === 'IMMUTABLE' });
}
