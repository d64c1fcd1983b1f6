// teardown-env: inputs and their validation.

import { currentRepository, isProtected } from '../environment.ts';
import { InputError, type InputProblem } from '../errors.ts';
import {
  arn,
  boolean,
  choice,
  duration,
  ecsResource,
  environmentName,
  environmentPattern,
  list,
  optional,
  readInputs,
  repositoryName,
  repositorySelector,
  required,
  secret,
  withDefault,
} from '../inputs.ts';

export const teardownEnvInputs = {
  environment: optional(environmentName()),
  cluster: required(ecsResource('cluster')),
  'listener-arn': optional(arn('elasticloadbalancing', 'listener/app/', 'an ALB listener')),
  mode: withDefault('environment', choice(['environment', 'sweep'] as const)),
  'dry-run': withDefault('false', boolean()),
  'keep-logs': withDefault('false', boolean()),
  'delete-images': withDefault('false', boolean()),
  repository: optional(repositoryName()),
  'protected-environments': withDefault('prod,production,staging', list(environmentPattern())),
  'allow-protected': withDefault('false', boolean()),
  'github-token': optional(secret()),
  timeout: withDefault('10m', duration({ min: 30, max: 3 * 3600 })),
  repositories: optional(list(repositorySelector())),
};

export function readTeardownEnvConfig() {
  const config = readInputs(teardownEnvInputs);
  const problems: InputProblem[] = [];
  if (config.mode === 'environment' && !config.environment) {
    problems.push({
      input: 'environment',
      problem: 'is required when mode is environment.',
      fix: 'name the environment to tear down, such as pr-123, or set mode: sweep.',
    });
  }
  if (config.mode === 'sweep' && config.environment) {
    problems.push({
      input: 'environment',
      problem: 'is not used in sweep mode, which finds the stale environments itself.',
      fix: 'remove environment, or set mode: environment to tear down that one environment.',
    });
  }
  if (config.environment && !config.allowProtected && isProtected(config.environment, config.protectedEnvironments)) {
    problems.push({
      input: 'environment',
      problem: `"${config.environment}" is a protected environment (protected-environments: ${config.protectedEnvironments.join(', ')}).`,
      fix: 'set allow-protected: true if you really mean to delete it.',
    });
  }
  if (config.deleteImages && !config.repository) {
    problems.push({ input: 'repository', problem: 'is required with delete-images: true.', fix: 'name the ECR repository whose environment tags to delete.' });
  }
  if (config.repositories && config.mode !== 'sweep') {
    problems.push({
      input: 'repositories',
      problem: "is used only in sweep mode: one environment is always the running repository's own.",
      fix: 'remove repositories, or set mode: sweep.',
    });
  }
  if (problems.length > 0) throw new InputError(problems);
  // The GitHub repository, not the ECR one `repository` names.
  const githubRepository = currentRepository();
  return { ...config, githubRepository, repositories: config.repositories ?? [githubRepository] };
}
