// The least-privilege policy of each action, from the permissions its AWS calls needed across the test suite
// (iam/observed.json, written by `npm run iam`): ARNs and context values generalised into patterns over the
// user's own names (placeholders such as ${Cluster}), then grouped into statements with their conditions.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Condition, type ContextValue, isListKey, type Permission, type PolicyDocument, type PolicyStatement, wildcardMatch } from '../emulator/iam.ts';

const root = resolve(import.meta.dirname, '..');
export const observedPath = join(root, 'iam', 'observed.json');

/** The names a policy is instantiated with: what each placeholder stands for, and an example. */
export const PLACEHOLDERS: Record<string, { means: string; example: string }> = {
  Cluster: { means: 'the ECS cluster the environments live in (the `cluster` input)', example: 'previews' },
  Environment: { means: 'the environment names this role may change, as a pattern (`*` for any)', example: 'pr-*' },
  GitHubRepository: { means: 'the GitHub repository (`owner/repo`) whose workflows assume the role', example: 'acme/web' },
  LoadBalancer: {
    means: "the name (or pattern) of the ALBs whose listeners route the environments: a given listener's, `<cluster>-shared`, or a pool's",
    example: 'previews-*',
  },
  Repository: { means: 'the ECR repository the images are pushed to and pruned from', example: 'web' },
  ExecutionRole: { means: 'the task execution role passed to ECS tasks (`execution-role-arn`), by name with its path', example: 'ecsTaskExecutionRole' },
  TaskRole: { means: 'the task role passed to ECS tasks (`task-role-arn`), by name with its path', example: 'web-task' },
  InfrastructureRole: { means: 'the role ECS assumes to shift blue/green traffic (`infrastructure-role-arn`)', example: 'ecsInfrastructureRole' },
  HostedZone: { means: 'the Route 53 hosted zone ID of the environment hosts (`hosted-zone-id`)', example: 'Z0123456789ABCDEFGHIJ' },
  HostPattern: {
    means: 'the host names the role may change in that zone: `host-pattern` with `{env}` as `*`, lower case, no final dot',
    example: '*.preview.example.com',
  },
};

/** A placeholder as the policies write it: `${Name}`, as in CloudFormation's Fn::Sub. */
export const placeholder = (name: keyof typeof PLACEHOLDERS): string => `\${${name}}`;

export const TAG_PREFIX = 'ecs-deploy-actions:';
const MANAGED_BY = 'ecs-deploy-actions';
/** The tags that say whose a resource is (src/environment.ts), and the placeholder each tag's value is. */
const IDENTITY_TAGS: Record<string, string | undefined> = {
  [`${TAG_PREFIX}managed-by`]: undefined,
  [`${TAG_PREFIX}environment`]: placeholder('Environment'),
  [`${TAG_PREFIX}cluster`]: placeholder('Cluster'),
  [`${TAG_PREFIX}repository`]: placeholder('GitHubRepository'),
  [`${TAG_PREFIX}platform`]: placeholder('Cluster'),
};

/**
 * Concrete ARNs to the patterns a policy grants. Region and account become `*`; names the user chooses become
 * their placeholder, or `*` where AWS limits names so that ours may be shortened (target groups) or the user's
 * task-definition families are involved; those are pinned by their tags instead. `*` in an input stands for an
 * ID AWS assigns on create.
 */
const GENERALISE: [RegExp, string][] = [
  [/^\*$/, '*'],
  [/^arn:aws:ecs:[^:]+:\d+:cluster\/[^/]+$/, `arn:aws:ecs:*:*:cluster/${placeholder('Cluster')}`],
  [/^arn:aws:ecs:[^:]+:\d+:(service|task)\/[^/]+\/[^/]+$/, `arn:aws:ecs:*:*:$1/${placeholder('Cluster')}/*`],
  [/^arn:aws:ecs:[^:]+:\d+:task-definition\/[^:/]+:[^:/]+$/, 'arn:aws:ecs:*:*:task-definition/*:*'],
  [/^arn:aws:ecs:[^:]+:\d+:(service-deployment|service-revision)\/[^/]+\/[^/]+\/[^/]+$/, `arn:aws:ecs:*:*:$1/${placeholder('Cluster')}/*`],
  [
    /^arn:aws:elasticloadbalancing:[^:]+:\d+:(loadbalancer|listener|listener-rule)\/app\/[^/]+\/.+$/,
    `arn:aws:elasticloadbalancing:*:*:$1/app/${placeholder('LoadBalancer')}/*`,
  ],
  [/^arn:aws:elasticloadbalancing:[^:]+:\d+:targetgroup\/[^/]+\/[^/]+$/, 'arn:aws:elasticloadbalancing:*:*:targetgroup/*'],
  // Streams are read wherever a task definition's awslogs options point, which the user chooses.
  [/^arn:aws:logs:[^:]+:\d+:log-group:[^:]+:log-stream:.*$/, 'arn:aws:logs:*:*:log-group:*:log-stream:*'],
  // The log groups the actions create, tag and delete are the naming contract's /ecs/<cluster>/<environment>.
  [/^arn:aws:logs:[^:]+:\d+:log-group:\/ecs\/[^/:]+\/[^:]+(:\*)?$/, `arn:aws:logs:*:*:log-group:/ecs/${placeholder('Cluster')}/*`],
  [/^arn:aws:logs:[^:]+:\d+:log-group:[^:]+(:\*)?$/, 'arn:aws:logs:*:*:log-group:*'],
  // build-push-ecr's layer cache beside the image repository.
  [/^arn:aws:ecr:[^:]+:\d+:repository\/.+-cache$/, `arn:aws:ecr:*:*:repository/${placeholder('Repository')}-cache`],
  [/^arn:aws:ecr:[^:]+:\d+:repository\/.+$/, `arn:aws:ecr:*:*:repository/${placeholder('Repository')}`],
  [/^arn:aws:route53:::hostedzone\/.+$/, `arn:aws:route53:::hostedzone/${placeholder('HostedZone')}`],
  [/^arn:aws:route53:::change\/.+$/, 'arn:aws:route53:::change/*'],
  [/^arn:aws:iam::\d+:role\/aws-service-role\/(.+)$/, 'arn:aws:iam::*:role/aws-service-role/$1'],
];

export function generalise(resource: string, role?: Permission['role']): string {
  if (role && /^arn:aws:iam::\d+:role\//.test(resource)) return `arn:aws:iam::*:role/${placeholder(role)}`;
  for (const [pattern, replacement] of GENERALISE) if (pattern.test(resource)) return resource.replace(pattern, replacement);
  throw new Error(`no pattern for the resource ${resource}: add one to GENERALISE in scripts/iam-policy.ts`);
}

/** Context keys whose values a policy tests as they are (an enumeration AWS defines, not a name the user chose). */
const LITERAL_KEYS = new Set([
  'ecs:CreateAction',
  'elasticloadbalancing:CreateAction',
  'iam:PassedToService',
  'iam:AWSServiceName',
  'route53:ChangeResourceRecordSetsRecordTypes',
  'route53:ChangeResourceRecordSetsActions',
]);

/** A context key and value as the policy knows them, or undefined for keys no policy tests. */
function generaliseContext(key: string, value: string): string | undefined {
  const tag = /^aws:(ResourceTag|RequestTag)\/(.+)$/.exec(key);
  if (tag) {
    const tagKey = tag[2] ?? '';
    if (!(tagKey in IDENTITY_TAGS)) return undefined;
    return IDENTITY_TAGS[tagKey] ?? (value === MANAGED_BY ? value : undefined);
  }
  if (key === 'aws:TagKeys') return value.startsWith(TAG_PREFIX) ? `${TAG_PREFIX}*` : value;
  if (key === 'ecs:cluster') return `arn:aws:ecs:*:*:cluster/${placeholder('Cluster')}`;
  if (key === 'route53:ChangeResourceRecordSetsNormalizedRecordNames') return placeholder('HostPattern');
  return LITERAL_KEYS.has(key) ? value : undefined;
}

/** One line of iam/observed.json: `<action> <resource pattern>[ <context key>=<value>]...`, a list key once per value. */
export function observedLine(permission: Permission): string {
  const pairs = new Set<string>();
  for (const [key, value] of Object.entries(permission.context ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      const general = generaliseContext(key, one);
      if (general !== undefined) pairs.add(` ${key}=${general}`);
    }
  }
  return `${permission.action} ${generalise(permission.resource, permission.role)}${[...pairs].sort().join('')}`;
}

/** A line read back as the permission it records (placeholders and all). */
export function permissionOfLine(line: string): Permission {
  const [action = '', resource = '', ...pairs] = line.split(' ');
  const context: Record<string, ContextValue> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = pair.slice(0, at);
    const value = pair.slice(at + 1);
    if (isListKey(key)) context[key] = [...((context[key] as string[] | undefined) ?? []), value];
    else context[key] = value;
  }
  return Object.keys(context).length ? { action, resource, context } : { action, resource };
}

export type Observed = Record<string, string[]>;

/** Nothing recorded yet reads as no permissions at all: every call is then refused until `npm run iam`. */
export function readObserved(path = observedPath): Observed {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Observed) : {};
}

/** Sorted keys and lines, one a line, so a change reads as a diff. */
export function formatObserved(observed: Observed): string {
  const sorted = Object.fromEntries(
    Object.keys(observed)
      .sort()
      .map((action) => [action, [...new Set(observed[action])].sort()]),
  );
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

/** Reads change nothing: their statements carry no tag conditions (AWS's Read and List access levels). */
const READ = /^[a-z0-9-]+:(Describe|List|Get|BatchGet|BatchCheck|Filter)/;

/**
 * The conditions a line's permission needs, from what its context held. A mutating call on an environment's
 * resource is allowed only while that resource carries all four ownership tags of this role's cluster,
 * repository and environments; a create only with those tags in the request (shared infrastructure: the
 * managed-by tag), and no tag keys outside ours (but the ones observed).
 */
function conditionsOf(action: string, context: Record<string, string[]>): Condition {
  const condition: Condition = {};
  const add = (operator: string, key: string, values: string[]) => {
    const keys = condition[operator] ?? {};
    keys[key] = [...new Set([...((keys[key] as string[] | undefined) ?? []), ...values])].sort();
    condition[operator] = keys;
  };
  const ownership = (kind: 'ResourceTag' | 'RequestTag', environment: boolean) => {
    add('StringEquals', `aws:${kind}/${TAG_PREFIX}managed-by`, [MANAGED_BY]);
    if (!environment) return;
    for (const tag of ['cluster', 'repository', 'environment'])
      add('StringLike', `aws:${kind}/${TAG_PREFIX}${tag}`, [IDENTITY_TAGS[`${TAG_PREFIX}${tag}`] ?? '']);
  };
  const has = (key: string) => context[key] !== undefined;
  if (!READ.test(action) && has(`aws:ResourceTag/${TAG_PREFIX}environment`)) ownership('ResourceTag', true);
  if (has(`aws:RequestTag/${TAG_PREFIX}environment`)) ownership('RequestTag', true);
  else if (has(`aws:RequestTag/${TAG_PREFIX}managed-by`)) ownership('RequestTag', false);
  // Tagging that neither a create action nor our tags bound (Logs' tags on create): never on a resource that is
  // someone's already, or a role could relabel another environment's log group as its own and delete it.
  else if (
    /:(TagResource|AddTags)$/.test(action) &&
    !has('ecs:CreateAction') &&
    !has('elasticloadbalancing:CreateAction') &&
    !has(`aws:ResourceTag/${TAG_PREFIX}managed-by`)
  )
    add('Null', `aws:ResourceTag/${TAG_PREFIX}managed-by`, ['true']);
  for (const [key, values] of Object.entries(context)) {
    if (key === 'aws:TagKeys') add('ForAllValues:StringLike', key, values);
    else if (key === 'ecs:cluster') add('ArnLike', key, values);
    else if (key === 'route53:ChangeResourceRecordSetsNormalizedRecordNames') add('ForAllValues:StringLike', key, values);
    else if (isListKey(key)) add('ForAllValues:StringEquals', key, values);
    else if (LITERAL_KEYS.has(key)) add('StringEquals', key, values);
  }
  return condition;
}

/** Whether every request `wide` allows, `narrow` would allow too: the same keys, each with no fewer values. */
function covers(wide: Condition, narrow: Condition): boolean {
  return Object.entries(wide).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => {
      const other = narrow[operator]?.[key];
      return other !== undefined && [other].flat().every((v) => [values].flat().includes(v));
    }),
  );
}

interface Grant {
  action: string;
  resource: string;
  condition: Condition;
}

const single = (values: string | string[]): string | string[] => (Array.isArray(values) && values.length === 1 ? (values[0] as string) : values);

/** The least-privilege policy that allows every observed line: one statement per set of resources and condition. */
export function policyFor(lines: readonly string[]): PolicyDocument {
  const grants = new Map<string, Grant>();
  for (const line of lines) {
    const { action, resource, context = {} } = permissionOfLine(line);
    const values = Object.fromEntries(Object.entries(context).map(([k, v]) => [k, [v].flat()]));
    const condition = conditionsOf(action, values);
    const shape = JSON.stringify([action, resource, Object.entries(condition).map(([op, keys]) => [op, Object.keys(keys).sort()])]);
    const grant = grants.get(shape);
    if (!grant) grants.set(shape, { action, resource, condition });
    else
      for (const [op, keys] of Object.entries(condition))
        for (const [key, more] of Object.entries(keys)) {
          const target = grant.condition[op] as Record<string, string | string[]>;
          target[key] = [...new Set([[target[key] ?? []].flat(), [more].flat()].flat())].sort();
        }
  }
  // A grant another grant of the same action already allows (resource covered, conditions no stricter) adds nothing.
  const all = [...grants.values()];
  const needed = all.filter(
    (g, i) =>
      !all.some(
        (other, j) =>
          j !== i &&
          other.action === g.action &&
          wildcardMatch(other.resource, g.resource) &&
          covers(other.condition, g.condition) &&
          // Of two equal grants the first stays.
          !(j > i && wildcardMatch(g.resource, other.resource) && covers(g.condition, other.condition)),
      ),
  );
  const statements = new Map<string, PolicyStatement>();
  for (const grant of needed) {
    const condition = Object.fromEntries(
      Object.entries(grant.condition)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([op, keys]) => [
          op,
          Object.fromEntries(
            Object.entries(keys)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => [k, single(v)]),
          ),
        ]),
    );
    const key = JSON.stringify([grant.resource, condition]);
    const statement = statements.get(key) ?? {
      Effect: 'Allow' as const,
      Action: [],
      Resource: grant.resource,
      ...(Object.keys(condition).length ? { Condition: condition } : {}),
    };
    (statement.Action as string[]).push(grant.action);
    statements.set(key, statement);
  }
  // Statements that differ only in resource become one with a list of resources.
  const merged = new Map<string, PolicyStatement>();
  for (const statement of statements.values()) {
    (statement.Action as string[]).sort();
    const key = JSON.stringify([statement.Action, statement.Condition ?? {}]);
    const same = merged.get(key);
    if (same) same.Resource = [...[same.Resource].flat(), statement.Resource as string].sort();
    else merged.set(key, statement);
  }
  // By resource; under each, the unconditional statement first.
  const order = (s: PolicyStatement) => JSON.stringify([s.Resource, s.Condition ? 1 : 0, s.Action, s.Condition ?? {}]);
  return { Version: '2012-10-17', Statement: [...merged.values()].sort((a, b) => order(a).localeCompare(order(b))) };
}

/** The policy of every action with observations as the catalog documents it, with placeholders. */
export function catalogPolicies(observed = readObserved()): Record<string, PolicyDocument> {
  return Object.fromEntries(Object.entries(observed).map(([action, lines]) => [action, policyFor(lines)]));
}

/** Every placeholder as `*`: how the test worlds run the catalog's policies (many clusters and repositories), conditions kept. */
export const WILDCARDS: Record<string, string> = Object.fromEntries(Object.keys(PLACEHOLDERS).map((name) => [name, '*']));

/** The catalog's policies with `*` for every placeholder, as every test world enforces them. */
export function documentedPolicies(observed = readObserved()): Record<string, PolicyDocument> {
  return Object.fromEntries(Object.entries(catalogPolicies(observed)).map(([action, policy]) => [action, instantiate(policy, WILDCARDS)]));
}

/** A documented policy with its placeholders filled in; a placeholder without a value is an error. */
export function instantiate(policy: PolicyDocument, values: Record<string, string>): PolicyDocument {
  const fill = (text: string) =>
    text.replace(/\$\{([A-Za-z]+)\}/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`no value for the placeholder \${${name}}`);
      return value;
    });
  const fillAll = (v: string | string[]) => (Array.isArray(v) ? [...new Set(v.map(fill))] : fill(v));
  return {
    Version: policy.Version,
    Statement: policy.Statement.map((s) => ({
      ...s,
      Resource: fillAll(s.Resource),
      ...(s.Condition
        ? {
            Condition: Object.fromEntries(
              Object.entries(s.Condition).map(([op, keys]) => [op, Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, fillAll(v)]))]),
            ),
          }
        : {}),
    })),
  };
}
