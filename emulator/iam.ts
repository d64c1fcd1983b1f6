// IAM for the emulator: which permissions each call needs (one table, after AWS's Service Authorization
// Reference), attribution of calls to the action named in the user agent, and identity-policy evaluation.
// Shares nothing with src/; scripts/iam-policy.ts turns what it records into the policies the catalog documents.
import type { IncomingHttpHeaders } from 'node:http';
import { callerArn } from './services/sts.ts';

/** A request context value: multivalued keys (aws:TagKeys, the Route 53 record keys) are lists. */
export type ContextValue = string | string[];

/** One authorization AWS performs for a request: an IAM action on one resource, with the context keys it sets. */
export interface Permission {
  action: string;
  /** The resource ARN, or "*" for actions without resource-level permissions. */
  resource: string;
  /** The request context conditions test (iam:PassedToService, ecs:cluster, aws:RequestTag/..., aws:ResourceTag/...). */
  context?: Record<string, ContextValue>;
  /** Which of the user's roles a passed role is (its placeholder in the catalog's policies). */
  role?: PassedRole['as'];
}

/** A role a request passes, and what it is to the task or service that gets it. */
export interface PassedRole {
  arn: string;
  as: 'ExecutionRole' | 'TaskRole' | 'InfrastructureRole';
}

/** Operator (StringEquals, ForAllValues:StringLike, NullIfExists...) to condition key to the values it accepts. */
export type Condition = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Effect: 'Allow';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Condition;
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

/** Where a request is evaluated: the ARNs it names are built in this region and account. */
export interface Region {
  region: string;
  account: string;
}

/** The account's state a request is evaluated against. */
export interface Scope extends Region {
  /** The roles a task definition (family, family:revision or ARN) passes; none when unknown. */
  taskDefinitionRoles(ref: string): PassedRole[];
  /** The tags of the resource an ARN names; undefined when it does not exist (yet). */
  resourceTags(arn: string): Record<string, string> | undefined;
  /** Whether the service-linked role for this service principal exists in the account. */
  hasServiceLinkedRole(service: string): boolean;
}

/** What a call needs, given its input. Resources the call itself creates get `*` where AWS would assign an ID. */
type Rule = (input: Input, scope: Scope) => Permission[];

const one = (action: string, resource: string, context?: Record<string, ContextValue>): Permission =>
  context && Object.keys(context).length ? { action, resource, context } : { action, resource };

/** Tags as each protocol sends them: ECS `[{key,value}]`, ELB and ECR `[{Key,Value}]`, Logs and Auto Scaling a map. */
function tagMap(v: unknown): Record<string, string> {
  if (Array.isArray(v)) {
    return Object.fromEntries(
      v.flatMap((t: { key?: unknown; value?: unknown; Key?: unknown; Value?: unknown }) => {
        const key = str(t?.key ?? t?.Key);
        return key ? [[key, String(t?.value ?? t?.Value ?? '')]] : [];
      }),
    );
  }
  return v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, value]) => [k, String(value)])) : {};
}

/** aws:RequestTag/<key> for each tag a request sets, and aws:TagKeys. */
function requestTags(tags: Record<string, string>): Record<string, ContextValue> {
  const keys = Object.keys(tags);
  if (keys.length === 0) return {};
  return { ...Object.fromEntries(keys.map((k) => [`aws:RequestTag/${k}`, tags[k] ?? ''])), 'aws:TagKeys': keys };
}
const tagKeys = (keys: string[]): Record<string, ContextValue> => (keys.length ? { 'aws:TagKeys': keys } : {});

function ecsArn(a: Region, kind: string, path: string): string {
  return `arn:aws:ecs:${a.region}:${a.account}:${kind}/${path}`;
}
const clusterName = (ref: unknown): string => (str(ref) ?? 'default').split('/').pop() ?? 'default';
const clusterArn = (a: Region, ref: unknown): string => (str(ref)?.startsWith('arn:') ? (ref as string) : ecsArn(a, 'cluster', clusterName(ref)));
const serviceArn = (a: Region, cluster: unknown, ref: string): string =>
  ref.startsWith('arn:') ? ref : ecsArn(a, 'service', `${clusterName(cluster)}/${ref}`);
const taskArn = (a: Region, cluster: unknown, ref: string): string => (ref.startsWith('arn:') ? ref : ecsArn(a, 'task', `${clusterName(cluster)}/${ref}`));
// A bare family means its latest revision, which the request does not name.
const taskDefinitionArn = (a: Region, ref: string): string =>
  ref.startsWith('arn:') ? ref : ecsArn(a, 'task-definition', ref.includes(':') ? ref : `${ref}:*`);
/** ecs:cluster, which ECS sets on the calls that act in a cluster. */
const inCluster = (a: Region, cluster: unknown): Record<string, string> => ({ 'ecs:cluster': clusterArn(a, cluster) });

/**
 * ECS and ELB authorize tags on create as tagging the new resource, with the creating action as context and the
 * request's tags; Logs and ECR authorize the tagging action on the new resource.
 */
function tagOnCreate(action: string, resource: string, tags: Record<string, string>, createAction?: [string, string]): Permission[] {
  if (Object.keys(tags).length === 0) return [];
  return [one(action, resource, { ...(createAction ? { [createAction[0]]: createAction[1] } : {}), ...requestTags(tags) })];
}
const passRole = (role: PassedRole, service: string): Permission => ({
  ...one('iam:PassRole', role.arn, { 'iam:PassedToService': service }),
  role: role.as,
});
const taskRoles = (body: Input): PassedRole[] => [
  ...(str(body.executionRoleArn) ? [{ arn: str(body.executionRoleArn) as string, as: 'ExecutionRole' as const }] : []),
  ...(str(body.taskRoleArn) ? [{ arn: str(body.taskRoleArn) as string, as: 'TaskRole' as const }] : []),
];
/** The infrastructure role of a blue/green load balancer, which ECS itself assumes to shift traffic. */
const infrastructureRoles = (loadBalancers: unknown): Permission[] =>
  (Array.isArray(loadBalancers) ? loadBalancers : []).flatMap((loadBalancer) => {
    const role = str((loadBalancer as { advancedConfiguration?: { roleArn?: unknown } })?.advancedConfiguration?.roleArn);
    return role ? [passRole({ arn: role, as: 'InfrastructureRole' }, 'ecs.amazonaws.com')] : [];
  });

/** The service-linked roles ECS and ELB create on first use, as the caller (IAM User Guide, service-linked roles). */
const SERVICE_LINKED_ROLES: Record<string, string> = {
  'ecs.amazonaws.com': 'AWSServiceRoleForECS',
  'elasticloadbalancing.amazonaws.com': 'AWSServiceRoleForElasticLoadBalancing',
};
export function serviceLinkedRolePermission(a: Region, service: string): Permission {
  return one('iam:CreateServiceLinkedRole', `arn:aws:iam::${a.account}:role/aws-service-role/${service}/${SERVICE_LINKED_ROLES[service]}`, {
    'iam:AWSServiceName': service,
  });
}
/** ELB creates its service-linked role with a first load balancer or target group, and refuses the call without it. */
const elbServiceLinkedRole = (a: Scope): Permission[] =>
  a.hasServiceLinkedRole('elasticloadbalancing.amazonaws.com') ? [] : [serviceLinkedRolePermission(a, 'elasticloadbalancing.amazonaws.com')];

const elbArn = (a: Region, path: string): string => `arn:aws:elasticloadbalancing:${a.region}:${a.account}:${path}`;
const logGroupArn = (a: Region, name: string): string => `arn:aws:logs:${a.region}:${a.account}:log-group:${name}`;
const repositoryArn = (a: Region, name: string): string => `arn:aws:ecr:${a.region}:${a.account}:repository/${name}`;
const hostedZoneArn = (id: unknown): string => `arn:aws:route53:::hostedzone/${(str(id) ?? '').replace(/^\/hostedzone\//, '')}`;

/** A DNS name as route53:ChangeResourceRecordSetsNormalizedRecordNames holds it: lower case, no final dot, other characters as \ooo. */
function normalizedRecordName(name: string): string {
  return [...name.toLowerCase().replace(/\.$/, '')].map((c) => (/[a-z0-9_.-]/.test(c) ? c : `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`)).join('');
}
/** The context keys Route 53 sets for a change batch: every name, type and action it changes. */
function recordChanges(batch: unknown): Record<string, string[]> {
  const changes = ((batch as { Changes?: unknown })?.Changes ?? []) as { Action?: unknown; ResourceRecordSet?: { Name?: unknown; Type?: unknown } }[];
  const distinct = (values: (string | undefined)[]) => [...new Set(values.filter((v): v is string => v !== undefined))];
  return {
    'route53:ChangeResourceRecordSetsNormalizedRecordNames': distinct(
      changes.map((c) => str(c?.ResourceRecordSet?.Name)).map((n) => n && normalizedRecordName(n)),
    ),
    'route53:ChangeResourceRecordSetsRecordTypes': distinct(changes.map((c) => str(c?.ResourceRecordSet?.Type))),
    'route53:ChangeResourceRecordSetsActions': distinct(changes.map((c) => str(c?.Action))),
  };
}

/**
 * Operations whose permissions are not simply `<prefix>:<Operation>` on "*": resource-level permissions, the
 * request context, and the extra authorizations AWS performs (tags on create, roles passed to ECS, service-linked
 * roles, the service Application Auto Scaling changes). Sources: the Service Authorization Reference pages for
 * ecs, elasticloadbalancing, logs, ecr, application-autoscaling, route53 and iam; ECS "Grant permission to tag
 * resources on creation"; ELB "API permissions to tag resources during creation"; Route 53 "Using IAM policy
 * conditions for fine-grained access control"; Application Auto Scaling "Permissions required for API actions on
 * target services". aws:ResourceTag/* is added for every resource that exists (see requiredPermissions).
 */
const RULES: Record<string, Rule> = {
  'ecs:CreateCluster': (i, a) => {
    const cluster = clusterArn(a, i.clusterName);
    const tags = tagMap(i.tags);
    return [one('ecs:CreateCluster', cluster, requestTags(tags)), ...tagOnCreate('ecs:TagResource', cluster, tags, ['ecs:CreateAction', 'CreateCluster'])];
  },
  'ecs:CreateService': (i, a) => {
    const service = serviceArn(a, i.cluster, str(i.serviceName) ?? '');
    const tags = tagMap(i.tags);
    return [
      one('ecs:CreateService', service, { ...inCluster(a, i.cluster), ...requestTags(tags) }),
      ...tagOnCreate('ecs:TagResource', service, tags, ['ecs:CreateAction', 'CreateService']),
      ...infrastructureRoles(i.loadBalancers),
    ];
  },
  'ecs:UpdateService': (i, a) => [
    one('ecs:UpdateService', serviceArn(a, i.cluster, str(i.service) ?? ''), inCluster(a, i.cluster)),
    ...infrastructureRoles(i.loadBalancers),
  ],
  'ecs:DeleteService': (i, a) => [one('ecs:DeleteService', serviceArn(a, i.cluster, str(i.service) ?? ''), inCluster(a, i.cluster))],
  'ecs:DescribeServices': (i, a) => list(i.services).map((s) => one('ecs:DescribeServices', serviceArn(a, i.cluster, s))),
  'ecs:ListServiceDeployments': (i, a) => [one('ecs:ListServiceDeployments', serviceArn(a, i.cluster, str(i.service) ?? ''))],
  'ecs:DescribeServiceDeployments': (i) => list(i.serviceDeploymentArns).map((arn) => one('ecs:DescribeServiceDeployments', arn)),
  'ecs:DescribeServiceRevisions': (i) => list(i.serviceRevisionArns).map((arn) => one('ecs:DescribeServiceRevisions', arn)),
  'ecs:DescribeClusters': (i, a) => (list(i.clusters).length ? list(i.clusters) : ['default']).map((c) => one('ecs:DescribeClusters', clusterArn(a, c))),
  'ecs:DescribeTasks': (i, a) => list(i.tasks).map((t) => one('ecs:DescribeTasks', taskArn(a, i.cluster, t))),
  'ecs:DeleteTaskDefinitions': (i, a) => list(i.taskDefinitions).map((t) => one('ecs:DeleteTaskDefinitions', taskDefinitionArn(a, t))),
  'ecs:RegisterTaskDefinition': (i, a) => {
    const tags = tagMap(i.tags);
    return [
      one('ecs:RegisterTaskDefinition', '*', requestTags(tags)),
      ...taskRoles(i).map((role) => passRole(role, 'ecs-tasks.amazonaws.com')),
      ...tagOnCreate('ecs:TagResource', taskDefinitionArn(a, str(i.family) ?? ''), tags, ['ecs:CreateAction', 'RegisterTaskDefinition']),
    ];
  },
  // Running a task passes its roles (the task definition's, or the overrides') to ECS.
  'ecs:RunTask': (i, a) => {
    const ref = str(i.taskDefinition) ?? '';
    const tags = tagMap(i.tags);
    const roles = new Map([...a.taskDefinitionRoles(ref), ...taskRoles((i.overrides ?? {}) as Input)].map((role) => [role.arn, role]));
    return [
      one('ecs:RunTask', taskDefinitionArn(a, ref), { ...inCluster(a, i.cluster), ...requestTags(tags) }),
      ...[...roles.values()].map((role) => passRole(role, 'ecs-tasks.amazonaws.com')),
      ...tagOnCreate('ecs:TagResource', ecsArn(a, 'task', `${clusterName(i.cluster)}/*`), tags, ['ecs:CreateAction', 'RunTask']),
    ];
  },
  'ecs:TagResource': (i) => [one('ecs:TagResource', str(i.resourceArn) ?? '', requestTags(tagMap(i.tags)))],
  'ecs:UntagResource': (i) => [one('ecs:UntagResource', str(i.resourceArn) ?? '', tagKeys(list(i.tagKeys)))],
  'ecs:ListTagsForResource': (i) => [one('ecs:ListTagsForResource', str(i.resourceArn) ?? '')],

  'elasticloadbalancing:CreateLoadBalancer': (i, a) => {
    const lb = elbArn(a, `loadbalancer/${i.Type === 'network' ? 'net' : 'app'}/${str(i.Name) ?? ''}/*`);
    const tags = tagMap(i.Tags);
    return [
      one('elasticloadbalancing:CreateLoadBalancer', lb, requestTags(tags)),
      ...tagOnCreate('elasticloadbalancing:AddTags', lb, tags, ['elasticloadbalancing:CreateAction', 'CreateLoadBalancer']),
      ...elbServiceLinkedRole(a),
    ];
  },
  'elasticloadbalancing:CreateTargetGroup': (i, a) => {
    const tg = elbArn(a, `targetgroup/${str(i.Name) ?? ''}/*`);
    const tags = tagMap(i.Tags);
    return [
      one('elasticloadbalancing:CreateTargetGroup', tg, requestTags(tags)),
      ...tagOnCreate('elasticloadbalancing:AddTags', tg, tags, ['elasticloadbalancing:CreateAction', 'CreateTargetGroup']),
      ...elbServiceLinkedRole(a),
    ];
  },
  'elasticloadbalancing:CreateListener': (i) => {
    const lb = str(i.LoadBalancerArn) ?? '';
    const tags = tagMap(i.Tags);
    return [
      one('elasticloadbalancing:CreateListener', lb, requestTags(tags)),
      ...tagOnCreate('elasticloadbalancing:AddTags', `${lb.replace(':loadbalancer/', ':listener/')}/*`, tags, [
        'elasticloadbalancing:CreateAction',
        'CreateListener',
      ]),
    ];
  },
  'elasticloadbalancing:CreateRule': (i) => {
    const listener = str(i.ListenerArn) ?? '';
    const tags = tagMap(i.Tags);
    return [
      one('elasticloadbalancing:CreateRule', listener, requestTags(tags)),
      ...tagOnCreate('elasticloadbalancing:AddTags', `${listener.replace(':listener/', ':listener-rule/')}/*`, tags, [
        'elasticloadbalancing:CreateAction',
        'CreateRule',
      ]),
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
  'elasticloadbalancing:AddTags': (i) => list(i.ResourceArns).map((arn) => one('elasticloadbalancing:AddTags', arn, requestTags(tagMap(i.Tags)))),
  'elasticloadbalancing:RemoveTags': (i) => list(i.ResourceArns).map((arn) => one('elasticloadbalancing:RemoveTags', arn, tagKeys(list(i.TagKeys)))),

  // CloudWatch Logs does not support aws:TagKeys / aws:RequestTag conditions on tagging log groups (TagLogGroup
  // API reference), so its requests carry none here.
  'logs:CreateLogGroup': (i, a) => {
    const group = logGroupArn(a, str(i.logGroupName) ?? '');
    return [one('logs:CreateLogGroup', group), ...(Object.keys(tagMap(i.tags)).length ? [one('logs:TagResource', group)] : [])];
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
    const tags = tagMap(i.tags);
    return [one('ecr:CreateRepository', repository, requestTags(tags)), ...tagOnCreate('ecr:TagResource', repository, tags)];
  },
  'ecr:DescribeRepositories': (i, a) =>
    (list(i.repositoryNames).length ? list(i.repositoryNames) : ['*']).map((name) => one('ecr:DescribeRepositories', repositoryArn(a, name))),
  'ecr:TagResource': (i) => [one('ecr:TagResource', str(i.resourceArn) ?? '', requestTags(tagMap(i.tags)))],
  'ecr:UntagResource': (i) => [one('ecr:UntagResource', str(i.resourceArn) ?? '', tagKeys(list(i.tagKeys)))],
  'ecr:ListTagsForResource': (i) => [one('ecr:ListTagsForResource', str(i.resourceArn) ?? '')],

  // Registering an ECS service as a scalable target reads and changes the service as the caller.
  'application-autoscaling:RegisterScalableTarget': (i, a) => {
    const resourceId = str(i.ResourceId) ?? '';
    const ecsService = i.ServiceNamespace === 'ecs' && resourceId.startsWith('service/') ? [ecsArn(a, 'service', resourceId.slice('service/'.length))] : [];
    const tags = tagMap(i.Tags);
    return [
      one('application-autoscaling:RegisterScalableTarget', '*', requestTags(tags)),
      ...ecsService.flatMap((service) => [one('ecs:DescribeServices', service), one('ecs:UpdateService', service)]),
      ...(Object.keys(tags).length ? [one('application-autoscaling:TagResource', '*', requestTags(tags))] : []),
    ];
  },

  'route53:ChangeResourceRecordSets': (i) => [one('route53:ChangeResourceRecordSets', hostedZoneArn(i.HostedZoneId), recordChanges(i.ChangeBatch))],
  'route53:ListResourceRecordSets': (i) => [one('route53:ListResourceRecordSets', hostedZoneArn(i.HostedZoneId))],
  'route53:GetHostedZone': (i) => [one('route53:GetHostedZone', hostedZoneArn(i.Id))],
  'route53:GetChange': (i) => [one('route53:GetChange', `arn:aws:route53:::change/${(str(i.Id) ?? '').replace(/^\/change\//, '')}`)],

  // Any principal may ask who it is.
  'sts:GetCallerIdentity': () => [],
};

/** ECR operations that act on the repository named in the request take it as their resource. */
function ecrDefault(operation: string, input: Input, a: Region): Permission[] {
  const name = str(input.repositoryName);
  return [one(`ecr:${operation}`, name ? repositoryArn(a, name) : '*')];
}

// Route 53 hosted zones and IAM roles have no aws:ResourceTag key in these authorizations.
const withoutResourceTags = /^arn:aws:(route53|iam):/;

/**
 * The permissions an AWS call needs. Anything not in the table is `<prefix>:<Operation>` on "*". A permission on a
 * resource that exists carries its tags as aws:ResourceTag/<key>, as AWS evaluates them at the time of the call.
 */
export function requiredPermissions(service: string, operation: string, input: Input, scope: Scope): Permission[] {
  const prefix = PREFIX[service] ?? service;
  const rule = RULES[`${prefix}:${operation}`];
  const permissions = rule ? rule(input, scope) : prefix === 'ecr' ? ecrDefault(operation, input, scope) : [one(`${prefix}:${operation}`, '*')];
  return permissions.map((permission) => {
    if (permission.resource.includes('*') || withoutResourceTags.test(permission.resource)) return permission;
    const tags = scope.resourceTags(permission.resource);
    if (!tags || Object.keys(tags).length === 0) return permission;
    const context = { ...permission.context, ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])) };
    return { ...permission, context };
  });
}

/**
 * What a request to the image registry needs (the ECR actions of `docker push` and `docker pull`). Requests
 * without a repository (the /v2/ ping) need only the token, which GetAuthorizationToken already authorized.
 */
export function registryPermissions(req: { method: string; repository?: string; kind?: string; upload: boolean }, scope: Region): Permission[] {
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

/** ArnLike and ArnEquals: each of the six colon-separated parts matched on its own, wildcards within a part. */
function arnMatch(pattern: string, value: string): boolean {
  const split = (arn: string) => {
    const parts = arn.split(':');
    return [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const p = split(pattern);
  const v = split(value);
  return v.length === 6 && p.length === 6 && p.every((part, i) => wildcardMatch(part, v[i] ?? ''));
}

/** How one context value is compared with one policy value, for each base operator. */
const MATCHERS: Record<string, (policy: string, actual: string) => boolean> = {
  StringEquals: (p, v) => p === v,
  StringNotEquals: (p, v) => p === v,
  StringEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
  StringLike: (p, v) => wildcardMatch(p, v),
  StringNotLike: (p, v) => wildcardMatch(p, v),
  ArnEquals: arnMatch,
  ArnLike: arnMatch,
  ArnNotEquals: arnMatch,
  ArnNotLike: arnMatch,
  Bool: (p, v) => p.toLowerCase() === v.toLowerCase(),
};
const NEGATED = new Set(['StringNotEquals', 'StringNotLike', 'ArnNotEquals', 'ArnNotLike']);
/** Keys whose value is a list (IAM Access Analyzer flags single-valued operators on them, so policies may not). */
export const isListKey = (key: string): boolean =>
  /^(aws:TagKeys|route53:ChangeResourceRecordSets(NormalizedRecordNames|RecordTypes|Actions)|route53:VPCs)$/i.test(key);

interface Operator {
  base: string;
  set?: 'ForAllValues' | 'ForAnyValue';
  ifExists: boolean;
}
function parseOperator(name: string): Operator | undefined {
  const match = /^(?:(ForAllValues|ForAnyValue):)?([A-Za-z]+?)(IfExists)?$/.exec(name);
  const base = match?.[2] ?? '';
  if (!match || (base !== 'Null' && !MATCHERS[base]) || (base === 'Null' && (match[1] || match[3]))) return undefined;
  return { base, ...(match[1] ? { set: match[1] as Operator['set'] } : {}), ifExists: match[3] !== undefined };
}

/** Context keys are case-insensitive (the tag key of aws:ResourceTag/<key> included). */
function lookup(context: Record<string, ContextValue> | undefined, key: string): ContextValue | undefined {
  const wanted = key.toLowerCase();
  for (const [k, v] of Object.entries(context ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/**
 * One operator on one key, as the IAM User Guide's condition element reference describes it: a missing key fails
 * every operator but the negated ones, IfExists, ForAllValues (true over nothing) and Null; a key's values are ORed.
 */
export function conditionHolds(operatorName: string, expected: string | string[], actual: ContextValue | undefined): boolean {
  const op = parseOperator(operatorName);
  if (!op) throw new Error(`unsupported condition operator ${operatorName}`);
  const values = asList(expected).map(String);
  const present = actual !== undefined && (!Array.isArray(actual) || actual.length > 0);
  if (op.base === 'Null') return values.some((v) => (v === 'true') !== present);
  if (!present) return op.set === 'ForAllValues' || op.ifExists || NEGATED.has(op.base);
  const match = MATCHERS[op.base] as (p: string, v: string) => boolean;
  const negate = NEGATED.has(op.base);
  const one = (v: string) => values.some((p) => match(p, v)) !== negate;
  const actuals = asList(actual);
  if (op.set === 'ForAllValues') return actuals.every(one);
  if (op.set === 'ForAnyValue') return actuals.some(one);
  return actuals.length === 1 && one(actuals[0] as string);
}

/** Whether a statement's conditions all hold: operators ANDed, keys within an operator ANDed. */
function conditionsHold(condition: Condition | undefined, context: Record<string, ContextValue> | undefined): boolean {
  return Object.entries(condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => conditionHolds(operator, expected, lookup(context, key))),
  );
}

/** Whether an identity policy (Allow statements, with conditions) allows the permission. */
export function allows(policy: PolicyDocument, permission: Permission): boolean {
  return policy.Statement.some(
    (s) =>
      asList(s.Action).some((p) => wildcardMatch(p, permission.action, true)) &&
      asList(s.Resource).some((p) => wildcardMatch(p, permission.resource)) &&
      conditionsHold(s.Condition, permission.context),
  );
}

/** Refuses policies this evaluator would misread: only Allow, only the operators above, set operators on list keys. */
export function validatePolicy(name: string, policy: PolicyDocument): void {
  if (!Array.isArray(policy?.Statement)) throw new Error(`policy for ${name}: Statement must be a list`);
  for (const s of policy.Statement) {
    if (s.Effect !== 'Allow') throw new Error(`policy for ${name}: only Allow statements are supported, got ${String(s.Effect)}`);
    for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
      const op = parseOperator(operator);
      if (!op) throw new Error(`policy for ${name}: unsupported condition operator ${operator}`);
      for (const key of Object.keys(keys ?? {})) {
        if (isListKey(key) && !op.set && op.base !== 'Null')
          throw new Error(`policy for ${name}: ${key} holds a list: test it with ForAllValues: or ForAnyValue:, not ${operator}`);
      }
    }
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
        const key = JSON.stringify([caller, permission.action, permission.resource, permission.context ?? {}, permission.role ?? '']);
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
