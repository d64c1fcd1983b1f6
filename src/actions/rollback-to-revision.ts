// rollback-to-revision: inputs and their validation.
import { InputError, inputError } from '../errors.ts';
import { arn, boolean, duration, ecsName, environmentName, list, optional, type Parser, quote, readInputs, required, withDefault } from '../inputs.ts';

export type RollbackTarget =
  | { kind: 'previous' }
  | { kind: 'last-successful' }
  | { kind: 'revision'; revision: number }
  | { kind: 'arn'; taskDefinitionArn: string };

const taskDefinitionArn = arn('ecs', 'task-definition/', 'task definition');

function rollbackTarget(): Parser<RollbackTarget> {
  return (raw, context) => {
    if (raw === 'previous' || raw === 'last-successful') return { kind: raw };
    if (/^\d+$/.test(raw)) {
      const revision = Number(raw);
      if (revision >= 1 && revision <= 1_000_000) return { kind: 'revision', revision };
    }
    if (raw.startsWith('arn:')) return { kind: 'arn', taskDefinitionArn: taskDefinitionArn(raw, context) };
    throw inputError(
      context.input,
      `${quote(raw)} is not a rollback target.`,
      'use previous, last-successful, a revision number such as 42, or a task-definition ARN.',
    );
  };
}

export const rollbackInputs = {
  cluster: required(ecsName('cluster')),
  service: optional(list(ecsName('service'), { maxItems: 20 })),
  environment: optional(environmentName()),
  to: withDefault('previous', rollbackTarget()),
  wait: withDefault('true', boolean()),
  timeout: withDefault('15m', duration({ min: 30, max: 6 * 3600 })),
  'dry-run': withDefault('false', boolean()),
  'allow-family-change': withDefault('false', boolean()),
};

export function readRollbackConfig() {
  const config = readInputs(rollbackInputs);
  if (!config.service === !config.environment) {
    throw new InputError([
      {
        input: 'service',
        problem: 'give exactly one of service and environment.',
        fix: 'name the service(s) to roll back, or the environment whose service to roll back.',
      },
    ]);
  }
  return config;
}
