// What sleep and wake do, decided before anything changes: which environments, and for each service
// the counts it goes from and to. Pure: the inputs are what DescribeServices and Application Auto
// Scaling returned.
import type { Service } from '@aws-sdk/client-ecs';
import type { ScalableLimits } from '../autoscaling/targets.ts';
import { tagsOf } from '../ecs/services.ts';
import {
  identityOf,
  isProtected,
  matchesPattern,
  otherRepositoryError,
  repositoryAllowed,
  SLEEP_TAGS,
  TAG_ASLEEP_DESIRED_COUNT,
  TAG_ASLEEP_MAX_CAPACITY,
  TAG_ASLEEP_MIN_CAPACITY,
  type Tags,
} from '../environment.ts';
import { ActionError } from '../errors.ts';

export type Mode = 'sleep' | 'wake';

/** A service's scale: its desired count, and its Application Auto Scaling limits when it has a scalable target. */
export interface Capacity {
  desired: number;
  min?: number | undefined;
  max?: number | undefined;
}

export interface Selection {
  /** Selected environments and their services, by name. */
  environments: Map<string, Service[]>;
  /** Matched by `environments` and by `exclude`. */
  excluded: string[];
  /** Matched only by a glob while protected. */
  protectedSkipped: string[];
  /** Names written without a glob that no service is tagged with. */
  notFound: string[];
  /** Matched by a glob, but another repository's environments: left alone. */
  otherRepositories: string[];
}

const isGlob = (pattern: string) => /[*?]/.test(pattern);

/**
 * Environments are found through our ownership tags only: this cluster's, of the repositories the run
 * acts for (its own unless `repositories` says more). Another repository's environment named exactly is
 * refused; one a glob reaches is left alone. A protected environment is taken only when `environments`
 * names it exactly: a glob such as * never reaches prod by accident.
 */
export function selectEnvironments(
  services: Service[],
  options: { cluster: string; repository: string; repositories: readonly string[]; patterns: string[]; exclude: string[]; protectedPatterns: string[] },
): Selection {
  const byEnvironment = new Map<string, Service[]>();
  const others = new Map<string, string>();
  for (const service of services) {
    const identity = identityOf(tagsOf(service));
    if (!identity || identity.cluster !== options.cluster) continue;
    if (!repositoryAllowed(identity.repository, options.repositories)) others.set(identity.environment, identity.repository);
    else byEnvironment.set(identity.environment, [...(byEnvironment.get(identity.environment) ?? []), service]);
  }
  const selection: Selection = { environments: new Map(), excluded: [], protectedSkipped: [], notFound: [], otherRepositories: [] };
  for (const [environment, owner] of [...others].sort()) {
    if (options.patterns.includes(environment)) {
      throw otherRepositoryError({ repository: options.repository, cluster: options.cluster, environment }, owner, 'service');
    }
    if (options.patterns.some((pattern) => matchesPattern(environment, pattern))) selection.otherRepositories.push(`${environment} (${owner})`);
  }
  for (const environment of [...byEnvironment.keys()].sort()) {
    if (!options.patterns.some((pattern) => matchesPattern(environment, pattern))) continue;
    if (options.exclude.some((pattern) => matchesPattern(environment, pattern))) selection.excluded.push(environment);
    else if (isProtected(environment, options.protectedPatterns) && !options.patterns.includes(environment)) selection.protectedSkipped.push(environment);
    else selection.environments.set(environment, byEnvironment.get(environment) ?? []);
  }
  selection.notFound = options.patterns.filter((pattern) => !isGlob(pattern) && !byEnvironment.has(pattern) && !others.has(pattern));
  return selection;
}

export interface ServicePlan {
  environment: string;
  serviceName: string;
  serviceArn: string;
  action: Mode | 'none';
  /** Why nothing is done, or what is unusual about what is done. */
  note: string | undefined;
  /** What the service has now. */
  current: Capacity;
  /** Awake and asleep, as a person reads them: from -> to. */
  from: Capacity;
  to: Capacity;
  /** Tags written before anything changes (sleep). */
  record: Tags | undefined;
  /** Tags removed once the counts are restored (wake). */
  forget: string[];
  /** Tasks the service runs awake: what the saving while asleep is reckoned on. */
  tasks: number;
}

function count(tags: Tags, key: string, serviceName: string): number | undefined {
  const value = tags[key];
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value)) {
    throw new ActionError(
      `Service ${serviceName} has tag ${key}=${JSON.stringify(value)}, which is not a count.`,
      `set the tag to the count to restore, or remove the ${SLEEP_TAGS.join(', ')} tags if the service is awake.`,
    );
  }
  return Number(value);
}

/** The capacity recorded when the service was put to sleep; undefined when it was not. */
export function recordedCapacity(tags: Tags, serviceName: string): Capacity | undefined {
  const desired = count(tags, TAG_ASLEEP_DESIRED_COUNT, serviceName);
  if (desired === undefined) return undefined;
  const min = count(tags, TAG_ASLEEP_MIN_CAPACITY, serviceName);
  const max = count(tags, TAG_ASLEEP_MAX_CAPACITY, serviceName);
  return min !== undefined && max !== undefined ? { desired, min, max } : { desired };
}

function capacityTags(capacity: Capacity): Tags {
  const tags: Tags = { [TAG_ASLEEP_DESIRED_COUNT]: String(capacity.desired) };
  if (capacity.min !== undefined && capacity.max !== undefined) {
    tags[TAG_ASLEEP_MIN_CAPACITY] = String(capacity.min);
    tags[TAG_ASLEEP_MAX_CAPACITY] = String(capacity.max);
  }
  return tags;
}

const isAsleep = (capacity: Capacity) => capacity.desired === 0 && (capacity.max === undefined || capacity.max === 0);

export function planService(mode: Mode, environment: string, service: Service, limits: ScalableLimits | undefined): ServicePlan {
  const serviceName = service.serviceName ?? '';
  const tags = tagsOf(service);
  const current: Capacity = { desired: service.desiredCount ?? 0, ...(limits ? { min: limits.min, max: limits.max } : {}) };
  const recorded = recordedCapacity(tags, serviceName);
  const base = { environment, serviceName, serviceArn: service.serviceArn ?? '', current, record: undefined, forget: [] as string[] };
  const asleep: Capacity = { desired: 0, ...(limits ? { min: 0, max: 0 } : {}) };

  if (mode === 'sleep') {
    if (recorded) {
      if (isAsleep(current)) return { ...base, action: 'none', note: 'already asleep', from: recorded, to: current, tasks: 0 };
      // Recorded by a run that stopped before scaling down: keep those counts, never record zeros over them.
      // Limits of a scalable target added since are recorded too, before they are set to 0.
      const addedLimits = limits && recorded.min === undefined ? limits : undefined;
      return {
        ...base,
        action: 'sleep',
        note: 'finishing an interrupted sleep',
        from: addedLimits ? { ...recorded, ...addedLimits } : recorded,
        to: asleep,
        record: addedLimits ? { [TAG_ASLEEP_MIN_CAPACITY]: String(addedLimits.min), [TAG_ASLEEP_MAX_CAPACITY]: String(addedLimits.max) } : undefined,
        tasks: recorded.desired,
      };
    }
    if (isAsleep(current)) return { ...base, action: 'none', note: 'already at 0 tasks', from: current, to: current, tasks: 0 };
    return { ...base, action: 'sleep', note: undefined, from: current, to: asleep, record: capacityTags(current), tasks: current.desired };
  }

  if (!recorded) return { ...base, action: 'none', note: 'awake (no counts recorded by a sleep)', from: current, to: current, tasks: 0 };
  const forget = SLEEP_TAGS.filter((key) => tags[key] !== undefined);
  const hasRecordedLimits = recorded.min !== undefined && recorded.max !== undefined;
  if (limits && hasRecordedLimits) {
    return { ...base, action: 'wake', note: undefined, from: current, to: recorded, forget, tasks: recorded.desired };
  }
  // Limits exist only on one side: someone added or removed the scalable target while the service slept.
  const note = limits
    ? 'scalable target added while asleep: left as it is'
    : hasRecordedLimits
      ? 'scalable target gone: desired count restored only'
      : undefined;
  const to: Capacity = { desired: recorded.desired, ...(limits ? { min: limits.min, max: limits.max } : {}) };
  return { ...base, action: 'wake', note, from: current, to, forget, tasks: recorded.desired };
}

/** How a capacity reads: "2" or "2 (min 1, max 4)". */
export function formatCapacity(capacity: Capacity): string {
  return capacity.min === undefined ? String(capacity.desired) : `${capacity.desired} (min ${capacity.min}, max ${capacity.max})`;
}
