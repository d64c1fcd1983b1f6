// IAM for the emulator: which permissions each call needs (one table, after AWS's Service Authorization
// Reference), attribution of calls to the action named in the user agent, and identity-policy evaluation.
// Shares nothing with src/; scripts/iam-policy.ts turns what it records into the policies the catalog documents.
import type { IncomingHttpHeaders } from 'node:http';
import { callerArn } from './services/sts.ts';

/** One authorization AWS performs for a request: an IAM action on one resource, with the context keys it sets. */
export interface Permission {
  action: string;
  /** The resource ARN, or "*" for actions without resource-level permissions. */
  resource: string;
  /** Request context a StringEquals condition can test (iam:PassedToService, ecs:CreateAction, ...). */
  context?: Record<string, string>;
}

export interface PolicyStatement {
  Effect: 'Allow';
  Action: string | string[];
  Resource: string | string[];
  Condition?: { StringEquals: Record<string, string | string[]> };
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** A permission an action needed, as recorded over a run (allowed or not). */
export interface Observation {
  caller: string;
  permission: Permission;
}

/** The action a request comes from: the SDK clients send `action/<name>#<version>` in their user agent. */
export function callerAction(headers: IncomingHttpHeaders): string | undefined {
  const agent = `${headers['x-amz-user-agent'] ?? ''} ${headers['user-agent'] ?? ''}`;
  return /(?:^|\s)action\/([a-z0-9-]+)/.exec(agent)?.[1];
}

/** IAM's service prefix for each emulator module. */
const PREFIX: Record<string, string> = {
  ecs: 'ecs',
  elbv2: 'elasticloadbalancing',
  ecr: 'ecr',
  logs: 'logs',
  'application-autoscaling': 'application-autoscaling',
  route53: 'route53',
  ec2: 'ec2',
  sts: 'sts',
};

type Input = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const hasTags = (v: unknown): boolean => Array.isArray(v) && v.length > 0;

/** Where a request is evaluated: the ARNs it names are built in this region and account. */
export interface Scope {
  region: string;
  account: string;
  /** The execution and task roles of a task definition (family, family:revision or ARN); none when unknown. */
  taskDefinitionRoles(ref: string): string[];
}

/** What a call needs, given its input. Resources the call itself creates get `*` where AWS would assign an ID. */
type Rule = (input: Input, scope: Scope) => Permission[];

const one = (action: string, resource: string, context?: Record<string, string>): Permission =>
  context ? { action, resource, context } : { action, resource };

function ecsArn(a: Scope, kind: string, path: string): string {
  return `arn:aws:ecs:${a.region}:${a.account}:${kind}/${path}`;
}
const clusterName = (ref: unknown): string => (str(ref) ?? 'default').split('/').pop() ?? 'default';
const clusterArn = (a: Scope, ref: unknown): string => (str(ref)?.startsWith('arn:') ? (ref as string) : ecsArn(a, 'cluster', clusterName(ref)));
const serviceArn = (a: Scope, cluster: unknown, ref: string): string => (ref.startsWith('arn:') ? ref : ecsArn(a, 'service', `${clusterName(cluster)}/${ref}`));
const taskArn = (a: Scope, cluster: unknown, ref: string): string => (ref.startsWith('arn:') ? ref : ecsArn(a, 'task', `${clusterName(cluster)}/${ref}`));
// A bare family means its latest revision, which the request does not name.
const taskDefinitionArn = (a: Scope, ref: string): string =>
  ref.startsWith('arn:') ? ref : ecsArn(a, 'task-definition', ref.includes(':') ? ref : `${ref}:*`);

/** ECS and ELB authorize tags on create as tagging the new resource, with the creating action as context. */
const tagOnCreate = (action: string, resource: string, key: string, creating: string): Permission => one(action, resource, { [key]: creating });
const passRole = (role: string): Permission => one('iam:PassRole', role, { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' });
/** The infrastructure role of a blue/green load balancer, which ECS itself assumes to shift traffic. */
const infrastructureRoles = (loadBalancers: unknown): Permission[] =>
  (Array.isArray(loadBalancers) ? loadBalancers : []).flatMap((loadBalancer) => {
    const role = str((loadBalancer as { advancedConfiguration?: { roleArn?: unknown } })?.advancedConfiguration?.roleArn);
    return role ? [one('iam:PassRole', role, { 'iam:PassedToService': 'ecs.amazonaws.com' })] : [];
  });

const elbArn = (a: Scope, path: string): string => `arn:aws:elasticloadbalancing:${a.region}:${a.account}:${path}`;
const logGroupArn = (a: Scope, name: string): string => `arn:aws:logs:${a.region}:${a.account}:log-group:${name}`;
const repositoryArn = (a: Scope, name: string): string => `arn:aws:ecr:${a.region}:${a.account}:repository/${name}`;
const hostedZoneArn = (id: unknown): string => `arn:aws:route53:::hostedzone/${(str(id) ?? '').replace(/^\/hostedzone\//, '')}`;

/**
 * Operations whose permissions are not simply `<prefix>:<Operation>` on "*": resource-level permissions and the
 * extra authorizations AWS performs (tags on create, roles passed to ECS, the service Application Auto Scaling
 * changes). Sources: the Service Authorization Reference pages for ecs, elasticloadbalancing, logs, ecr,
 * application-autoscaling and route53; ECS "Grant permission to tag resources on creation"; Application Auto
 * Scaling "Permissions required for API actions on target services".
 */
const RULES: Record<string, Rule> = {
  'ecs:CreateCluster': (i, a) => [
    one('ecs:CreateCluster', '*'),
    ...(hasTags(i.tags) ? [tagOnCreate('ecs:TagResource', clusterArn(a, i.clusterName), 'ecs:CreateAction', 'CreateCluster')] : []),
  ],
  'ecs:CreateService': (i, a) => {
    const service = serviceArn(a, i.cluster, str(i.serviceName) ?? '');
    return [
      one('ecs:CreateService', service),
      ...(hasTags(i.tags) ? [tagOnCreate('ecs:TagResource', service, 'ecs:CreateAction', 'CreateService')] : []),
      ...infrastructureRoles(i.loadBalancers),
    ];
  },
  'ecs:UpdateService': (i, a) => [one('ecs:UpdateService', serviceArn(a, i.cluster, str(i.service) ?? '')), ...infrastructureRoles(i.loadBalancers)],
  'ecs:DeleteService': (i, a) => [one('ecs:DeleteService', serviceArn(a, i.cluster, str(i.service) ?? ''))],
  'ecs:DescribeServices': (i, a) => list(i.services).map((s) => one('ecs:DescribeServices', serviceArn(a, i.cluster, s))),
  'ecs:ListServiceDeployments': (i, a) => [one('ecs:ListServiceDeployments', serviceArn(a, i.cluster, str(i.service) ?? ''))],
  'ecs:DescribeServiceDeployments': (i) => list(i.serviceDeploymentArns).map((arn) => one('ecs:DescribeServiceDeployments', arn)),
  'ecs:DescribeServiceRevisions': (i) => list(i.serviceRevisionArns).map((arn) => one('ecs:DescribeServiceRevisions', arn)),
  'ecs:DescribeClusters': (i, a) => (list(i.clusters).length ? list(i.clusters) : ['default']).map((c) => one('ecs:DescribeClusters', clusterArn(a, c))),
  'ecs:DescribeTasks': (i, a) => list(i.tasks).map((t) => one('ecs:DescribeTasks', taskArn(a, i.cluster, t))),
  'ecs:DeleteTaskDefinitions': (i, a) => list(i.taskDefinitions).map((t) => one('ecs:DeleteTaskDefinitions', taskDefinitionArn(a, t))),
  'ecs:RegisterTaskDefinition': (i, a) => [
    one('ecs:RegisterTaskDefinition', '*'),
    ...[str(i.executionRoleArn), str(i.taskRoleArn)].filter((r): r is string => r !== undefined).map(passRole),
    ...(hasTags(i.tags) ? [tagOnCreate('ecs:TagResource', taskDefinitionArn(a, str(i.family) ?? ''), 'ecs:CreateAction', 'RegisterTaskDefinition')] : []),
  ],
  // Running a task passes its roles (the task definition's, or the overrides') to ECS.
  'ecs:RunTask': (i, a) => {
    const ref = str(i.taskDefinition) ?? '';
    const overrides = (i.overrides ?? {}) as Input;
    const roles = new Set([...a.taskDefinitionRoles(ref), ...[str(overrides.executionRoleArn), str(overrides.taskRoleArn)].filter((r): r is string => !!r)]);
    return [
      one('ecs:RunTask', taskDefinitionArn(a, ref)),
      ...[...roles].map(passRole),
      ...(hasTags(i.tags) ? [tagOnCreate('ecs:TagResource', ecsArn(a, 'task', `${clusterName(i.cluster)}/*`), 'ecs:CreateAction', 'RunTask')] : []),
    ];
  },
  'ecs:TagResource': (i) => [one('ecs:TagResource', str(i.resourceArn) ?? '')],
  'ecs:UntagResource': (i) => [one('ecs:UntagResource', str(i.resourceArn) ?? '')],
  'ecs:ListTagsForResource': (i) => [one('ecs:ListTagsForResource', str(i.resourceArn) ?? '')],

  'elasticloadbalancing:CreateLoadBalancer': (i, a) => {
    const lb = elbArn(a, `loadbalancer/${i.Type === 'network' ? 'net' : 'app'}/${str(i.Name) ?? ''}/*`);
    return [
      one('elasticloadbalancing:CreateLoadBalancer', lb),
      ...(hasTags(i.Tags) ? [tagOnCreate('elasticloadbalancing:AddTags', lb, 'elasticloadbalancing:CreateAction', 'CreateLoadBalancer')] : []),
    ];
  },
  'elasticloadbalancing:CreateTargetGroup': (i, a) => {
    const tg = elbArn(a, `targetgroup/${str(i.Name) ?? ''}/*`);
    return [
      one('elasticloadbalancing:CreateTargetGroup', tg),
      ...(hasTags(i.Tags) ? [tagOnCreate('elasticloadbalancing:AddTags', tg, 'elasticloadbalancing:CreateAction', 'CreateTargetGroup')] : []),
    ];
  },
  'elasticloadbalancing:CreateListener': (i) => {
    const lb = str(i.LoadBalancerArn) ?? '';
    const listener = `${lb.replace(':loadbalancer/', ':listener/')}/*`;
    return [
      one('elasticloadbalancing:CreateListener', lb),
      ...(hasTags(i.Tags) ? [tagOnCreate('elasticloadbalancing:AddTags', listener, 'elasticloadbalancing:CreateAction', 'CreateListener')] : []),
    ];
  },
  'elasticloadbalancing:CreateRule': (i) => {
    const listener = str(i.ListenerArn) ?? '';
    const rule = `${listener.replace(':listener/', ':listener-rule/')}/*`;
    return [
      one('elasticloadbalancing:CreateRule', listener),
      ...(hasTags(i.Tags) ? [tagOnCreate('elasticloadbalancing:AddTags', rule, 'elasticloadbalancing:CreateAction', 'CreateRule')] : []),
    ];
  },
  'elasticloadbalancing:ModifyRule': (i) => [one('elasticloadbalancing:ModifyRule', str(i.RuleArn) ?? '')],
  'elasticloadbalancing:DeleteRule': (i) => [one('elasticloadbalancing:DeleteRule', str(i.RuleArn) ?? '')],
  'elasticloadbalancing:ModifyListener': (i) => [one('elasticloadbalancing:ModifyListener', str(i.ListenerArn) ?? '')],
  'elasticloadbalancing:DeleteListener': (i) => [one('elasticloadbalancing:DeleteListener', str(i.ListenerArn) ?? '')],
  'elasticloadbalancing:DeleteLoadBalancer': (i) => [one('elasticloadbalancing:DeleteLoadBalancer', str(i.LoadBalancerArn) ?? '')],
  'elasticloadbalancing:ModifyTargetGroup': (i) => [one('elasticloadbalancing:ModifyTargetGroup', str(i.TargetGroupArn) ?? '')],
  'elasticloadbalancing:ModifyTargetGroupAttributes': (i) => [one('elasticloadbalancing:ModifyTargetGroupAttributes', str(i.TargetGroupArn) ?? '')],
  'elasticloadbalancing:DeleteTargetGroup': (i) => [one('elasticloadbalancing:DeleteTargetGroup', str(i.TargetGroupArn) ?? '')],
  'elasticloadbalancing:RegisterTargets': (i) => [one('elasticloadbalancing:RegisterTargets', str(i.TargetGroupArn) ?? '')],
  'elasticloadbalancing:DeregisterTargets': (i) => [one('elasticloadbalancing:DeregisterTargets', str(i.TargetGroupArn) ?? '')],
  'elasticloadbalancing:AddTags': (i) => list(i.ResourceArns).map((arn) => one('elasticloadbalancing:AddTags', arn)),
  'elasticloadbalancing:RemoveTags': (i) => list(i.ResourceArns).map((arn) => one('elasticloadbalancing:RemoveTags', arn)),

  'logs:CreateLogGroup': (i, a) => {
    const group = logGroupArn(a, str(i.logGroupName) ?? '');
    return [one('logs:CreateLogGroup', group), ...(i.tags && Object.keys(i.tags).length ? [one('logs:TagResource', group)] : [])];
  },
  'logs:DeleteLogGroup': (i, a) => [one('logs:DeleteLogGroup', logGroupArn(a, str(i.logGroupName) ?? ''))],
  'logs:PutRetentionPolicy': (i, a) => [one('logs:PutRetentionPolicy', logGroupArn(a, str(i.logGroupName) ?? ''))],
  'logs:DeleteRetentionPolicy': (i, a) => [one('logs:DeleteRetentionPolicy', logGroupArn(a, str(i.logGroupName) ?? ''))],
  // Listing log groups is authorized on every log group of the account and region.
  'logs:DescribeLogGroups': (_i, a) => [one('logs:DescribeLogGroups', logGroupArn(a, '*'))],
  'logs:DescribeLogStreams': (i, a) => [one('logs:DescribeLogStreams', logGroupArn(a, str(i.logGroupName) ?? ''))],
  'logs:FilterLogEvents': (i, a) => [one('logs:FilterLogEvents', logGroupArn(a, str(i.logGroupName) ?? ''))],
  'logs:GetLogEvents': (i, a) => [one('logs:GetLogEvents', `${logGroupArn(a, str(i.logGroupName) ?? '')}:log-stream:${str(i.logStreamName) ?? ''}`)],
  'logs:TagResource': (i) => [one('logs:TagResource', str(i.resourceArn) ?? '')],
  'logs:UntagResource': (i) => [one('logs:UntagResource', str(i.resourceArn) ?? '')],
  'logs:ListTagsForResource': (i) => [one('logs:ListTagsForResource', str(i.resourceArn) ?? '')],
  'logs:ListTagsLogGroup': (i, a) => [one('logs:ListTagsLogGroup', logGroupArn(a, str(i.logGroupName) ?? ''))],

  'ecr:CreateRepository': (i, a) => {
    const repository = repositoryArn(a, str(i.repositoryName) ?? '');
    return [one('ecr:CreateRepository', repository), ...(hasTags(i.tags) ? [one('ecr:TagResource', repository)] : [])];
  },
  'ecr:DescribeRepositories': (i, a) =>
    (list(i.repositoryNames).length ? list(i.repositoryNames) : ['*']).map((name) => one('ecr:DescribeRepositories', repositoryArn(a, name))),
  'ecr:TagResource': (i) => [one('ecr:TagResource', str(i.resourceArn) ?? '')],
  'ecr:UntagResource': (i) => [one('ecr:UntagResource', str(i.resourceArn) ?? '')],
  'ecr:ListTagsForResource': (i) => [one('ecr:ListTagsForResource', str(i.resourceArn) ?? '')],

  // Registering an ECS service as a scalable target reads and changes the service as the caller.
  'application-autoscaling:RegisterScalableTarget': (i, a) => {
    const resourceId = str(i.ResourceId) ?? '';
    const ecsService = i.ServiceNamespace === 'ecs' && resourceId.startsWith('service/') ? [ecsArn(a, 'service', resourceId.slice('service/'.length))] : [];
    return [
      one('application-autoscaling:RegisterScalableTarget', '*'),
      ...ecsService.flatMap((service) => [one('ecs:DescribeServices', service), one('ecs:UpdateService', service)]),
      ...(i.Tags && Object.keys(i.Tags).length ? [one('application-autoscaling:TagResource', '*')] : []),
    ];
  },

  'route53:ChangeResourceRecordSets': (i) => [one('route53:ChangeResourceRecordSets', hostedZoneArn(i.HostedZoneId))],
  'route53:ListResourceRecordSets': (i) => [one('route53:ListResourceRecordSets', hostedZoneArn(i.HostedZoneId))],
  'route53:GetHostedZone': (i) => [one('route53:GetHostedZone', hostedZoneArn(i.Id))],
  'route53:GetChange': (i) => [one('route53:GetChange', `arn:aws:route53:::change/${(str(i.Id) ?? '').replace(/^\/change\//, '')}`)],

  // Any principal may ask who it is.
  'sts:GetCallerIdentity': () => [],
};

/** ECR operations that act on the repository named in the request take it as their resource. */
function ecrDefault(operation: string, input: Input, a: Scope): Permission[] {
  const name = str(input.repositoryName);
  return [one(`ecr:${operation}`, name ? repositoryArn(a, name) : '*')];
}

/** The permissions an AWS call needs. Anything not in the table is `<prefix>:<Operation>` on "*". */
export function requiredPermissions(service: string, operation: string, input: Input, scope: Scope): Permission[] {
  const prefix = PREFIX[service] ?? service;
  const rule = RULES[`${prefix}:${operation}`];
  if (rule) return rule(input, scope);
  if (prefix === 'ecr') return ecrDefault(operation, input, scope);
  return [one(`${prefix}:${operation}`, '*')];
}

/**
 * What a request to the image registry needs (the ECR actions of `docker push` and `docker pull`). Requests
 * without a repository (the /v2/ ping) need only the token, which GetAuthorizationToken already authorized.
 */
export function registryPermissions(req: { method: string; repository?: string; kind?: string; upload: boolean }, scope: Scope): Permission[] {
  if (!req.repository) return [];
  const resource = repositoryArn(scope, req.repository);
  const method = req.method.toUpperCase();
  let action: string | undefined;
  if (req.kind === 'manifests') action = { GET: 'BatchGetImage', HEAD: 'BatchGetImage', PUT: 'PutImage', DELETE: 'BatchDeleteImage' }[method];
  else if (req.kind === 'tags') action = 'ListImages';
  else if (req.kind === 'referrers') action = 'BatchGetImage';
  else if (req.kind === 'blobs' && req.upload)
    action = { POST: 'InitiateLayerUpload', PATCH: 'UploadLayerPart', PUT: 'CompleteLayerUpload' }[method] ?? 'UploadLayerPart';
  else if (req.kind === 'blobs') action = method === 'HEAD' ? 'BatchCheckLayerAvailability' : 'GetDownloadUrlForLayer';
  return action ? [one(`ecr:${action}`, resource)] : [];
}

const patterns = new Map<string, RegExp>();
/** IAM wildcards: `*` any run of characters (slashes and colons too), `?` one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let re = patterns.get(key);
  if (!re) {
    re = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
      ignoreCase ? 'is' : 's',
    );
    patterns.set(key, re);
  }
  return re.test(value);
}

const asList = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

/** Whether an identity policy (Allow statements with StringEquals conditions) allows the permission. */
export function allows(policy: PolicyDocument, permission: Permission): boolean {
  return policy.Statement.some(
    (s) =>
      asList(s.Action).some((p) => wildcardMatch(p, permission.action, true)) &&
      asList(s.Resource).some((p) => wildcardMatch(p, permission.resource)) &&
      Object.entries(s.Condition?.StringEquals ?? {}).every(([key, values]) => {
        const actual = permission.context?.[key];
        return actual !== undefined && asList(values).includes(actual);
      }),
  );
}

/** Refuses policies this evaluator would misread: only Allow, and only StringEquals conditions. */
export function validatePolicy(name: string, policy: PolicyDocument): void {
  if (!Array.isArray(policy?.Statement)) throw new Error(`policy for ${name}: Statement must be a list`);
  for (const s of policy.Statement) {
    if (s.Effect !== 'Allow') throw new Error(`policy for ${name}: only Allow statements are supported, got ${String(s.Effect)}`);
    const operators = Object.keys(s.Condition ?? {}).filter((op) => op !== 'StringEquals');
    if (operators.length) throw new Error(`policy for ${name}: only StringEquals conditions are supported, got ${operators.join(', ')}`);
  }
}

export function deniedMessage(accountId: string, denied: Permission): string {
  return `User: ${callerArn(accountId)} is not authorized to perform: ${denied.action} on resource: ${denied.resource} because no identity-based policy allows the ${denied.action} action`;
}

export interface Iam {
  /** Whether calls are checked (a policy set was given); without one every call is allowed and still recorded. */
  readonly enforcing: boolean;
  /** Records what the caller needed and returns the first permission its policy does not allow. */
  authorize(caller: string, permissions: Permission[]): Permission | undefined;
  /** Every distinct permission each action needed so far (kept across reset: it describes the run, not the account). */
  observed(): Observation[];
  /** Replaces the policies (null: stop enforcing). */
  setPolicies(policies: Record<string, PolicyDocument> | null): void;
  policies(): Record<string, PolicyDocument> | null;
}

/** Policies by action name; an action without one is allowed nothing, as a role without a policy. */
export function createIam(initial: Record<string, PolicyDocument> | null = null, onDenied?: (caller: string, denied: Permission) => void): Iam {
  let policies: Record<string, PolicyDocument> | null = null;
  const observed = new Map<string, Observation>();
  const iam: Iam = {
    get enforcing() {
      return policies !== null;
    },
    authorize(caller, permissions) {
      for (const permission of permissions) {
        const key = JSON.stringify([caller, permission.action, permission.resource, permission.context ?? {}]);
        if (!observed.has(key)) observed.set(key, { caller, permission });
      }
      if (!policies) return undefined;
      const policy = policies[caller];
      const denied = permissions.find((p) => !policy || !allows(policy, p));
      if (denied) onDenied?.(caller, denied);
      return denied;
    },
    observed: () => [...observed.values()],
    setPolicies(next) {
      for (const [name, policy] of Object.entries(next ?? {})) validatePolicy(name, policy);
      policies = next;
    },
    policies: () => policies,
  };
  iam.setPolicies(initial);
  return iam;
}
