// build-push-ecr's look before it decides: the repository, the images its tags name, the cache repository.
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { BuildPushSpec } from '../actions/build-push-ecr.ts';
import { imagesByTag, type TaggedImage } from '../ecr/images.ts';
import { cacheRepositoryName, findRepository, repositoryTags } from '../ecr/repository.ts';
import { detectBuilders } from './builder.ts';
import { contextTag as contextTagOf } from './content-key.ts';
import type { Observed } from './plan.ts';

/** `client` is called only with push on: a build-only run (a Dockerfile check, even from a fork) makes no AWS call. */
export async function observe(spec: BuildPushSpec, client: () => ECRClient): Promise<Observed> {
  const nothing: Observed = {
    repository: undefined,
    repositoryTags: [],
    images: new Map(),
    cacheRepository: undefined,
    contextTag: undefined,
    contextImage: undefined,
    builders: undefined,
  };
  if (!spec.config.push) return { ...nothing, builders: await detectBuilders() };
  const ecr = client();
  const name = spec.config.repository;
  const repository = await findRepository(ecr, name);
  const wanted = spec.kind === 'promote' ? [spec.sourceTag, ...spec.tags] : spec.tags;
  const images = repository ? await imagesByTag(ecr, name, wanted) : new Map<string, TaggedImage>();
  if (spec.kind === 'promote' || images.has(spec.build.contentKey.tag)) return { ...nothing, repository, images };
  const cacheName = cacheRepositoryName(name);
  const cacheRepository = spec.config.cache ? await findRepository(ecr, cacheName) : undefined;
  const { build } = spec;
  // Multi-platform builds have no layer cache, so nothing to find under their inputs.
  const contextTag = spec.config.cache && build.settings.platforms.length === 1 ? contextTagOf(build.contextDir, build.dockerfile, build.settings) : undefined;
  const [tags, builders, contextImages] = await Promise.all([
    repository && spec.config.cache && !cacheRepository ? repositoryTags(ecr, repository) : [],
    detectBuilders(),
    cacheRepository && contextTag ? imagesByTag(ecr, cacheName, [contextTag]) : new Map<string, TaggedImage>(),
  ]);
  const contextImage = contextTag ? contextImages.get(contextTag) : undefined;
  return { repository, repositoryTags: tags, images, cacheRepository, contextTag, contextImage, builders };
}
