// build-push-ecr's look before it decides: the repository, the images its tags name, the cache repository.
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { BuildPushSpec } from '../actions/build-push-ecr.ts';
import { imagesByTag, type TaggedImage } from '../ecr/images.ts';
import { cacheRepositoryName, findRepository, repositoryTags } from '../ecr/repository.ts';
import { detectBuilders } from './builder.ts';
import type { Observed } from './plan.ts';

/** `client` is called only with push on: a build-only run (a Dockerfile check, even from a fork) makes no AWS call. */
export async function observe(spec: BuildPushSpec, client: () => ECRClient): Promise<Observed> {
  const nothing: Observed = { repository: undefined, repositoryTags: [], images: new Map(), cacheRepository: undefined, builders: undefined };
  if (!spec.config.push) return { ...nothing, builders: await detectBuilders() };
  const ecr = client();
  const name = spec.config.repository;
  const repository = await findRepository(ecr, name);
  const wanted = spec.kind === 'promote' ? [spec.sourceTag, ...spec.tags] : spec.tags;
  const images = repository ? await imagesByTag(ecr, name, wanted) : new Map<string, TaggedImage>();
  if (spec.kind === 'promote' || images.has(spec.build.contentKey.tag)) return { ...nothing, repository, images };
  const cacheRepository = spec.config.cache ? await findRepository(ecr, cacheRepositoryName(name)) : undefined;
  const [tags, builders] = await Promise.all([repository && spec.config.cache && !cacheRepository ? repositoryTags(ecr, repository) : [], detectBuilders()]);
  return { repository, repositoryTags: tags, images, cacheRepository, builders };
}
