// Reading GET /_emulator/state as the soak needs it: every resource with its tags and whether it is
// still alive, and a projection of each that changes only when someone changed the resource.

export interface Dump {
  services: {
    ecs: { clusters: Json[]; taskDefinitions: Json[]; services: Json[]; tasks: Json[] };
    elbv2: { loadBalancers: Json[]; listeners: Json[]; rules: Json[]; targetGroups: Json[] };
    logs: { logGroups: Json[] };
    'application-autoscaling': { scalableTargets: Json[] };
  };
}

export type Json = Record<string, unknown>;

export interface Resource {
  kind: string;
  id: string;
  tags: Record<string, string>;
  /** Not deleted, stopped or on its way out. */
  live: boolean;
  /** What must not change on a resource the soak does not own. */
  projection: string;
  raw: Json;
}

const MANAGED_BY = 'ecs-deploy-actions';

/** The environment our ownership tags give a resource in this cluster and repository, if any: look-alikes elsewhere are not the soak's. */
export function ownerOf(tags: Record<string, string>, where: { cluster: string; repository: string }): string | undefined {
  const ours =
    tags['ecs-deploy-actions:managed-by'] === MANAGED_BY &&
    tags['ecs-deploy-actions:cluster'] === where.cluster &&
    tags['ecs-deploy-actions:repository'] === where.repository;
  return ours ? tags['ecs-deploy-actions:environment'] : undefined;
}

/** ECS writes tags as [{key, value}], ELBv2 as [{Key, Value}], Logs and Application Auto Scaling as a map. */
function tagsOf(value: unknown): Record<string, string> {
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((tag: { key?: string; value?: string; Key?: string; Value?: string }) => [tag.key ?? tag.Key ?? '', tag.value ?? tag.Value ?? '']),
    );
  }
  return value && typeof value === 'object' ? (value as Record<string, string>) : {};
}

function pick(record: Json, keys: string[]): string {
  return JSON.stringify(Object.fromEntries(keys.map((key) => [key, record[key]])));
}

function without(record: Json, keys: string[]): string {
  return JSON.stringify(Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key))));
}

/** Every resource in the dump. Counts, events and health move on their own, so projections leave them out. */
export function resources(dump: Dump): Resource[] {
  const { ecs, elbv2, logs } = dump.services;
  const out: Resource[] = [];
  const add = (kind: string, id: unknown, tags: unknown, live: boolean, projection: string, raw: Json) =>
    out.push({ kind, id: String(id), tags: tagsOf(tags), live, projection, raw });
  for (const c of ecs.clusters) add('cluster', c.clusterArn, c.tags, c.status === 'ACTIVE', pick(c, ['status', 'tags', 'capacityProviders', 'settings']), c);
  for (const t of ecs.taskDefinitions)
    add('task definition', t.taskDefinitionArn, t.tags, t.status !== 'DELETE_IN_PROGRESS', pick(t, ['status', 'tags', 'containerDefinitions']), t);
  for (const s of ecs.services)
    add(
      'service',
      s.serviceArn,
      s.tags,
      s.status !== 'INACTIVE',
      pick(s, ['status', 'taskDefinition', 'desiredCount', 'tags', 'loadBalancers', 'deploymentConfiguration']),
      s,
    );
  for (const t of ecs.tasks) add('task', t.taskArn, t.tags, t.lastStatus !== 'STOPPED', pick(t, ['taskDefinitionArn', 'desiredStatus', 'tags']), t);
  for (const lb of elbv2.loadBalancers) add('load balancer', lb.LoadBalancerArn, lb.Tags, true, without(lb, ['State']), lb);
  for (const l of elbv2.listeners) add('listener', l.ListenerArn, l.Tags, true, JSON.stringify(l), l);
  for (const r of elbv2.rules) add('listener rule', r.RuleArn, r.Tags, true, JSON.stringify(r), r);
  for (const tg of elbv2.targetGroups) {
    const targets = ((tg.Targets as { Id: string }[] | undefined) ?? []).map((target) => target.Id).sort();
    add('target group', tg.TargetGroupArn, tg.Tags, true, JSON.stringify({ ...JSON.parse(without(tg, ['Targets'])), targets }), tg);
  }
  for (const g of logs.logGroups) add('log group', g.logGroupName, g.tags, true, pick(g, ['arn', 'retentionInDays', 'tags']), g);
  for (const t of dump.services['application-autoscaling'].scalableTargets)
    add('scalable target', t.ResourceId, t.Tags, true, pick(t, ['MinCapacity', 'MaxCapacity', 'SuspendedState', 'Tags']), t);
  return out;
}

/** Which keys of two projections differ, for a message a person can act on. */
export function differences(before: string, after: string): string[] {
  const a = JSON.parse(before) as Json;
  const b = JSON.parse(after) as Json;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}
