// What provisioning would do, decided from the spec and a snapshot of what exists, before anything
// changes: one step per resource (create, update or keep) with a field-level diff. Pure. Refusals that
// the snapshot already shows (a resource someone else owns, a host another rule answers, a full pool)
// are made here; choices that depend on a race (rule priority, pool slot) are left to apply.
import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import { forwardedTargetGroups, hostConditionMatches, hostValues, isEnvironmentRule, type RuleOnListener } from '../elb/rules.ts';
import {
  describeIdentity,
  type Identity,
  isOwnedBy,
  otherRepositoryError,
  ownership,
  SLEEP_TAGS,
  TAG_ASLEEP_MAX_CAPACITY,
  TAG_REPOSITORY,
  type Tags,
} from '../environment.ts';
import { ActionError } from '../errors.ts';
import { dnsRecordTag, TAG_DNS_RECORD } from './dns.ts';
import type { ContainerState, HealthCheck, ServiceState, Snapshot, TargetGroupState, TaskDefinitionState } from './observe.ts';
import { fullPoolError } from './pool.ts';
import type { CapacityShare, Desired, ProvisionSpec } from './spec.ts';

export type StepAction = 'create' | 'update' | 'keep' | 'delete';
export type Resource = 'load balancer' | 'cluster' | 'target group' | 'listener rule' | 'DNS record' | 'log group' | 'task definition' | 'service';

/** One field of a resource, as it is and as it would be; `none` where it has no value. */
export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

export interface Step {
  resource: Resource;
  name: string;
  action: StepAction;
  diff: FieldChange[];
  /** What is decided only when applied, or worth knowing. */
  note?: string | undefined;
}

export interface ProvisionPlan {
  desired: Desired;
  snapshot: Snapshot;
  steps: Step[];
  /** Worth telling, not refused: a wildcard rule that also answers the host. */
  notes: string[];
}

const NONE = 'none';

function change(field: string, from: string | number | undefined, to: string | number | undefined): FieldChange[] {
  const a = from === undefined || from === '' ? NONE : String(from);
  const b = to === undefined || to === '' ? NONE : String(to);
  return a === b ? [] : [{ field, from: a, to: b }];
}

/** Refuses a resource of the environment's name that it does not own; another repository's is named as such. */
function claim(kind: string, name: string, tags: Tags, identity: Identity): void {
  const owner = ownership(tags, identity);
  if (owner === 'ours') return;
  if (owner === 'other-repository') throw otherRepositoryError(identity, tags[TAG_REPOSITORY] ?? 'another repository', `${kind} ${name}`);
  throw new ActionError(
    `A ${kind} named ${name} exists but is not tagged as owned by ${describeIdentity(identity)}; it was left untouched.`,
    `delete or rename that ${kind}, or pick another environment or cluster name.`,
  );
}

/**
 * Rules another environment (or anyone else) owns that answer the environment's host: ours would take
 * its traffic, so it is refused. A wildcard rule ours would only carve one host out of is a note.
 */
export function checkHostFree(rules: RuleOnListener[], host: string, identity: Identity, isOurs: (found: RuleOnListener) => boolean): string[] {
  const notes: string[] = [];
  const wanted = host.toLowerCase();
  for (const found of rules.filter((candidate) => !isOurs(candidate))) {
    const values = hostValues(found.rule);
    if (values.some((value) => value.toLowerCase() === wanted)) {
      throw new ActionError(
        `Listener rule ${found.rule.RuleArn} (priority ${found.rule.Priority}) already answers host ${host}, and ${describeIdentity(identity)} does not own it; nothing was changed.`,
        'pick a host-pattern that gives this environment a host of its own, or remove that rule if it is stale.',
      );
    }
    const wildcard = values.find((value) => /[*?]/.test(value) && hostConditionMatches(value, wanted));
    if (wildcard) notes.push(`listener rule priority ${found.rule.Priority} (${wildcard}) also answers ${host}; the rule with the lower priority number wins`);
  }
  return notes;
}

/** Rolling and blue/green environments differ in resources (a second target group, a weighted rule): not switched in place. */
function checkStrategy(service: ServiceState, spec: ProvisionSpec): void {
  if (service.blueGreen === (spec.strategy === 'blue-green')) return;
  throw new ActionError(
    `Input "strategy": service ${service.name} was provisioned ${service.blueGreen ? 'for blue-green (two target groups)' : 'rolling (one target group)'}; provision-platform does not switch an existing environment to ${spec.strategy}.`,
    `keep strategy: ${service.blueGreen ? 'blue-green' : 'rolling'} for this environment, or tear it down with teardown-env and provision it again with strategy: ${spec.strategy}.`,
  );
}

/** The target group's health check as the spec asks: the timeout must be below the interval (ELB's HTTP default is 6 s). */
export function wantedHealthCheck(spec: ProvisionSpec): HealthCheck {
  const interval = spec.healthCheck.intervalSeconds;
  return {
    path: spec.healthCheck.path,
    intervalSeconds: interval,
    timeoutSeconds: interval <= 6 ? interval - 1 : undefined,
    matcher: spec.healthCheck.matcher,
  };
}

/** Tags a target group carries beyond the environment's: where its DNS record is, so teardown finds it. */
export function extraTargetGroupTags(desired: Desired): Tags {
  const zone = desired.spec.hostedZoneId;
  return zone ? { [TAG_DNS_RECORD]: dnsRecordTag(zone, desired.host) } : {};
}

function targetGroupStep(desired: Desired, name: string, found: TargetGroupState | undefined): Step {
  const { spec } = desired;
  const health = wantedHealthCheck(spec);
  if (!found) return { resource: 'target group', name, action: 'create', diff: [] };
  claim('target group', name, found.tags, spec.identity);
  const diff = [
    ...change('health check path', found.healthCheck.path, health.path),
    ...change('health check interval', found.healthCheck.intervalSeconds, health.intervalSeconds),
    ...(health.timeoutSeconds === undefined ? [] : change('health check timeout', found.healthCheck.timeoutSeconds, health.timeoutSeconds)),
    ...change('health check matcher', found.healthCheck.matcher, health.matcher),
    ...change('deregistration delay', found.deregistrationDelaySeconds, String(spec.deregistrationDelaySeconds)),
    ...Object.entries(extraTargetGroupTags(desired)).flatMap(([key, value]) => change(`tag ${key}`, found.tags[key], value)),
  ];
  return { resource: 'target group', name, action: diff.length > 0 ? 'update' : 'keep', diff };
}

function ruleConditionValues(found: RuleOnListener, field: 'host-header' | 'path-pattern'): string {
  const condition = found.rule.Conditions?.find((candidate) => candidate.Field === field);
  return (field === 'host-header' ? condition?.HostHeaderConfig?.Values : condition?.PathPatternConfig?.Values)?.join(', ') ?? '';
}

function ruleStep(desired: Desired, snapshot: Snapshot, ours: RuleOnListener | undefined): Step {
  const nameOf = new Map([...snapshot.targetGroups.values()].map((group) => [group.arn, group.name]));
  const where = snapshot.routing.kind === 'pool' ? snapshot.routing.placed?.name : undefined;
  if (!ours) {
    return {
      resource: 'listener rule',
      name: desired.host,
      action: 'create',
      diff: [],
      note: `priority chosen when created${where ? `, on ${where}` : ''}`,
    };
  }
  const diff = [
    ...change('hosts', ruleConditionValues(ours, 'host-header'), desired.host),
    ...change('paths', ruleConditionValues(ours, 'path-pattern'), desired.spec.pathPattern),
    ...change(
      'targets',
      forwardedTargetGroups(ours.rule.Actions)
        .map((arn) => nameOf.get(arn) ?? arn)
        .sort()
        .join(', '),
      [...desired.targetGroupNames].sort().join(', '),
    ),
  ];
  return { resource: 'listener rule', name: `priority ${ours.rule.Priority}`, ...withDiff(diff) };
}

function env(container: ContainerDefinition): Record<string, string> {
  return Object.fromEntries((container.environment ?? []).flatMap((pair) => (pair.name === undefined ? [] : [[pair.name, pair.value ?? '']])));
}

function containerDiff(name: string, from: ContainerState, to: ContainerDefinition): FieldChange[] {
  const label = `container ${name}`;
  const wantedEnv = env(to);
  const wantedSecrets = Object.fromEntries((to.secrets ?? []).map((pair) => [pair.name ?? '', pair.valueFrom ?? '']));
  const variables = [...new Set([...Object.keys(from.environment), ...Object.keys(wantedEnv)])].sort();
  const secretNames = [...new Set([...Object.keys(from.secrets), ...Object.keys(wantedSecrets)])].sort();
  return [
    ...change(`${label} image`, from.image, to.image),
    ...change(`${label} port`, from.ports.join(', '), (to.portMappings ?? []).map((mapping) => mapping.containerPort).join(', ')),
    ...variables.flatMap((variable) => change(`${label} env ${variable}`, from.environment[variable], wantedEnv[variable])),
    // Secrets by name only: where each is read from is shown as set, unset or changed, never the reference.
    ...secretNames.flatMap((secret) => {
      const [was, will] = [from.secrets[secret], wantedSecrets[secret]];
      if (was === will) return [];
      return [{ field: `${label} secret ${secret}`, from: was ? 'set' : NONE, to: will ? (was ? 'another reference' : 'set') : NONE }];
    }),
  ];
}

function taskDefinitionDiff(current: TaskDefinitionState, desired: Desired): FieldChange[] {
  const registration = desired.registration;
  const wanted = new Map(registration.containerDefinitions.map((container) => [container.name ?? '', container]));
  const diff = [
    ...change('cpu', current.cpu, registration.cpu),
    ...change('memory', current.memory, registration.memory),
    ...change('execution role', current.executionRoleArn, registration.executionRoleArn),
    ...change('task role', current.taskRoleArn, registration.taskRoleArn),
  ];
  for (const container of current.containers) {
    const to = wanted.get(container.name);
    diff.push(...(to ? containerDiff(container.name, container, to) : change(`container ${container.name}`, 'present', undefined)));
  }
  for (const name of wanted.keys())
    if (!current.containers.some((container) => container.name === name)) diff.push(...change(`container ${name}`, undefined, 'added'));
  // Registered from a file with changes beyond these fields: the spec hash tells.
  return diff.length > 0 ? diff : change('registration', current.specHash ?? 'registered elsewhere', desired.specHash);
}

function taskDefinitionStep(desired: Desired, current: TaskDefinitionState | undefined): Step {
  const revision = (arn: string) => arn.split('/').pop() ?? arn;
  if (!current) return { resource: 'task definition', name: desired.names.family, action: 'create', diff: [] };
  if (current.specHash === desired.specHash) return { resource: 'task definition', name: revision(current.arn), action: 'keep', diff: [] };
  return { resource: 'task definition', name: revision(current.arn), action: 'update', diff: taskDefinitionDiff(current, desired), note: 'a new revision' };
}

const formatStrategy = (strategy: CapacityShare[]) => strategy.map((share) => `${share.capacityProvider}:${share.weight}`).join(', ');

/**
 * The sleep tags a provision forgets: its desired count wakes a sleeping environment. Not when the sleep
 * set a scalable target to 0 too: that keeps the service asleep until a wake restores it.
 */
export function sleepTagsToForget(service: ServiceState, spec: ProvisionSpec): string[] {
  const recorded = SLEEP_TAGS.filter((key) => service.tags[key] !== undefined);
  return recorded.length > 0 && !recorded.includes(TAG_ASLEEP_MAX_CAPACITY) && spec.desiredCount > 0 ? recorded : [];
}

function serviceStep(desired: Desired, service: ServiceState | undefined, revision: Step): Step {
  const { spec } = desired;
  if (!service) return { resource: 'service', name: desired.names.service, action: 'create', diff: [] };
  const network = service.network;
  const diff = [
    ...change('desired count', service.desiredCount, spec.desiredCount),
    ...change('subnets', network?.subnets.join(', '), spec.network.subnets.join(', ')),
    ...change('security groups', network?.securityGroups.join(', '), spec.network.securityGroups.join(', ')),
    ...change('public IP', network?.assignPublicIp ? 'assigned' : 'not assigned', spec.network.assignPublicIp ? 'assigned' : 'not assigned'),
    ...(service.capacityProviderStrategy.length > 0
      ? change('capacity provider strategy', formatStrategy(service.capacityProviderStrategy), formatStrategy(spec.capacityProviderStrategy))
      : []),
    ...change('execute command', service.enableExecuteCommand ? 'enabled' : 'disabled', spec.enableExecuteCommand ? 'enabled' : 'disabled'),
    // The port change is the task definition's to show; the load balancer follows it.
    ...(revision.action === 'keep' && !service.blueGreen ? change('load balancer container port', service.containerPort, spec.containerPort) : []),
    ...(sleepTagsToForget(service, spec).length > 0 ? [{ field: 'asleep', from: 'yes', to: 'no' }] : []),
  ];
  // The revision kept is the one the service runs (it was read from the service): only a new one deploys.
  return { resource: 'service', name: service.name, action: diff.length > 0 || revision.action !== 'keep' ? 'update' : 'keep', diff };
}

export function plan(desired: Desired, snapshot: Snapshot): ProvisionPlan {
  const { spec } = desired;
  const { identity } = spec;
  const steps: Step[] = [];
  const routing = snapshot.routing;
  if (routing.kind === 'pool' && !routing.placed && !spec.growPool) {
    throw fullPoolError(routing.pool, typeof spec.loadBalancerPool === 'string' ? spec.loadBalancerPool : `of ${routing.pool.members.length} listener(s)`);
  }
  const service = snapshot.service;
  if (service) {
    claim('service', service.name, service.tags, identity);
    checkStrategy(service, spec);
  }
  const notes = checkHostFree(snapshot.rules, desired.host, identity, (found) => isOwnedBy(found.tags, identity));
  if (snapshot.logGroup) claim('log group', snapshot.logGroup.name, snapshot.logGroup.tags, identity);

  if (routing.kind === 'shared') steps.push({ resource: 'load balancer', name: routing.name, action: routing.found ? 'keep' : 'create', diff: [] });
  if (routing.kind === 'pool' && !routing.placed)
    steps.push({ resource: 'load balancer', name: `pool ${routing.pool.name}`, action: 'create', diff: [], note: 'the pool is full: it grows by one ALB' });
  steps.push({ resource: 'cluster', name: identity.cluster, action: snapshot.clusterExists ? 'keep' : 'create', diff: [] });
  for (const name of desired.targetGroupNames) steps.push(targetGroupStep(desired, name, snapshot.targetGroups.get(name)));
  const owned = new Set([...snapshot.targetGroups.values()].map((group) => group.arn));
  steps.push(
    ruleStep(
      desired,
      snapshot,
      snapshot.rules.find((found) => isEnvironmentRule(found, identity, owned)),
    ),
  );
  if (spec.hostedZoneId) {
    const dnsName =
      routing.kind === 'listener'
        ? routing.loadBalancer.dnsName
        : routing.kind === 'shared'
          ? routing.found?.loadBalancer.dnsName
          : routing.placed?.loadBalancer.DNSName;
    const pointsAt = snapshot.dns?.pointsAt;
    const action =
      !snapshot.dns?.marked || !pointsAt ? 'create' : dnsName && pointsAt.replace(/\.$/, '').toLowerCase() === dnsName.toLowerCase() ? 'keep' : 'update';
    steps.push({
      resource: 'DNS record',
      name: desired.host,
      action,
      diff: action === 'update' ? change('alias', pointsAt, dnsName ?? 'the new load balancer') : [],
    });
  }
  const logGroup = snapshot.logGroup;
  steps.push(
    logGroup
      ? { resource: 'log group', name: logGroup.name, ...withDiff(change('retention days', logGroup.retentionDays, spec.logRetentionDays)) }
      : { resource: 'log group', name: desired.names.logGroup, action: 'create', diff: [] },
  );
  const revision = taskDefinitionStep(desired, snapshot.taskDefinition);
  steps.push(revision, serviceStep(desired, service, revision));
  return { desired, snapshot, steps, notes };
}

function withDiff(diff: FieldChange[]): { action: StepAction; diff: FieldChange[] } {
  return { action: diff.length > 0 ? 'update' : 'keep', diff };
}

export function step(plan: ProvisionPlan, resource: Resource, name?: string): Step | undefined {
  return plan.steps.find((candidate) => candidate.resource === resource && (name === undefined || candidate.name === name));
}

export function changes(plan: ProvisionPlan): Step[] {
  return plan.steps.filter((candidate) => candidate.action !== 'keep');
}
