// rollout-with-circuit-breaker: its inputs, and the rollout: revision, deployments, watch, diagnosis.
import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import type { StartedDeployment } from '../ecs/deploy.ts';
import { type ShellTarget, shellTarget } from '../ecs/execute-command.ts';
import { hardeningFindings } from '../ecs/hardening.ts';
import { runOneOff } from '../ecs/one-off.ts';
import { pruneRevisions } from '../ecs/prune.ts';
import { type ImageChange, planRevisions, registerRevision } from '../ecs/revision.ts';
import { type DeploymentResult, type DeployTarget, deploy, type EngineContext, isFailure, overallStatus } from '../ecs/rollout.ts';
import { environmentServices, requireServices } from '../ecs/services.ts';
import { deploymentConfiguration, describeStrategy, type StrategyRequest, strategies, strategyProblems } from '../ecs/strategy.ts';
import { type ContainerImage, familyOf, revisionName, targetContainer } from '../ecs/task-definition.ts';
import type { DeploymentStatus } from '../ecs/watch-deployments.ts';
import { currentRepository } from '../environment.ts';
import { ActionError, InputError, type InputProblem, inputError } from '../errors.ts';
import {
  arn,
  boolean,
  choice,
  duration,
  ecsName,
  ecsResource,
  environmentName,
  imageReference,
  integer,
  list,
  optional,
  type Parser,
  percent,
  quote,
  readInputs,
  required,
  runnerFile,
  secret,
  text,
  wholeMinutes,
  withDefault,
} from '../inputs.ts';
import { warning } from '../runner.ts';

export const rolloutInputs = {
  cluster: required(ecsResource('cluster')),
  service: optional(list(ecsResource('service'), { maxItems: 20 })),
  environment: optional(environmentName()),
  'task-definition': optional(taskDefinitionSource()),
  image: optional(imageReference()),
  container: optional(ecsName('container')),
  images: optional(list(containerImage(), { maxItems: 10 })),
  'enable-execute-command': optional(boolean()),
  wait: withDefault('true', boolean()),
  timeout: withDefault('15m', duration({ min: 30, max: 6 * 3600 })),
  'desired-count': optional(integer({ min: 0, max: 5000 })),
  'force-new-deployment': withDefault('false', boolean()),
  'keep-revisions': optional(integer({ min: 1, max: 1000 })),
  hardening: withDefault('warn', choice(['off', 'warn', 'fail'] as const)),
  'dry-run': withDefault('false', boolean()),
  'run-before': optional(command()),
  'on-failure': withDefault('rollback-failed', choice(['rollback-failed', 'rollback-all'] as const)),
  'github-token': optional(secret()),
  strategy: optional(choice(strategies)),
  'bake-time': optional(wholeMinutes({ max: 1440 })),
  'canary-percent': optional(percent({ min: 0.1, max: 100 })),
  'canary-interval': optional(wholeMinutes({ max: 1440 })),
  'linear-step-percent': optional(percent({ min: 3, max: 100 })),
  'linear-interval': optional(wholeMinutes({ max: 1440 })),
  alarms: optional(
    list(text({ maxLength: 255, pattern: /^[^\p{Cc}]+$/u, expected: 'CloudWatch alarm names (up to 255 characters, no control characters)' }), {
      maxItems: 10,
    }),
  ),
};

/** A task-definition ARN, or a JSON file in the workspace or RUNNER_TEMP. */
function taskDefinitionSource(): Parser<string> {
  const byArn = arn('ecs', 'task-definition/', 'a task definition');
  const byPath = runnerFile();
  return (raw, context) => (raw.startsWith('arn:') ? byArn(raw, context) : byPath(raw, context));
}

/** container=image: the image one container of the revision gets. */
function containerImage(): Parser<ContainerImage> {
  const name = ecsName('container');
  const image = imageReference();
  return (raw, context) => {
    const at = raw.indexOf('=');
    if (at <= 0) {
      throw inputError(context.input, `${quote(raw)} is not a container=image pair.`, 'write one container=image a line, such as app=web:v2.');
    }
    return { container: name(raw.slice(0, at).trim(), context), image: image(raw.slice(at + 1).trim(), context) };
  };
}

/**
 * A command for the one-off task: a JSON array (["npm", "run", "migrate"]) or words split on spaces,
 * with '…' or "…" grouping. It runs without a shell, so distroless images work too.
 */
function command(): Parser<string[]> {
  return (raw, { input }) => {
    // RunTask takes at most 8192 characters of overrides.
    if (raw.length > 8192) throw inputError(input, `is ${raw.length} characters long; ECS takes at most 8192.`, 'run a script from the image instead.');
    if (raw.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw inputError(input, 'starts with [ but is not a JSON array.', 'write ["npm", "run", "migrate"], or the plain command npm run migrate.');
      }
      if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((word) => typeof word === 'string')) {
        throw inputError(input, 'must be a non-empty JSON array of strings.', 'write ["npm", "run", "migrate"].');
      }
      return parsed;
    }
    const words = [...raw.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2] ?? match[3] ?? '');
    if ((raw.match(/"/g)?.length ?? 0) % 2 !== 0 || (raw.match(/'/g)?.length ?? 0) % 2 !== 0) {
      throw inputError(input, 'has an unclosed quote.', 'close the quote, or write the command as a JSON array.');
    }
    return words;
  };
}

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
  if (config.images && (config.image || config.container)) {
    const shorthand = [config.image && 'image', config.container && 'container'].filter(Boolean).join(' and ');
    problems.push({
      input: 'images',
      problem: `cannot be combined with ${shorthand}: image and container are the one-container form of images.`,
      fix: 'give every container=image pair in images, or one image (and container) without images.',
    });
  }
  const twice = (config.images ?? []).map((pair) => pair.container).filter((container, at, all) => all.indexOf(container) !== at);
  if (twice.length > 0) {
    problems.push({
      input: 'images',
      problem: `names container ${[...new Set(twice)].map((container) => `"${container}"`).join(', ')} more than once.`,
      fix: 'give each container one image.',
    });
  }
  if ((config.image || config.images) && config.taskDefinition) {
    problems.push({
      input: config.image ? 'image' : 'images',
      problem: 'cannot be combined with task-definition.',
      fix: 'give images to change the current revision, or task-definition for a complete one.',
    });
  }
  // enable-execute-command alone restarts the tasks on their revision, so that the change reaches them.
  if (!config.image && !config.images && !config.taskDefinition && !config.forceNewDeployment && config.enableExecuteCommand === undefined) {
    problems.push({
      input: 'image',
      problem: 'nothing to roll out: no image, images, task-definition, enable-execute-command or force-new-deployment.',
      fix: 'give image, images or task-definition, or set force-new-deployment: true to restart on the current revision.',
    });
  }
  if (config.runBefore && !config.wait) {
    problems.push({
      input: 'run-before',
      problem: 'needs wait: true (the rollout waits for the one-off task first).',
      fix: 'remove run-before or set wait: true.',
    });
  }
  if (config.onFailure === 'rollback-all' && !config.wait) {
    problems.push({
      input: 'on-failure',
      problem: 'rollback-all needs wait: true (the rollout must see a failure to undo the others).',
      fix: 'set wait: true, or on-failure: rollback-failed.',
    });
  }
  if (config.container && !config.image && !config.images) {
    problems.push({ input: 'container', problem: 'only applies with image.', fix: 'remove container, or give the image it should run.' });
  }
  if (config.alarms && !config.wait) {
    problems.push({ input: 'alarms', problem: 'needs wait: true to report an alarm that fails the deployment.', fix: 'set wait: true, or remove alarms.' });
  }
  if (problems.length > 0) throw new InputError(problems);
  // image and container are the one-container form of images.
  const images = config.images ?? (config.image ? [{ container: config.container, image: config.image }] : undefined);
  return { ...config, images, imagesInput: config.images ? 'images' : 'container', repository: currentRepository() };
}

/** The deployment settings the step asks for; each left out keeps the service's. */
export function strategyRequest(config: RolloutConfig): StrategyRequest {
  return {
    strategy: config.strategy,
    bakeMinutes: config.bakeTime,
    canaryPercent: config.canaryPercent,
    canaryIntervalMinutes: config.canaryInterval,
    linearStepPercent: config.linearStepPercent,
    linearIntervalMinutes: config.linearInterval,
    alarms: config.alarms,
  };
}

export type RolloutConfig = ReturnType<typeof readRolloutConfig>;

export interface RolloutResult {
  taskDefinitionArn: string | undefined;
  status: DeploymentStatus | 'started';
  results: DeploymentResult[];
  started: StartedDeployment[];
  /** With on-failure: rollback-all, the services this run moved and then put back. */
  reverted: DeploymentResult[];
  /** Each service's containers with the image they ran and the one the new revision gives them. */
  images: ImageChange[];
  /** With ECS Exec on, a running task of each service deployed, to open a shell in. */
  shells: ShellTarget[];
}

/** Registers the revision, rolls every service to it and follows the deployments. */
export async function rollout(config: RolloutConfig, context: EngineContext): Promise<RolloutResult> {
  const { ecs, progress } = context;
  progress.phase('Finding the services');
  const services = config.service
    ? await requireServices(ecs, config.cluster, config.service, config.repository)
    : await environmentServices(ecs, { repository: config.repository, cluster: config.cluster, environment: config.environment ?? '' });
  for (const service of services) progress.line(`${service.serviceName}: runs ${revisionName(service.taskDefinition)}, desired ${service.desiredCount}`);
  const strategy = strategyRequest(config);
  const unfit = services.flatMap((service) => strategyProblems(service, strategy, config.wait ? config.timeout : undefined));
  if (unfit.length > 0) throw new InputError(unfit);

  progress.phase('Preparing the revision');
  const planned = await planRevisions(ecs, services, { taskDefinition: config.taskDefinition, images: config.images, imagesInput: config.imagesInput });
  for (const revision of planned) {
    const names = revision.services.map((service) => service.serviceName).join(', ');
    progress.line(
      revision.registration
        ? `${names}: new revision of ${revision.registration.family} from ${revisionName(revision.origin)}`
        : `${names}: ${revisionName(revision.arn)}`,
    );
    for (const change of revision.images.filter((image) => image.from !== image.to)) {
      progress.line(`  ${change.service}: container ${change.container} ${change.from ?? '(new)'} → ${change.to ?? '(removed)'}`);
    }
    checkHardening(revision.containers, config.hardening, progress);
  }
  const images = planned.flatMap((revision) => revision.images);

  if (config.dryRun) {
    progress.line('Dry run: nothing registered, no service changed.');
    for (const revision of planned) {
      const to = revision.arn ? revisionName(revision.arn) : `new revision of ${revision.registration?.family}`;
      for (const service of revision.services) {
        progress.line(
          `would deploy ${service.serviceName}: ${revisionName(service.taskDefinition)} → ${to}, ${describeStrategy(deploymentConfiguration(service, strategy))}`,
        );
      }
    }
    return { taskDefinitionArn: planned[0]?.arn, status: 'skipped', results: [], started: [], reverted: [], images, shells: [] };
  }

  const targets: DeployTarget[] = [];
  for (const revision of planned) {
    const taskDefinitionArn = revision.arn ?? (await registerRevision(ecs, revision.registration as NonNullable<typeof revision.registration>));
    if (!revision.arn) progress.line(`Registered ${revisionName(taskDefinitionArn)}`);
    for (const service of revision.services) targets.push({ service, taskDefinitionArn, containers: revision.containers });
  }
  const taskDefinitionArn = targets[0]?.taskDefinitionArn;

  const first = targets[0];
  if (config.runBefore && first) {
    progress.phase('Running the run-before command');
    const container = targetContainer(first.containers, config.container);
    const result = await runOneOff(context, {
      cluster: config.cluster,
      taskDefinitionArn: first.taskDefinitionArn,
      service: first.service,
      container,
      command: config.runBefore,
      timeoutSeconds: config.timeout,
    });
    if (result.exitCode !== 0) {
      const why = result.exitCode === undefined ? (result.task.stoppedReason ?? 'it did not start') : `exit code ${result.exitCode}`;
      const tail = result.logLines
        .slice(-20)
        .map((line) => `  | ${line}`)
        .join('\n');
      throw new ActionError(
        `The run-before command failed (${why}); no service was changed.${tail ? `\nIts last log lines:\n${tail}` : ''}`,
        'fix the command or what it needs (its log is above), then run the rollout again.',
      );
    }
    progress.line('run-before: exited 0');
  }

  const { started, results } = await deploy(context, {
    cluster: config.cluster,
    targets,
    desiredCount: config.desiredCount,
    forceNewDeployment: config.forceNewDeployment,
    enableExecuteCommand: config.enableExecuteCommand,
    strategy,
    wait: config.wait,
    timeoutSeconds: config.timeout,
  });
  if (!results) return { taskDefinitionArn, status: 'started', results: [], started, reverted: [], images, shells: [] };

  const status = overallStatus(results.map((result) => result.status));
  if (isFailure(status) && config.onFailure === 'rollback-all') {
    const reverted = await revertMoved(context, config, results, targets);
    return { taskDefinitionArn, status, results, started, reverted, images, shells: [] };
  }
  const shells = status === 'successful' ? await shellTargets(context, config, targets) : [];
  if (status === 'successful' && config.keepRevisions !== undefined) {
    progress.phase(`Keeping the newest ${config.keepRevisions} revisions`);
    const families = new Set(targets.map((target) => familyOf(target.taskDefinitionArn)));
    for (const family of families) {
      const removed = await pruneRevisions(ecs, config.cluster, family, config.keepRevisions);
      progress.line(removed.length > 0 ? `Deregistered and deleted ${removed.map(revisionName).join(', ')}` : `${family}: nothing to remove`);
    }
  }
  return { taskDefinitionArn, status, results, started, reverted: [], images, shells };
}

/** For each service with ECS Exec on (this run's setting, else its own), a running task of the new revision to open a shell in. */
async function shellTargets(context: EngineContext, config: RolloutConfig, targets: DeployTarget[]): Promise<ShellTarget[]> {
  const found = await Promise.all(
    targets
      .filter((target) => config.enableExecuteCommand ?? target.service.enableExecuteCommand)
      .map((target) =>
        shellTarget(context.ecs, {
          cluster: config.cluster,
          service: target.service.serviceName ?? '',
          taskDefinitionArn: target.taskDefinitionArn,
          container: targetContainer(target.containers, config.images?.[0]?.container).name ?? '',
        }),
      ),
  );
  return found.filter((target) => target !== undefined);
}

/**
 * on-failure: rollback-all. The services of this run that moved to the new revision go back to the one
 * they ran before, as one release: the failed ones ECS's circuit breaker has put back already.
 */
async function revertMoved(context: EngineContext, config: RolloutConfig, results: DeploymentResult[], targets: DeployTarget[]): Promise<DeploymentResult[]> {
  const moved = results.filter((result) => result.status === 'successful' && !result.unchanged && result.previousTaskDefinitionArn);
  if (moved.length === 0) return [];
  const failedNames = results.filter((result) => isFailure(result.status)).map((result) => result.serviceName);
  context.progress.phase(
    `Rolling back ${moved.map((result) => result.serviceName).join(', ')} (on-failure: rollback-all, because ${failedNames.join(', ')} failed)`,
  );
  const back = await deploy(context, {
    cluster: config.cluster,
    targets: moved.map((result) => {
      const target = targets.find((candidate) => candidate.service.serviceName === result.serviceName) as DeployTarget;
      return { ...target, taskDefinitionArn: result.previousTaskDefinitionArn };
    }),
    forceNewDeployment: false,
    wait: true,
    timeoutSeconds: config.timeout,
  });
  return back.results ?? [];
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
