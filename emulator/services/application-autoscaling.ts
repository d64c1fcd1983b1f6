// Application Auto Scaling (JSON 1.1, AnyScaleFrontendService) for ecs:service:DesiredCount.
// What matters to the actions: while a scalable target exists and is not suspended, it keeps the
// service's desiredCount within [MinCapacity, MaxCapacity]. So an action that scales a service to 0
// must also set the target's min and max to 0, or the service is scaled back up. Policies are stored
// and described but not evaluated: there are no metrics to evaluate them against.
import { randomUUID } from 'node:crypto';
import { AwsError, type EmulatorContext, type ServiceModule, type TimerHandle } from '../core/types.ts';

const NAMESPACE = 'ecs';
const DIMENSION = 'ecs:service:DesiredCount';
/** How often, in emulated seconds, capacity is brought back within bounds. */
export const ENFORCE_INTERVAL_SECONDS = 60;
const RESOURCE_RE = /^service\/[^/]+\/[^/]+$/;

interface Suspended {
  DynamicScalingInSuspended: boolean;
  DynamicScalingOutSuspended: boolean;
  ScheduledScalingSuspended: boolean;
}
interface Target {
  resourceId: string;
  min: number;
  max: number;
  roleArn: string;
  creationTime: number;
  suspended: Suspended;
  arn: string;
  tags: Map<string, string>;
}
interface Policy {
  name: string;
  resourceId: string;
  type: string;
  arn: string;
  targetTracking?: unknown;
  stepScaling?: unknown;
  alarms: { AlarmName: string; AlarmARN: string }[];
  creationTime: number;
}
interface Activity {
  ActivityId: string;
  ServiceNamespace: string;
  ResourceId: string;
  ScalableDimension: string;
  Description: string;
  Cause: string;
  StartTime: number;
  EndTime: number;
  StatusCode: string;
  StatusMessage: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const validation = (message: string) => new AwsError('ValidationException', message);

function required(input: Record<string, unknown>, field: string): string {
  const v = input[field];
  if (typeof v !== 'string' || v === '') {
    throw validation(
      `1 validation error detected: Value null at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return v;
}

/** Checks namespace, dimension and resource id as the service does for the ECS subset served here. */
function key(input: Record<string, unknown>, needDimension = true): { resourceId: string } {
  const ns = required(input, 'ServiceNamespace');
  const resourceId = required(input, 'ResourceId');
  const dim = needDimension ? required(input, 'ScalableDimension') : (str(input.ScalableDimension) ?? DIMENSION);
  if (ns !== NAMESPACE) throw validation(`Unsupported service namespace, resource type or scalable dimension`);
  if (dim !== DIMENSION) throw validation(`Unsupported scalable dimension: ${dim}`);
  if (!RESOURCE_RE.test(resourceId)) throw validation(`Unsupported resource type: ${resourceId.split('/')[0]}`);
  return { resourceId };
}

export function createAutoScalingService(ctx: EmulatorContext): ServiceModule {
  const targets = new Map<string, Target>();
  const policies = new Map<string, Policy>();
  let activities: Activity[] = [];
  let timer: TimerHandle | undefined;

  const noTarget = (resourceId: string) =>
    new AwsError(
      'ObjectNotFoundException',
      `No scalable target registered for service namespace: ${NAMESPACE}, resource ID: ${resourceId}, scalable dimension: ${DIMENSION}`,
    );
  const serviceLinkedRole = () =>
    `arn:aws:iam::${ctx.accountId}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`;

  /** Brings desiredCount within [min, max] unless the matching scaling direction is suspended. */
  function enforce(t: Target, cause: string): void {
    const current = ctx.ecsScaling.desiredCount(t.resourceId);
    if (current === undefined) return;
    let wanted = current;
    if (current < t.min && !t.suspended.DynamicScalingOutSuspended) wanted = t.min;
    if (current > t.max && !t.suspended.DynamicScalingInSuspended) wanted = t.max;
    if (wanted === current) return;
    const bound = wanted === t.min ? `minimum capacity was set to ${t.min}` : `maximum capacity was set to ${t.max}`;
    const now = ctx.clock.now();
    ctx.ecsScaling.setDesiredCount(t.resourceId, wanted, `application-autoscaling: ${cause}: ${bound}`);
    activities.push({
      ActivityId: randomUUID(),
      ServiceNamespace: NAMESPACE,
      ResourceId: t.resourceId,
      ScalableDimension: DIMENSION,
      Description: `Setting desired count to ${wanted}.`,
      Cause: `${cause}: ${bound}`,
      StartTime: now / 1000,
      EndTime: now / 1000,
      StatusCode: 'Successful',
      StatusMessage: `Successfully set desired count to ${wanted}. Change successfully fulfilled by ecs.`,
    });
  }

  function tick(): void {
    timer = undefined;
    for (const t of targets.values()) enforce(t, 'monitor alarm');
    arm();
  }

  function arm(): void {
    if (!timer && targets.size > 0) timer = ctx.clock.setTimer(ENFORCE_INTERVAL_SECONDS, tick);
  }

  function suspendedFrom(v: unknown, prev?: Suspended): Suspended {
    const s = (v ?? {}) as Partial<Record<keyof Suspended, unknown>>;
    const pick = (k: keyof Suspended) => (typeof s[k] === 'boolean' ? (s[k] as boolean) : (prev?.[k] ?? false));
    return {
      DynamicScalingInSuspended: pick('DynamicScalingInSuspended'),
      DynamicScalingOutSuspended: pick('DynamicScalingOutSuspended'),
      ScheduledScalingSuspended: pick('ScheduledScalingSuspended'),
    };
  }

  function targetView(t: Target) {
    return {
      ServiceNamespace: NAMESPACE,
      ResourceId: t.resourceId,
      ScalableDimension: DIMENSION,
      MinCapacity: t.min,
      MaxCapacity: t.max,
      RoleARN: t.roleArn,
      CreationTime: t.creationTime / 1000,
      SuspendedState: t.suspended,
      ScalableTargetARN: t.arn,
    };
  }

  function policyView(p: Policy) {
    return {
      PolicyARN: p.arn,
      PolicyName: p.name,
      ServiceNamespace: NAMESPACE,
      ResourceId: p.resourceId,
      ScalableDimension: DIMENSION,
      PolicyType: p.type,
      StepScalingPolicyConfiguration: p.stepScaling,
      TargetTrackingScalingPolicyConfiguration: p.targetTracking,
      Alarms: p.alarms,
      CreationTime: p.creationTime / 1000,
    };
  }

  function page<T>(items: T[], input: Record<string, unknown>): { items: T[]; NextToken?: string } {
    const max = typeof input.MaxResults === 'number' ? input.MaxResults : 50;
    if (max < 1 || max > 50)
      throw validation(
        `1 validation error detected: Value '${max}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50`,
      );
    const start = typeof input.NextToken === 'string' ? Number(Buffer.from(input.NextToken, 'base64').toString()) : 0;
    if (!Number.isInteger(start) || start < 0) throw new AwsError('InvalidNextTokenException', 'Invalid token');
    const next = start + max;
    return { items: items.slice(start, next), NextToken: next < items.length ? Buffer.from(String(next)).toString('base64') : undefined };
  }

  function targetByArn(arn: unknown): Target {
    for (const t of targets.values()) if (t.arn === arn) return t;
    throw new AwsError('ResourceNotFoundException', `No scalable target found for ARN: ${String(arn)}`);
  }

  function tagsFrom(v: unknown): [string, string][] {
    if (v === undefined) return [];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw validation('Tags must be a map of key to value');
    return Object.entries(v as Record<string, unknown>).map(([k, val]) => [k, String(val)]);
  }

  const operations: ServiceModule['operations'] = {
    RegisterScalableTarget: {
      mutating: true,
      handler(input) {
        const { resourceId } = key(input);
        const existing = targets.get(resourceId);
        const min = typeof input.MinCapacity === 'number' ? input.MinCapacity : existing?.min;
        const max = typeof input.MaxCapacity === 'number' ? input.MaxCapacity : existing?.max;
        if (min === undefined || max === undefined) {
          throw validation('MinCapacity and MaxCapacity are required for registering a new scalable target.');
        }
        if (min < 0 || max < 0) throw validation('Minimum and maximum capacity must be non-negative integers.');
        if (min > max) throw validation(`Minimum capacity cannot be greater than maximum capacity`);
        if (!existing && ctx.ecsScaling.desiredCount(resourceId) === undefined) {
          throw validation(`ECS service doesn't exist: ${resourceId}`);
        }
        const target: Target = existing ?? {
          resourceId,
          min,
          max,
          roleArn: str(input.RoleARN) ?? serviceLinkedRole(),
          creationTime: ctx.clock.now(),
          suspended: suspendedFrom(undefined),
          arn: `arn:aws:application-autoscaling:${ctx.region}:${ctx.accountId}:scalable-target/0ec5${randomUUID().replaceAll('-', '')}`,
          tags: new Map(),
        };
        target.min = min;
        target.max = max;
        target.suspended = suspendedFrom(input.SuspendedState, existing?.suspended);
        for (const [k, v] of tagsFrom(input.Tags)) target.tags.set(k, v);
        targets.set(resourceId, target);
        enforce(target, 'scalable target registration');
        arm();
        return { ScalableTargetARN: target.arn };
      },
    },
    DescribeScalableTargets: {
      mutating: false,
      handler(input) {
        const ns = required(input, 'ServiceNamespace');
        const ids = Array.isArray(input.ResourceIds) ? input.ResourceIds.map(String) : undefined;
        const dim = str(input.ScalableDimension);
        const list = ns !== NAMESPACE || (dim && dim !== DIMENSION) ? [] : [...targets.values()].filter((t) => !ids || ids.includes(t.resourceId));
        const { items, NextToken } = page(list, input);
        return { ScalableTargets: items.map(targetView), NextToken };
      },
    },
    DeregisterScalableTarget: {
      mutating: true,
      handler(input) {
        const { resourceId } = key(input);
        if (!targets.delete(resourceId)) throw noTarget(resourceId);
        for (const [k, p] of policies) if (p.resourceId === resourceId) policies.delete(k);
        return {};
      },
    },
    DescribeScalingActivities: {
      mutating: false,
      handler(input) {
        required(input, 'ServiceNamespace');
        const id = str(input.ResourceId);
        const list = activities.filter((a) => !id || a.ResourceId === id).reverse();
        const { items, NextToken } = page(list, input);
        return { ScalingActivities: items, NextToken };
      },
    },
    PutScalingPolicy: {
      mutating: true,
      handler(input) {
        const name = required(input, 'PolicyName');
        const { resourceId } = key(input);
        if (!targets.has(resourceId)) throw noTarget(resourceId);
        const type = str(input.PolicyType) ?? 'StepScaling';
        if (type !== 'TargetTrackingScaling' && type !== 'StepScaling') {
          throw validation(
            `1 validation error detected: Value '${type}' at 'policyType' failed to satisfy constraint: Member must satisfy enum value set: [PredictiveScaling, StepScaling, TargetTrackingScaling]`,
          );
        }
        if (type === 'TargetTrackingScaling' && input.TargetTrackingScalingPolicyConfiguration === undefined) {
          throw validation('TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling');
        }
        if (type === 'StepScaling' && input.StepScalingPolicyConfiguration === undefined) {
          throw validation('StepScalingPolicyConfiguration is required for a policy of type StepScaling');
        }
        const k = `${resourceId}|${name}`;
        const existing = policies.get(k);
        const id = randomUUID();
        const alarmArn = (n: string) => `arn:aws:cloudwatch:${ctx.region}:${ctx.accountId}:alarm:${n}`;
        // Target tracking creates its own high and low alarms; step scaling uses the caller's.
        const alarms =
          type === 'TargetTrackingScaling'
            ? ['AlarmHigh', 'AlarmLow'].map((h) => {
                const n = `TargetTracking-${resourceId}-${h}-${id}`;
                return { AlarmName: n, AlarmARN: alarmArn(n) };
              })
            : [];
        const policy: Policy = {
          name,
          resourceId,
          type,
          arn: existing?.arn ?? `arn:aws:autoscaling:${ctx.region}:${ctx.accountId}:scalingPolicy:${id}:resource/ecs/${resourceId}:policyName/${name}`,
          targetTracking: input.TargetTrackingScalingPolicyConfiguration,
          stepScaling: input.StepScalingPolicyConfiguration,
          alarms: existing?.type === type ? existing.alarms : alarms,
          creationTime: existing?.creationTime ?? ctx.clock.now(),
        };
        policies.set(k, policy);
        return { PolicyARN: policy.arn, Alarms: policy.alarms };
      },
    },
    DescribeScalingPolicies: {
      mutating: false,
      handler(input) {
        const ns = required(input, 'ServiceNamespace');
        const names = Array.isArray(input.PolicyNames) ? input.PolicyNames.map(String) : undefined;
        const id = str(input.ResourceId);
        const list = ns !== NAMESPACE ? [] : [...policies.values()].filter((p) => (!names || names.includes(p.name)) && (!id || p.resourceId === id));
        const { items, NextToken } = page(list, input);
        return { ScalingPolicies: items.map(policyView), NextToken };
      },
    },
    DeleteScalingPolicy: {
      mutating: true,
      handler(input) {
        const name = required(input, 'PolicyName');
        const { resourceId } = key(input);
        if (!policies.delete(`${resourceId}|${name}`)) {
          throw new AwsError(
            'ObjectNotFoundException',
            `No scaling policy found for service namespace: ${NAMESPACE}, resource ID: ${resourceId}, scalable dimension: ${DIMENSION}, policy name: ${name}`,
          );
        }
        return {};
      },
    },
    TagResource: {
      mutating: true,
      handler(input) {
        const t = targetByArn(input.ResourceARN);
        for (const [k, v] of tagsFrom(input.Tags)) t.tags.set(k, v);
        return {};
      },
    },
    UntagResource: {
      mutating: true,
      handler(input) {
        const t = targetByArn(input.ResourceARN);
        for (const k of Array.isArray(input.TagKeys) ? input.TagKeys : []) t.tags.delete(String(k));
        return {};
      },
    },
    ListTagsForResource: {
      mutating: false,
      handler(input) {
        return { Tags: Object.fromEntries(targetByArn(input.ResourceARN).tags) };
      },
    },
  };

  return {
    name: 'application-autoscaling',
    protocol: 'json',
    targetPrefix: 'AnyScaleFrontendService',
    operations,
    state() {
      return {
        scalableTargets: [...targets.values()].map((t) => ({ ...targetView(t), Tags: Object.fromEntries(t.tags) })),
        scalingPolicies: [...policies.values()].map(policyView),
      };
    },
    reset() {
      targets.clear();
      policies.clear();
      activities = [];
      if (timer) ctx.clock.clearTimer(timer);
      timer = undefined;
    },
  };
}
