// rollback-to-revision: its inputs, and which revision each service goes back to.
import { type ContainerDefinition, DescribeTaskDefinitionCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import { sdkErrorName, wrapAwsError } from '../aws.ts';
import { familyRevisions, previousIn, successfulRevisions } from '../ecs/history.ts';
import { familyOf, revisionName } from '../ecs/task-definition.ts';
import { currentRepository } from '../environment.ts';
import { ActionError, InputError, inputError } from '../errors.ts';
import {
  arn,
  boolean,
  duration,
  ecsResource,
  environmentName,
  list,
  optional,
  type Parser,
  quote,
  readInputs,
  required,
  secret,
  withDefault,
} from '../inputs.ts';

export type RollbackTarget =
  | { kind: 'previous' }
  | { kind: 'last-successful' }
  | { kind: 'revision'; revision: number }
  | { kind: 'arn'; taskDefinitionArn: string };

const taskDefinitionArn = arn('ecs', 'task-definition/', 'a task definition');

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
  cluster: required(ecsResource('cluster')),
  service: optional(list(ecsResource('service'), { maxItems: 20 })),
  environment: optional(environmentName()),
  to: withDefault('previous', rollbackTarget()),
  wait: withDefault('true', boolean()),
  timeout: withDefault('15m', duration({ min: 30, max: 6 * 3600 })),
  'dry-run': withDefault('false', boolean()),
  'allow-family-change': withDefault('false', boolean()),
  'github-token': optional(secret()),
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
  return { ...config, repository: currentRepository() };
}

export type RollbackConfig = ReturnType<typeof readRollbackConfig>;

export interface RollbackPlan {
  service: Service;
  from: string;
  to: string;
  /** The target revision's containers, for finding their logs if it fails too. */
  containers: ContainerDefinition[];
}

/** The revision each service goes back to; refuses a target in another family before anything changes. */
export async function planRollback(ecs: ECSClient, config: RollbackConfig, services: Service[]): Promise<RollbackPlan[]> {
  return Promise.all(
    services.map(async (service) => {
      const name = service.serviceName ?? '';
      const from = service.taskDefinition ?? '';
      const family = familyOf(from);
      let to: string | undefined;
      switch (config.to.kind) {
        case 'arn':
          to = config.to.taskDefinitionArn;
          break;
        case 'revision':
          to = `${from.slice(0, from.lastIndexOf(':'))}:${config.to.revision}`;
          break;
        case 'previous': {
          const history = await successfulRevisions(ecs, config.cluster, name);
          to = history ? previousIn(history, from) : (await familyRevisions(ecs, family)).find((arn) => revisionNumber(arn) < revisionNumber(from));
          if (!to)
            throw new ActionError(
              `Service ${name} has no earlier revision to go back to (it runs ${revisionName(from)}).`,
              'give a revision number or ARN with to.',
            );
          break;
        }
        case 'last-successful': {
          const history = await successfulRevisions(ecs, config.cluster, name);
          if (!history) {
            throw new ActionError(
              'last-successful needs the ECS service deployments API (ecs:ListServiceDeployments), which is not available here.',
              'use to: previous or a revision number.',
            );
          }
          to = history[0];
          if (!to) throw new ActionError(`Service ${name} has no successful deployment on record.`, 'give a revision number or ARN with to.');
          break;
        }
      }
      const target = await describeRevision(ecs, to);
      if (familyOf(target.arn) !== family && !config.allowFamilyChange) {
        throw inputError(
          'to',
          `${revisionName(target.arn)} is in family ${familyOf(target.arn)}, but service ${name} runs family ${family}.`,
          'pick a revision of the same family, or set allow-family-change: true if you mean it.',
        );
      }
      return { service, from, to: target.arn, containers: target.containers };
    }),
  );
}

/** The full ARN of an ACTIVE revision; an INACTIVE one cannot be deployed, so it is refused here. */
async function describeRevision(ecs: ECSClient, taskDefinition: string): Promise<{ arn: string; containers: ContainerDefinition[] }> {
  try {
    const response = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
    const definition = response.taskDefinition;
    if (definition?.status !== 'ACTIVE') {
      throw new ActionError(
        `${revisionName(taskDefinition)} is ${definition?.status ?? 'unknown'}; ECS cannot deploy an inactive revision.`,
        'pick an ACTIVE revision.',
      );
    }
    return { arn: definition.taskDefinitionArn ?? taskDefinition, containers: definition.containerDefinitions ?? [] };
  } catch (error) {
    if (sdkErrorName(error) === 'ClientException') {
      throw inputError('to', `revision ${revisionName(taskDefinition)} does not exist.`, 'pick an existing revision (ListTaskDefinitions shows them).');
    }
    throw wrapAwsError('DescribeTaskDefinition', taskDefinition, error);
  }
}

function revisionNumber(taskDefinitionArn: string): number {
  return Number(taskDefinitionArn.split(':').pop());
}
