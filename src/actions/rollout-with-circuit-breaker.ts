// rollout-with-circuit-breaker: inputs and their validation.
import { InputError, type InputProblem } from '../errors.ts';
import {
  boolean,
  choice,
  duration,
  ecsName,
  environmentName,
  imageReference,
  integer,
  list,
  optional,
  readInputs,
  required,
  text,
  withDefault,
} from '../inputs.ts';

export const rolloutInputs = {
  cluster: required(ecsName('cluster')),
  service: optional(list(ecsName('service'), { maxItems: 20 })),
  environment: optional(environmentName()),
  'task-definition': optional(text({ maxLength: 1600 })),
  image: optional(imageReference()),
  container: optional(ecsName('container')),
  wait: withDefault('true', boolean()),
  timeout: withDefault('15m', duration({ min: 30, max: 6 * 3600 })),
  'desired-count': optional(integer({ min: 0, max: 5000 })),
  'force-new-deployment': withDefault('false', boolean()),
  'keep-revisions': optional(integer({ min: 1, max: 1000 })),
  hardening: withDefault('warn', choice(['off', 'warn', 'fail'] as const)),
  'dry-run': withDefault('false', boolean()),
  'run-before': optional(text({ maxLength: 8192 })),
};

export function readRolloutConfig() {
  const config = readInputs(rolloutInputs);
  const problems: InputProblem[] = [];
  if (!config.service === !config.environment) {
    problems.push({
      input: 'service',
      problem: 'give exactly one of service and environment.',
      fix: 'name the service(s) to roll, or the environment whose service to roll.',
    });
  }
  if (config.image && config.taskDefinition) {
    problems.push({
      input: 'image',
      problem: 'cannot be combined with task-definition.',
      fix: 'give image to change the current revision, or task-definition for a complete one.',
    });
  }
  if (!config.image && !config.taskDefinition && !config.forceNewDeployment) {
    problems.push({
      input: 'image',
      problem: 'nothing to roll out: no image, task-definition or force-new-deployment.',
      fix: 'give image or task-definition, or set force-new-deployment: true to restart on the current revision.',
    });
  }
  if (config.container && !config.image) {
    problems.push({ input: 'container', problem: 'only applies with image.', fix: 'remove container, or give the image it should run.' });
  }
  if (problems.length > 0) throw new InputError(problems);
  return config;
}
