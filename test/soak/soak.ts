// The seeded soak: many runs of the committed bundles against one emulator, environments in parallel,
// under throttling, 5xx and dropped connections, with runs killed and re-run, then checked against a
// model of what each environment's last successful run left. Shared by `npm run soak` and its test.
//
// How a step (one planned run) is judged:
// - it ends when an attempt exits 0, or, with a crashing image, fails saying ECS rolled the deployment
//   back (expected: the model keeps the revision before);
// - an attempt killed as planned is re-run, as a user re-runs a cancelled job, until the step ends;
// - a failure the injected faults explain (throttling, 5xx, a dropped connection, after the SDK's own
//   retries) is allowed when a re-run then ends the step, within 3 re-runs;
// - any other failure, a hang, or a step that does not end is a violation (and re-run all the same);
// - once it ends, its environment must match the model, and be at steady state when the action waits for it.
// At the end: nothing left of torn-down environments, every resource made before the soak unchanged,
// and every other environment settled as the model says.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateClusterCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateRuleCommand, CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CallRecord } from '../../emulator/core/types.ts';
import { autoScaling, settled } from '../helpers/environments.ts';
import { provisioned } from '../helpers/provisioned.ts';
import type { BundleRun } from '../helpers/run-bundle.ts';
import { SECURITY_GROUP, SUBNETS, seedService, sharedListener, startWorld, type World } from '../helpers/world.ts';
import { ACTION_OF, deriveSeed, makePlan, type Plan, planCounts, type Step } from './plan.ts';
import { type Dump, differences, ownerOf, type Resource, resources } from './state.ts';

export const CLUSTER = 'previews';
/** Where the soak's own environments live: every bundle run is from repository acme/web. */
const SOAK = { cluster: CLUSTER, repository: 'acme/web' };
const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole';
/** A run not planned to be killed that takes this long is hung: it is killed and counted as a violation. */
const HANG_MS = 240_000;
/** Re-runs of a step after failures that are not kills, as a user gives up after a few. */
const MAX_RERUNS_AFTER_FAILURE = 3;
/** The error codes the call log records for injected faults (each protocol names throttling its own way). */
const INJECTED: Record<string, string> = {
  ThrottlingException: 'throttling',
  Throttling: 'throttling',
  RequestLimitExceeded: 'throttling',
  InternalFailure: '5xx',
  InternalError: '5xx',
  drop: 'dropped connection',
};
/** Failures the injected faults explain: allowed when a re-run of the step then completes. */
const FAULT_REASONS = new Set(['throttling', '5xx', 'dropped connection']);

export interface SoakOptions {
  runs: number;
  seed: number;
  environments?: number;
  /** Emulated seconds per wall second, for the emulator and the actions alike. */
  timeScale?: number;
  /** Kill delays, wall milliseconds (see makePlan). */
  killDelayMs?: [number, number];
  /** Progress, one line per completed run. */
  log?: (line: string) => void;
  /** Where to keep every attempt's log (stdout and stderr), to read what a violation came from. */
  logDir?: string;
}

/** What an environment's last successful run should have left. */
interface Expected {
  present: boolean;
  asleep: boolean;
  image: string;
  /** Desired count when awake. */
  desired: number;
  revision: string;
}

export interface SoakReport {
  plan: Plan;
  timeScale: number;
  seconds: number;
  runs: number;
  attempts: number;
  kills: number;
  reruns: number;
  calls: number;
  faults: Record<string, number>;
  failures: Record<string, number>;
  orphans: string[];
  foreignSeeded: number;
  foreignDeleted: string[];
  foreignChanged: string[];
  /** Environments present at the end, and how many of those match the model. */
  present: number;
  matching: number;
  violations: string[];
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const timeScale = options.timeScale ?? 50;
  const plan = makePlan({ runs: options.runs, seed: options.seed, environments: options.environments ?? 5, killDelayMs: options.killDelayMs });
  const log = options.log ?? (() => {});
  const report: SoakReport = {
    plan,
    timeScale,
    seconds: 0,
    runs: 0,
    attempts: 0,
    kills: 0,
    reruns: 0,
    calls: 0,
    faults: {},
    failures: {},
    orphans: [],
    foreignSeeded: 0,
    foreignDeleted: [],
    foreignChanged: [],
    present: 0,
    matching: 0,
    violations: [],
  };
  if (options.logDir) mkdirSync(options.logDir, { recursive: true });
  const world = await startWorld({ timeScale });
  // The call log (GET /_emulator/calls) keeps only its newest 20,000 calls: count each as it is recorded.
  const context = world.emulator.context;
  const recordCall = context.recordCall.bind(context);
  context.recordCall = (call: CallRecord) => {
    report.calls++;
    const fault = INJECTED[call.error ?? ''];
    if (fault) count(report.faults, fault);
    recordCall(call);
  };
  try {
    const { listenerArn } = await seedForeign(world, plan.environments);
    const dump = () => world.control<Dump>('/_emulator/state');
    const before = resources(await dump());
    report.foreignSeeded = before.length;

    for (const image of plan.crashImages) await world.control('/_emulator/behaviours', { image, kind: 'crash', exitCode: 1, logLines: ['Error: boom'] });
    await world.control('/_emulator/faults', { service: '*', error: 'ThrottlingException', rate: 0.3, seed: deriveSeed(plan.seed, 'throttling') });
    await world.control('/_emulator/faults', { service: '*', error: 'InternalFailure', rate: 0.05, seed: deriveSeed(plan.seed, '5xx') });
    await world.control('/_emulator/faults', { service: '*', error: 'drop', rate: 0.01, seed: deriveSeed(plan.seed, 'drop') });

    const expected = new Map<string, Expected>(
      plan.environments.map((environment) => [environment, { present: false, asleep: false, image: '', desired: 0, revision: '' }]),
    );
    const violation = (text: string) => {
      report.violations.push(text);
      log(`VIOLATION ${text}`);
    };

    const runStep = async (step: Step) => {
      const model = expected.get(step.environment) as Expected;
      const inputs = inputsOf(step, listenerArn);
      const action = ACTION_OF[step.kind];
      let failures = 0;
      for (let attempt = 0; ; attempt++) {
        const killAt = step.kills[attempt];
        const t0 = Date.now();
        const run = await world.run(action, { inputs, timeoutMs: killAt ?? HANG_MS });
        report.attempts++;
        if (attempt > 0) report.reruns++;
        const outcome = classify(step, run);
        if (options.logDir) {
          writeFileSync(
            join(options.logDir, `${String(step.id).padStart(4, '0')}-${step.environment}-${step.kind}-${attempt + 1}.log`),
            `${run.stdout}\n--- stderr\n${run.stderr}`,
          );
        }
        const seconds = ((Date.now() - t0) / 1000).toFixed(1);
        const label = `[${String(step.id).padStart(4)}/${plan.steps.length}] ${step.environment} ${step.kind}${step.image ? ` ${step.image}` : ''}`;
        log(`${label}: ${outcome}${attempt > 0 ? ` (attempt ${attempt + 1})` : ''}, ${seconds} s`);
        if (outcome === 'killed') {
          if (killAt !== undefined) {
            report.kills++;
            count(report.failures, 'killed (planned)');
            continue;
          }
          violation(`step ${step.id} (${step.environment} ${step.kind}) hung for ${HANG_MS / 1000} s and was killed`);
        } else if (outcome === 'success' || outcome === 'rolled-back') {
          if (outcome === 'rolled-back') count(report.failures, 'rolled back (crashing image, expected)');
          if (outcome !== (step.expect === 'success' ? 'success' : 'rolled-back')) {
            violation(`step ${step.id} (${step.environment} ${step.kind}) ended ${outcome}, expected ${step.expect}`);
          }
          // A run that waits for steady state and succeeds must leave the service steady, re-run or not;
          // a wake only where there was something to wake.
          const steady = outcome === 'success' && (step.kind === 'provision' || step.kind === 'rollout' || (step.kind === 'wake' && model.asleep));
          apply(model, step, run);
          const problems = checkEnvironment(resources(await dump()), step.environment, model, steady);
          for (const problem of problems) violation(`after step ${step.id} (${step.environment} ${step.kind}): ${problem}`);
          if (problems.length > 0) resync(model, resources(await dump()), step.environment);
          return;
        } else {
          count(report.failures, outcome);
          if (!FAULT_REASONS.has(outcome)) violation(`step ${step.id} (${step.environment} ${step.kind}) failed: ${outcome}`);
        }
        if (++failures > MAX_RERUNS_AFTER_FAILURE) {
          violation(`step ${step.id} (${step.environment} ${step.kind}) never completed in ${attempt + 1} attempts`);
          return;
        }
      }
    };
    await Promise.all(
      plan.environments.map(async (environment) => {
        for (const step of plan.steps.filter((candidate) => candidate.environment === environment)) {
          await runStep(step);
          report.runs++;
        }
      }),
    );

    await world.control('/_emulator/faults', undefined, 'DELETE');
    // Deployments a killed run left going finish on their own: wait for them before judging.
    const present = plan.environments.filter((environment) => expected.get(environment)?.present);
    await settled(world, CLUSTER, present, 120_000).catch(() => log('some services did not settle within 120 s'));
    const after = resources(await dump());
    for (const environment of plan.environments) {
      const model = expected.get(environment) as Expected;
      const problems = checkEnvironment(after, environment, model, true);
      if (model.present) report.present++;
      if (model.present && problems.length === 0) report.matching++;
      for (const problem of problems) {
        if (!model.present) report.orphans.push(problem);
        violation(`at the end: ${problem}`);
      }
    }
    for (const resource of before) {
      const now = after.find((candidate) => candidate.kind === resource.kind && candidate.id === resource.id);
      if (resource.live && !now?.live) {
        report.foreignDeleted.push(`${resource.kind} ${resource.id}`);
        violation(`foreign ${resource.kind} ${resource.id} was deleted`);
      } else if (now && now.projection !== resource.projection) {
        report.foreignChanged.push(`${resource.kind} ${resource.id}`);
        violation(`foreign ${resource.kind} ${resource.id} changed: ${differences(resource.projection, now.projection).join(', ')}`);
      }
    }
  } finally {
    report.seconds = (Date.now() - started) / 1000;
    await world.stop();
  }
  return report;
}

function count(table: Record<string, number>, key: string): void {
  table[key] = (table[key] ?? 0) + 1;
}

function inputsOf(step: Step, listenerArn: string): Record<string, string> {
  const { environment } = step;
  switch (step.kind) {
    case 'provision':
    case 'provision-crash':
      return {
        environment,
        cluster: CLUSTER,
        'listener-arn': listenerArn,
        'host-pattern': '{env}.soak.example.com',
        image: step.image ?? '',
        'execution-role-arn': EXECUTION_ROLE,
        'container-port': '8080',
        subnets: SUBNETS.join(','),
        'security-groups': SECURITY_GROUP,
        'health-check-interval': '10s',
        'desired-count': String(step.desired ?? 1),
        timeout: '6h',
      };
    case 'rollout':
    case 'rollout-crash':
      return { cluster: CLUSTER, environment, image: step.image ?? '', timeout: '6h' };
    case 'sleep':
    case 'wake':
      return { mode: step.kind, cluster: CLUSTER, environments: environment, timeout: '6h' };
    case 'teardown':
      return { cluster: CLUSTER, environment, timeout: '3h', ...(step.withListener ? { 'listener-arn': listenerArn } : {}) };
  }
}

/** How a run ended: success, the expected rollback, killed, or the reason it failed. */
function classify(step: Step, run: BundleRun): string {
  if (run.exitCode === -1) return 'killed';
  if (run.exitCode === 0) return 'success';
  if (step.expect === 'rolled-back' && (run.outputs.status === 'rolled-back' || /Deployment of \S+ was rolled back/.test(run.stdout))) return 'rolled-back';
  const error = /^::error[^:]*::(.*)$/m.exec(run.stdout)?.[1] ?? run.stderr.trim().split('\n')[0] ?? '';
  if (/Throttling|Rate exceeded|RequestLimitExceeded/.test(error)) return 'throttling';
  if (/InternalFailure|InternalError|ServiceUnavailable/.test(error)) return '5xx';
  if (/ECONNRESET|socket hang up|EPIPE|other side closed|aborted/i.test(error)) return 'dropped connection';
  return `other: ${error.replace(/%0A/g, ' ').slice(0, 240)}`;
}

/** The model after a run that completed as it should. */
function apply(model: Expected, step: Step, run: BundleRun): void {
  if (step.expect === 'rolled-back') return;
  switch (step.kind) {
    case 'provision':
      Object.assign(model, {
        present: true,
        asleep: false,
        image: step.image,
        desired: step.desired,
        revision: run.outputs['task-definition-arn'],
      });
      break;
    case 'rollout':
      Object.assign(model, { image: step.image, revision: run.outputs['task-definition-arn'] });
      break;
    case 'sleep':
      model.asleep = model.present;
      break;
    case 'wake':
      model.asleep = false;
      break;
    case 'teardown':
      Object.assign(model, { present: false, asleep: false });
      break;
  }
}

/** Where the environment differs from its model; with steady, also whether its deployment has settled. */
function checkEnvironment(all: Resource[], environment: string, model: Expected, steady: boolean): string[] {
  const owned = all.filter((resource) => resource.live && resource.kind !== 'cluster' && ownerOf(resource.tags, SOAK) === environment);
  if (!model.present) return owned.map((resource) => `${environment} is torn down, but its ${resource.kind} ${resource.id} is left`);
  const problems: string[] = [];
  const of = (kind: string) => owned.filter((resource) => resource.kind === kind);
  for (const kind of ['service', 'target group', 'listener rule', 'log group']) {
    if (of(kind).length !== 1) problems.push(`${environment} has ${of(kind).length} ${kind}s, expected 1`);
  }
  const service = of('service')[0]?.raw;
  if (!service) return problems;
  const revision = all.find((resource) => resource.kind === 'task definition' && resource.id === service.taskDefinition)?.raw;
  const image = (revision?.containerDefinitions as { image?: string }[] | undefined)?.[0]?.image;
  const desired = model.asleep ? 0 : model.desired;
  const asleepTag = of('service')[0]?.tags['ecs-deploy-actions:asleep-desired-count'];
  if (service.taskDefinition !== model.revision) problems.push(`${environment} runs ${service.taskDefinition}, expected ${model.revision}`);
  if (image !== model.image) problems.push(`${environment} runs image ${image}, expected ${model.image}`);
  if (service.desiredCount !== desired) problems.push(`${environment} has desired count ${service.desiredCount}, expected ${desired}`);
  if (model.asleep && asleepTag !== String(model.desired))
    problems.push(`${environment} is asleep with ${asleepTag ?? 'no'} desired count recorded, expected ${model.desired}`);
  if (!model.asleep && asleepTag !== undefined) problems.push(`${environment} is awake but still records a sleeping desired count (${asleepTag})`);
  const group = of('target group')[0]?.raw;
  const rule = of('listener rule')[0]?.raw;
  const forward = (rule?.Actions as { TargetGroupArn?: string }[] | undefined)?.[0]?.TargetGroupArn;
  if (group && rule && forward !== group.TargetGroupArn) problems.push(`${environment}'s listener rule forwards to ${forward}, not to its target group`);
  if (steady) {
    const deployments = (service.deployments as { rolloutState?: string; taskDefinition?: string }[] | undefined) ?? [];
    if (deployments.length !== 1 || deployments[0]?.rolloutState !== 'COMPLETED')
      problems.push(`${environment} has not settled: deployments ${JSON.stringify(deployments.map((d) => [d.taskDefinition, d.rolloutState]))}`);
    if (service.runningCount !== desired) problems.push(`${environment} runs ${service.runningCount} tasks, expected ${desired}`);
  }
  return problems;
}

/** After a reported mismatch, the model follows what is there, so one fault is reported once. */
function resync(model: Expected, all: Resource[], environment: string): void {
  const service = all.find((resource) => resource.live && resource.kind === 'service' && ownerOf(resource.tags, SOAK) === environment);
  if (!service) {
    Object.assign(model, { present: false, asleep: false });
    return;
  }
  const revision = all.find((resource) => resource.kind === 'task definition' && resource.id === service.raw.taskDefinition)?.raw;
  const asleepTag = service.tags['ecs-deploy-actions:asleep-desired-count'];
  const asleep = asleepTag !== undefined && service.raw.desiredCount === 0;
  Object.assign(model, {
    present: true,
    revision: service.raw.taskDefinition,
    image: (revision?.containerDefinitions as { image?: string }[] | undefined)?.[0]?.image ?? '',
    asleep,
    desired: asleep ? Number(asleepTag) : service.raw.desiredCount,
  });
}

/**
 * What the soak must never touch, made before it starts: a shared ALB, an environment that is never
 * targeted, an untagged service with its log group, target group and rule, look-alikes named like the
 * soak's environments, a target group another tool tagged for one of them, and a scalable target.
 */
async function seedForeign(world: World, environments: string[]): Promise<{ listenerArn: string }> {
  await world.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER, capacityProviders: ['FARGATE', 'FARGATE_SPOT'] }));
  const { listenerArn } = await sharedListener(world, 'soak-shared', { https: true });
  await provisioned(world, { cluster: CLUSTER, listenerArn, environment: 'other-1' });
  // Every repository has the soak's environment names: the same names in another cluster of this repository,
  // and in another repository's cluster, on the same listener; and another repository's environment in this cluster.
  const lookAlikes = [
    { repository: 'acme/web', cluster: 'soak-b' },
    { repository: 'acme/shop', cluster: 'soak-c' },
  ];
  for (const { repository, cluster } of lookAlikes) {
    await world.ecs.send(new CreateClusterCommand({ clusterName: cluster, capacityProviders: ['FARGATE'] }));
    for (const environment of environments.slice(0, 3)) {
      await provisioned(world, { cluster, listenerArn, environment, repository, host: `${environment}.${cluster}.soak.example.com` });
    }
  }
  await provisioned(world, { cluster: CLUSTER, listenerArn, environment: 'shop-1', repository: 'acme/shop', host: 'shop-1.soak.example.com' });
  await seedService(world, { cluster: CLUSTER, service: 'legacy-web', image: 'web:legacy', desiredCount: 1 });
  await seedService(world, { cluster: CLUSTER, service: 'soak-1-worker', image: 'web:worker', desiredCount: 1, family: 'previews-soak-1-worker' });
  const vpc = { Protocol: 'HTTP' as const, Port: 8080, VpcId: 'vpc-0e1a2b3c4d5e6f701', TargetType: 'ip' as const };
  const legacy = await world.elb.send(new CreateTargetGroupCommand({ Name: 'previews-legacy-web', ...vpc }));
  await world.elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 50_000,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['legacy.soak.example.com'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: legacy.TargetGroups?.[0]?.TargetGroupArn }],
    }),
  );
  await world.elb.send(
    new CreateTargetGroupCommand({
      Name: 'tf-soak-2',
      ...vpc,
      Tags: [
        { Key: 'ecs-deploy-actions:environment', Value: 'soak-2' },
        { Key: 'ecs-deploy-actions:managed-by', Value: 'terraform' },
      ],
    }),
  );
  await world.logs.send(new CreateLogGroupCommand({ logGroupName: '/ecs/previews/soak-3-archive' }));
  await world.ecs.send(
    new RegisterTaskDefinitionCommand({ family: 'previews-soak-4-migrate', containerDefinitions: [{ name: 'app', image: 'web:migrate', memory: 512 }] }),
  );
  const aas = autoScaling(world);
  await aas.send(
    new RegisterScalableTargetCommand({
      ServiceNamespace: 'ecs',
      ScalableDimension: 'ecs:service:DesiredCount',
      ResourceId: `service/${CLUSTER}/legacy-web`,
      MinCapacity: 1,
      MaxCapacity: 2,
    }),
  );
  aas.destroy();
  await settled(world, CLUSTER, ['other-1', 'shop-1', 'legacy-web', 'soak-1-worker']);
  for (const { cluster } of lookAlikes) await settled(world, cluster, environments.slice(0, 3));
  return { listenerArn };
}

export function formatReport(report: SoakReport): string {
  const { plan } = report;
  const { kinds } = planCounts(plan);
  const list = (table: Record<string, number>) =>
    Object.entries(table)
      .sort(([, a], [, b]) => b - a)
      .map(([key, value]) => `${key} ${value}`)
      .join(', ') || 'none';
  const injected = Object.values(report.faults).reduce((sum, value) => sum + value, 0);
  const environments = plan.environments.length;
  return [
    `soak: seed ${plan.seed}, ${report.runs} runs over ${environments} environments (${plan.environments[0]}..${plan.environments.at(-1)}), time scale ${report.timeScale}, ${report.seconds.toFixed(1)} s`,
    `runs: ${report.runs} (${list(kinds)})`,
    `kills: ${report.kills}; re-runs: ${report.reruns}; attempts: ${report.attempts}`,
    `AWS calls: ${report.calls}; faults injected: ${injected} (${list(report.faults)})`,
    `failures by reason: ${list(report.failures)}`,
    `orphans (resources tagged for torn-down environments): ${report.orphans.length}`,
    `foreign or untagged resources deleted: ${report.foreignDeleted.length}, changed: ${report.foreignChanged.length} (of ${report.foreignSeeded} present before the soak)`,
    `environments matching the model: ${report.matching}/${report.present} present (${environments - report.present} torn down or never provisioned: checked for orphans)`,
    `violations: ${report.violations.length}`,
    ...report.violations.map((text) => `  - ${text}`),
  ].join('\n');
}
