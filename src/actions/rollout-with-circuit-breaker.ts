// rollout-with-circuit-breaker: its inputs, and the rollout: revision, deployments, watch, diagnosis.
import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import type { StartedDeployment } from '../ecs/deploy.ts';
import { hardeningFindings } from '../ecs/hardening.ts';
import { pruneRevisions } from '../ecs/prune.ts';
import { planRevisions, registerRevision } from '../ecs/revision.ts';
import { type DeploymentResult, type DeployTarget, deploy, type EngineContext, overallStatus } from '../ecs/rollout.ts';
import { environmentServices, requireServices } from '../ecs/services.ts';
import { revisionName } from '../ecs/task-definition.ts';
import type { DeploymentStatus } from '../ecs/watch-deployments.ts';
import { ActionError, InputError, type InputProblem } from '../errors.ts';
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
import { warning } from '../runner.ts';

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

export type RolloutConfig = ReturnType<typeof readRolloutConfig>;

export interface RolloutResult {
  taskDefinitionArn: string | undefined;
  status: DeploymentStatus | 'started';
  results: DeploymentResult[];
  started: StartedDeployment[];
}

/** Registers the revision, rolls every service to it and follows the deployments. */
export async function rollout(config: RolloutConfig, context: EngineContext & { region: string }): Promise<RolloutResult> {
  const { ecs, progress } = context;
  if (config.runBefore)
    throw new ActionError('Input "run-before" is not available yet in this version.', 'remove run-before and run the command as its own step for now.');

  progress.phase('Finding the services');
  const services = config.service
    ? await requireServices(ecs, config.cluster, config.service)
    : await environmentServices(ecs, config.cluster, config.environment ?? '');
  for (const service of services) progress.line(`${service.serviceName}: runs ${revisionName(service.taskDefinition)}, desired ${service.desiredCount}`);

  progress.phase('Preparing the revision');
  const planned = await planRevisions(ecs, services, { taskDefinition: config.taskDefinition, image: config.image, container: config.container });
  for (const revision of planned) {
    const names = revision.services.map((service) => service.serviceName).join(', ');
    progress.line(
      revision.registration
        ? `${names}: new revision of ${revision.registration.family} from ${revisionName(revision.origin)}`
        : `${names}: ${revisionName(revision.arn)}`,
    );
    checkHardening(revision.containers, config.hardening, progress);
  }

  if (config.dryRun) {
    progress.line('Dry run: nothing registered, no service changed.');
    for (const revision of planned) {
      const to = revision.arn ? revisionName(revision.arn) : `new revision of ${revision.registration?.family}`;
      for (const service of revision.services) progress.line(`would deploy ${service.serviceName}: ${revisionName(service.taskDefinition)} → ${to}`);
    }
    return { taskDefinitionArn: planned[0]?.arn, status: 'skipped', results: [], started: [] };
  }

  const targets: DeployTarget[] = [];
  for (const revision of planned) {
    const taskDefinitionArn = revision.arn ?? (await registerRevision(ecs, revision.registration as NonNullable<typeof revision.registration>));
    if (!revision.arn) progress.line(`Registered ${revisionName(taskDefinitionArn)}`);
    for (const service of revision.services) targets.push({ service, taskDefinitionArn, containers: revision.containers });
  }
  const taskDefinitionArn = targets[0]?.taskDefinitionArn;

  const { started, results } = await deploy(context, {
    cluster: config.cluster,
    targets,
    desiredCount: config.desiredCount,
    forceNewDeployment: config.forceNewDeployment,
    wait: config.wait,
    timeoutSeconds: config.timeout,
  });
  if (!results) return { taskDefinitionArn, status: 'started', results: [], started };

  const status = overallStatus(results.map((result) => result.status));
  if (status === 'successful' && config.keepRevisions !== undefined) {
    progress.phase(`Keeping the newest ${config.keepRevisions} revisions`);
    const families = new Set(targets.map((target) => target.taskDefinitionArn.split('/').pop()?.split(':')[0] ?? ''));
    for (const family of families) {
      const removed = await pruneRevisions(ecs, config.cluster, family, config.keepRevisions);
      progress.line(removed.length > 0 ? `Deregistered and deleted ${removed.map(revisionName).join(', ')}` : `${family}: nothing to remove`);
    }
  }
  return { taskDefinitionArn, status, results, started };
}

function checkHardening(containers: ContainerDefinition[], mode: RolloutConfig['hardening'], progress: EngineContext['progress']): void {
  if (mode === 'off') return;
  const findings = hardeningFindings(containers);
  if (findings.length === 0) {
    progress.line('Hardening check: no findings');
    return;
  }
  for (const finding of findings) warning(`${finding.container}: ${finding.field} ${finding.problem}`, 'Task definition hardening');
  if (mode === 'fail') {
    throw new ActionError(
      `The task definition has ${findings.length} hardening finding(s):\n${findings.map((f) => `${f.container} ${f.field}: ${f.problem}`).join('\n')}`,
      'fix the task definition, or set hardening: warn to deploy anyway.',
    );
  }
}
