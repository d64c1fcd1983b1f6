// build-push-ecr: inputs and their validation.
import { inputError } from '../errors.ts';
import { boolean, choice, imageTag, keyValue, list, optional, readInputs, repositoryName, required, text, withDefault, workspacePath } from '../inputs.ts';

export const buildPushEcrInputs = {
  repository: required(repositoryName()),
  context: withDefault('.', workspacePath()),
  dockerfile: optional(workspacePath()),
  'build-args': optional(list(keyValue())),
  target: optional(text({ maxLength: 128, pattern: /^[A-Za-z0-9_.-]+$/, expected: 'a build stage name' })),
  platforms: withDefault(
    'linux/amd64',
    list(text({ pattern: /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/, expected: 'a platform such as linux/amd64 or linux/arm64' })),
  ),
  labels: optional(list(keyValue(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/))),
  tags: optional(list(imageTag(), { maxItems: 100 })),
  'source-tag': optional(imageTag()),
  builder: withDefault('auto', choice(['auto', 'docker', 'buildah'] as const)),
  'content-key': optional(list(workspacePath())),
  'tag-mutability': withDefault('MUTABLE', choice(['MUTABLE', 'IMMUTABLE'] as const)),
  'lifecycle-policy': optional(text({ maxLength: 30720 })),
  cache: withDefault('true', boolean()),
  push: withDefault('true', boolean()),
};

export function readBuildPushEcrConfig() {
  const config = readInputs(buildPushEcrInputs);
  if (config.sourceTag && !config.tags) {
    throw inputError(
      'tags',
      'is required with source-tag (promote adds these tags to the source image).',
      'list the tags to add, for example v1.2.3 and prod.',
    );
  }
  return config;
}
