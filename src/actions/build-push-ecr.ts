// build-push-ecr: inputs, their validation, and what they resolve to (paths, tags, labels, content key).
import { existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { runUrl } from '../environment.ts';
import { InputError, type InputProblem } from '../errors.ts';
import { pullRequestOfEvent } from '../github.ts';
import { type BuildSettings, type ContentKey, commitKey, pathsKey } from '../image/content-key.ts';
import {
  boolean,
  choice,
  imageTag,
  keyValue,
  list,
  optional,
  quote,
  readInputs,
  repositoryName,
  required,
  text,
  withDefault,
  workspacePath,
} from '../inputs.ts';

export const buildPushEcrInputs = {
  repository: required(repositoryName()),
  context: withDefault('.', workspacePath()),
  dockerfile: optional(workspacePath()),
  'build-args': optional(list(keyValue())),
  target: optional(text({ maxLength: 128, pattern: /^[A-Za-z0-9_.-]+$/, expected: 'a build stage name' })),
  platforms: withDefault(
    'linux/amd64',
    list(text({ maxLength: 64, pattern: /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/, expected: 'a platform such as linux/amd64 or linux/arm64' })),
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
  'dry-run': withDefault('false', boolean()),
};

export type BuildPushEcrConfig = ReturnType<typeof readInputs<typeof buildPushEcrInputs>>;

/** What to build: resolved paths, the settings that decide the image, and the key naming it. */
export interface BuildSource {
  contextDir: string;
  dockerfile: string;
  settings: BuildSettings;
  contentKey: ContentKey;
}

/** A build (or a skip, when the image for the content key exists) or a promotion: two different requests. */
export type BuildPushSpec =
  | {
      kind: 'build';
      config: BuildPushEcrConfig;
      /** Every tag the image must carry at the end, the content key's tag included. */
      tags: string[];
      build: BuildSource;
    }
  | { kind: 'promote'; config: BuildPushEcrConfig; tags: string[]; sourceTag: string };

/** OCI labels naming where the image came from; the user's labels win on a clash. */
export function defaultLabels(env: NodeJS.ProcessEnv = process.env): [string, string][] {
  const labels: [string, string][] = [];
  if (env.GITHUB_REPOSITORY) labels.push(['org.opencontainers.image.source', `${env.GITHUB_SERVER_URL || 'https://github.com'}/${env.GITHUB_REPOSITORY}`]);
  if (env.GITHUB_SHA) labels.push(['org.opencontainers.image.revision', env.GITHUB_SHA]);
  const run = runUrl(env);
  if (run) labels.push(['org.opencontainers.image.url', run]);
  return labels;
}

/** Reads and checks every input, and resolves paths and tags, before any AWS call. */
export function readBuildPushEcrConfig(env: NodeJS.ProcessEnv = process.env): BuildPushSpec {
  const config = readInputs(buildPushEcrInputs);
  const problems: InputProblem[] = [];
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const sha = env.GITHUB_SHA?.toLowerCase();

  if (config.sourceTag && !config.tags) {
    problems.push({
      input: 'tags',
      problem: 'is required with source-tag (promote adds these tags to the source image).',
      fix: 'list the tags to add, for example v1.2.3 and prod.',
    });
  }
  if (config.lifecyclePolicy && config.lifecyclePolicy !== 'none') {
    const problem = lifecyclePolicyProblem(config.lifecyclePolicy);
    if (problem)
      problems.push({ input: 'lifecycle-policy', problem, fix: 'give ECR lifecycle policy JSON with a "rules" array, or none to keep the repository\'s own.' });
  }
  let tags = config.tags ?? [];
  if (!config.tags && !config.sourceTag) {
    if (sha) {
      const number = pullRequestOfEvent(env)?.number;
      tags = number === undefined ? [sha] : [sha, `pr-${number}`];
    } else if (config.push) {
      problems.push({ input: 'tags', problem: 'is empty, and there is no commit SHA (GITHUB_SHA) to tag with.', fix: 'list the tags to push.' });
    }
  }

  if (config.sourceTag) {
    if (problems.length > 0) throw new InputError(problems);
    return { kind: 'promote', config, tags, sourceTag: config.sourceTag };
  }
  const context = normalize(config.context);
  const contextDir = join(workspace, context);
  const dockerfile = normalize(
    config.dockerfile ??
      join(context, existsSync(join(contextDir, 'Containerfile')) && !existsSync(join(contextDir, 'Dockerfile')) ? 'Containerfile' : 'Dockerfile'),
  );
  if (!isDirectory(contextDir)) {
    problems.push({
      input: 'context',
      problem: `${quote(context)} is not a directory in the workspace.`,
      fix: 'give the build context relative to the repository root, and check out the repository first.',
    });
  } else if (!existsSync(join(workspace, dockerfile))) {
    problems.push({
      input: 'dockerfile',
      problem: `${quote(dockerfile)} does not exist in the workspace.`,
      fix: config.dockerfile ? 'give the Dockerfile path relative to the repository root.' : 'add a Dockerfile to the context, or set dockerfile.',
    });
  }
  if (!config.contentKey && !sha && config.push) {
    problems.push({
      input: 'content-key',
      problem: 'is empty, and there is no commit SHA (GITHUB_SHA) to key the build on.',
      fix: 'list the paths whose contents identify the build.',
    });
  }
  if (problems.length > 0) throw new InputError(problems);
  // The key covers the user's labels only: the default ones name the commit and run, which change every time.
  const labels = new Map([...defaultLabels(env), ...(config.labels ?? [])]);
  const settings: BuildSettings = {
    context,
    dockerfile,
    buildArgs: config.buildArgs ?? [],
    target: config.target,
    platforms: config.platforms,
    labels: config.labels ?? [],
  };
  const contentKey = config.contentKey ? pathsKey(workspace, config.contentKey, settings) : commitKey(sha ?? 'local', settings);
  const build = { contextDir, dockerfile: join(workspace, dockerfile), settings: { ...settings, labels: [...labels] }, contentKey };
  return { kind: 'build', config, tags: tags.includes(contentKey.tag) ? tags : [...tags, contentKey.tag], build };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function lifecyclePolicyProblem(policy: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch (error) {
    return `is not JSON (${(error as Error).message}).`;
  }
  const rules = (parsed as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules) || rules.length === 0) return 'has no "rules" array.';
  // The shape ECR checks, so a bad rule fails here rather than after the repository is created.
  const priorities = new Set<unknown>();
  for (const [index, rule] of rules.entries()) {
    const { rulePriority, selection, action } = (rule ?? {}) as { rulePriority?: unknown; selection?: Record<string, unknown>; action?: { type?: unknown } };
    const ok =
      Number.isInteger(rulePriority) &&
      (rulePriority as number) >= 1 &&
      !priorities.has(rulePriority) &&
      ['tagged', 'untagged', 'any'].includes(selection?.tagStatus as string) &&
      ['imageCountMoreThan', 'sinceImagePushed'].includes(selection?.countType as string) &&
      Number.isInteger(selection?.countNumber) &&
      (selection?.countNumber as number) >= 1 &&
      action?.type === 'expire';
    if (!ok)
      return `rule ${index + 1} is not an ECR lifecycle rule (a unique rulePriority from 1, selection with tagStatus, countType and countNumber, action type expire).`;
    priorities.add(rulePriority);
  }
  return undefined;
}
