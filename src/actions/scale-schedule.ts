// scale-schedule: inputs and their validation.
import { currentRepository } from '../environment.ts';
import {
  boolean,
  choice,
  duration,
  ecsResource,
  environmentPattern,
  integer,
  list,
  optional,
  readInputs,
  repositorySelector,
  required,
  secret,
  withDefault,
} from '../inputs.ts';

export const scaleScheduleInputs = {
  mode: required(choice(['sleep', 'wake'] as const)),
  cluster: required(ecsResource('cluster')),
  environments: required(list(environmentPattern())),
  exclude: optional(list(environmentPattern())),
  'protected-environments': withDefault('prod,production,staging', list(environmentPattern())),
  wait: withDefault('true', boolean()),
  timeout: withDefault('15m', duration({ min: 30, max: 6 * 3600 })),
  'dry-run': withDefault('false', boolean()),
  concurrency: withDefault('5', integer({ min: 1, max: 50 })),
  repositories: optional(list(repositorySelector())),
  'github-token': optional(secret()),
};

export function readScaleScheduleConfig() {
  const config = readInputs(scaleScheduleInputs);
  const repository = currentRepository();
  // A platform repository's nightly sleep names the repositories it acts for (or *); by default, its own.
  return { ...config, repository, repositories: config.repositories ?? [repository] };
}
