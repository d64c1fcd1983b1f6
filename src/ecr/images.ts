// Images in an ECR repository by tag, and tagging by manifest (PutImage): no layer is pulled or pushed.
import {
  BatchGetImageCommand,
  type BatchGetImageCommandOutput,
  DescribeImagesCommand,
  type ECRClient,
  type ImageDetail,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { sdkErrorName, wrapAwsError } from '../aws.ts';
import { ActionError } from '../errors.ts';
import { chunk } from '../list.ts';

/** Every manifest type we copy, single-platform and multi-platform (Docker and OCI). */
const MANIFEST_MEDIA_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
];

export interface TaggedImage {
  digest: string;
  manifest: string;
  mediaType: string | undefined;
}

/** The image each tag points at now; tags missing from the repository are absent from the map. */
export async function imagesByTag(ecr: ECRClient, repository: string, tags: string[]): Promise<Map<string, TaggedImage>> {
  const found = new Map<string, TaggedImage>();
  for (const batch of chunk([...new Set(tags)], 100)) {
    let response: BatchGetImageCommandOutput;
    try {
      response = await ecr.send(
        new BatchGetImageCommand({ repositoryName: repository, imageIds: batch.map((imageTag) => ({ imageTag })), acceptedMediaTypes: MANIFEST_MEDIA_TYPES }),
      );
    } catch (error) {
      throw wrapAwsError('BatchGetImage', `repository ${repository}`, error);
    }
    for (const image of response.images ?? []) {
      const tag = image.imageId?.imageTag;
      if (tag && image.imageId?.imageDigest && image.imageManifest) {
        found.set(tag, { digest: image.imageId.imageDigest, manifest: image.imageManifest, mediaType: image.imageManifestMediaType });
      }
    }
  }
  return found;
}

export interface TagPlan {
  /** Tags to point at the image. */
  add: string[];
  /** Tags already on the image. */
  present: string[];
  /** Tags on another image that this step moves (mutable repositories only). */
  moved: string[];
}

/** What tagging `digest` with `wanted` would do; refuses up front when an immutable tag is on another image. */
export function planTags(options: { repository: string; digest: string; wanted: string[]; current: Map<string, TaggedImage>; immutable: boolean }): TagPlan {
  const plan: TagPlan = { add: [], present: [], moved: [] };
  const conflicts: string[] = [];
  for (const tag of new Set(options.wanted)) {
    const now = options.current.get(tag);
    if (now?.digest === options.digest) plan.present.push(tag);
    else if (now && options.immutable) conflicts.push(`${tag} (on ${now.digest})`);
    else {
      plan.add.push(tag);
      if (now) plan.moved.push(tag);
    }
  }
  if (conflicts.length > 0) {
    throw new ActionError(
      `Repository ${options.repository} has immutable tags, and ${conflicts.join(', ')} already ${conflicts.length === 1 ? 'names' : 'name'} another image than ${options.digest}. Nothing was pushed.`,
      'use tags that are new to the repository (for example a new version number), or remove the existing tag if it was a mistake.',
    );
  }
  return plan;
}

/** Points each tag at the image by putting its manifest again under that tag. */
export async function putTags(ecr: ECRClient, repository: string, image: TaggedImage, tags: string[]): Promise<void> {
  for (const tag of tags) {
    try {
      await ecr.send(
        new PutImageCommand({
          repositoryName: repository,
          imageManifest: image.manifest,
          imageManifestMediaType: image.mediaType,
          imageDigest: image.digest,
          imageTag: tag,
        }),
      );
    } catch (error) {
      const name = sdkErrorName(error);
      // A concurrent run tagged the same image already: the tag is where we want it.
      if (name === 'ImageAlreadyExistsException') continue;
      if (name === 'ImageTagAlreadyExistsException') {
        throw new ActionError(
          `Tag ${tag} in ${repository} was taken by another image while this step ran, and the repository's tags are immutable.`,
          'use a tag that is new to the repository.',
        );
      }
      throw wrapAwsError('PutImage', `${repository}:${tag}`, error);
    }
  }
}

/** The image's details as ECR reports them (size, every tag, push time, scan state). */
export async function describeImage(ecr: ECRClient, repository: string, digest: string): Promise<ImageDetail | undefined> {
  try {
    const response = await ecr.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }));
    return response.imageDetails?.[0];
  } catch (error) {
    throw wrapAwsError('DescribeImages', `${repository}@${digest}`, error);
  }
}
