// Malformed and odd values for every input of every action, read from actions/<name>/action.yml at
// run time (a new input gets cases without touching this file). Each case replaces one input of the
// valid set and says whether the value must be refused (naming the input) or is legitimately valid.
import { type ActionInput, readActions } from '../../scripts/catalog.ts';
import { prng } from './prng.ts';
import { exampleListenerArn, validInputs } from './valid-inputs.ts';

/** Put where a smuggled workflow command would carry its data, so a smuggled command is recognisable. */
export const MARKER = 'FUZZ0INJECT';

export type Expectation = 'refused' | 'accepted';
export type ValueClass = 'blank' | 'huge' | 'unicode' | 'type' | 'injection' | 'format' | 'odd';

export interface FuzzCase {
  action: string;
  input: string;
  kind: Kind;
  valueClass: ValueClass;
  label: string;
  value: string;
  expect: Expectation;
  /** The whole input set of the run: the valid set with this one input replaced. */
  inputs: Record<string, string>;
}

export type Kind =
  | 'boolean'
  | 'duration'
  /** A duration ECS counts in whole minutes: 10m, 1h or a bare 10. */
  | 'minutes'
  | 'integer'
  | 'percent'
  | 'choice'
  /** One strict token: a name, an ID, an image reference, a host name. */
  | 'name'
  /** Strict tokens, one a line or comma-separated. */
  | 'names'
  | 'arn'
  /** An ECS cluster or service by name or ARN. */
  | 'ecs-resource'
  | 'ecs-resources'
  | 'path'
  | 'paths'
  | 'path-or-arn'
  | 'url-path'
  | 'lifecycle-policy'
  /** NAME=value lines whose values are free text. */
  | 'pairs'
  /** NAME=<Secrets Manager or SSM ARN> lines. */
  | 'secret-pairs'
  | 'command'
  | 'token'
  | 'revision'
  /** A list whose items the table does not know: only bounds are checked. */
  | 'list'
  /** Not in the table and not recognised from action.yml: only bounds are checked. */
  | 'free';

export interface InputSpec {
  kind: Kind;
  /** A valid value, for near misses (a character inserted, the value made huge). */
  example: string;
  /** More values this input must refuse. */
  refused?: string[];
  /** Odd values this input accepts. */
  accepted?: string[];
  /** pairs: a 100 kB value is legitimate (build args and labels have no limit of their own). */
  hugeAccepted?: boolean;
  /** From "at most N" in the description. */
  maxItems?: number;
  /** True when the kind was inferred from action.yml rather than the table below. */
  inferred?: boolean;
}

const taskDefinitionArn = 'arn:aws:ecs:us-east-1:123456789012:task-definition/previews-web:3';

/** Inputs by name (the same name means the same thing in every action), or action:input where it does not. */
const table: Record<string, Omit<InputSpec, 'inferred'>> = {
  repository: { kind: 'name', example: 'team/web', refused: ['Team/Web', 'a', '/web', 'web/', 'team//web', 'web..x', 'web_'] },
  context: { kind: 'path', example: 'workflows-examples/app' },
  dockerfile: { kind: 'path', example: 'workflows-examples/app/Dockerfile' },
  'build-args': { kind: 'pairs', example: 'VERSION=1.2.3', hugeAccepted: true },
  target: { kind: 'name', example: 'build', refused: ['a'.repeat(129), 'build stage'] },
  platforms: { kind: 'names', example: 'linux/amd64,linux/arm64', refused: ['windows', 'linux/', 'linux/amd64/v8/x', 'Linux/AMD64'] },
  labels: { kind: 'pairs', example: 'org.example.team=web', hugeAccepted: true },
  tags: { kind: 'names', example: 'v1.2.3,latest', refused: ['.hidden', '-dash', 'a'.repeat(129), 'v1:2', 'a/b'] },
  'source-tag': { kind: 'name', example: 'sha-abc', refused: ['.hidden', 'a'.repeat(129), 'sha:abc'] },
  builder: { kind: 'choice', example: 'buildah' },
  'content-key': { kind: 'paths', example: 'workflows-examples/app' },
  'tag-mutability': { kind: 'choice', example: 'IMMUTABLE' },
  'lifecycle-policy': { kind: 'lifecycle-policy', example: '', accepted: ['none'] },
  environment: { kind: 'name', example: 'pr-7', refused: ['PR_7', 'pr-', '-pr', '7pr', 'pr.7', '42', 'a'.repeat(64)] },
  cluster: {
    kind: 'ecs-resource',
    example: 'previews',
    refused: ['pre views', 'previews!', 'a'.repeat(256), 'arn:aws:ecs:us-east-1:123456789012:service/previews/web'],
  },
  service: { kind: 'ecs-resources', example: 'web', refused: ['web!', 'arn:aws:ecs:us-east-1:123456789012:cluster/previews'] },
  'listener-arn': { kind: 'arn', example: exampleListenerArn },
  'load-balancer-pool': {
    kind: 'name',
    example: 'previews',
    refused: [
      '-pool',
      'pool-',
      'a'.repeat(29),
      `${exampleListenerArn},arn:aws:ecs:us-east-1:123456789012:cluster/previews`,
      exampleListenerArn.replace('us-east-1', 'eu-west-1'),
    ],
  },
  'hosted-zone-id': { kind: 'name', example: 'Z0123456789ABCDEFGHIJ', refused: ['z0123', 'Z', `Z${'A'.repeat(32)}`, '/hostedzone/'] },
  'certificate-arn': { kind: 'arn', example: 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000001' },
  'load-balancer-subnets': {
    kind: 'names',
    example: 'subnet-0a1b2c3d4e5f60001,subnet-0a1b2c3d4e5f60002',
    refused: ['subnet-xyz', 'subnet-0123', 'sg-0123456789abcdef0'],
  },
  'load-balancer-security-groups': { kind: 'names', example: 'sg-0a1b2c3d4e5f60001', refused: ['sg-xyz', 'subnet-0123456789abcdef0'] },
  'host-pattern': {
    kind: 'name',
    example: '{env}.preview.example.com',
    refused: ['{env}', 'preview', '{env}.{env}.example.com', 'https://{env}.example.com', '{env}.Example.com', '{ENV}.example.com'],
  },
  'path-pattern': { kind: 'url-path', example: '/api/*', refused: ['api/*', '/api/{x}', '/a b'], accepted: ['/a/"quoted"/$x@y:z+?&*'] },
  image: { kind: 'name', example: 'nginx:1.27', refused: ['nginx:', 'NGINX', 'nginx@sha256:abc', 'nginx:1.27:2', ':1.27', 'a'.repeat(513)] },
  'task-definition': { kind: 'path', example: 'test/fixtures/task-definition.json' },
  'rollout-with-circuit-breaker:task-definition': { kind: 'path-or-arn', example: taskDefinitionArn },
  'execution-role-arn': { kind: 'arn', example: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole' },
  'task-role-arn': { kind: 'arn', example: 'arn:aws:iam::123456789012:role/app' },
  'container-name': { kind: 'name', example: 'app', refused: ['my app', 'app!'] },
  container: { kind: 'name', example: 'app', refused: ['my app', 'app!'] },
  images: {
    kind: 'names',
    example: 'app=web:v2,envoy=envoy:v1.31',
    refused: ['app', '=web:v2', 'app=', 'my app=web:v2', 'app=NGINX', 'app=web:v2,app=web:v3'],
  },
  'enable-execute-command': { kind: 'boolean', example: 'true' },
  'container-port': { kind: 'integer', example: '8080', refused: ['0', '65536'] },
  subnets: { kind: 'names', example: 'subnet-0a1b2c3d4e5f60001', refused: ['subnet-xyz', 'sg-0123456789abcdef0'] },
  'security-groups': { kind: 'names', example: 'sg-0a1b2c3d4e5f60001', refused: ['sg-xyz', 'subnet-0123456789abcdef0'] },
  'health-check-path': { kind: 'url-path', example: '/health', refused: ['health', '/a b'], accepted: ['/health?full=1&x=%20'] },
  'health-check-matcher': { kind: 'name', example: '200-399', refused: ['200-', 'ok', '2xx', '200,,302', '99'] },
  'desired-count': { kind: 'integer', example: '2', refused: ['5001'] },
  cpu: { kind: 'integer', example: '512', refused: ['255', '16385'] },
  memory: { kind: 'integer', example: '1024', refused: ['511', '3000'] },
  'capacity-provider-strategy': {
    kind: 'names',
    example: 'FARGATE_SPOT:3,FARGATE:1',
    refused: ['EC2', 'FARGATE:-1', 'FARGATE:abc', 'fargate-spot', 'FARGATE:12345', 'FARGATE,FARGATE:2', 'FARGATE:0'],
  },
  'environment-variables': { kind: 'pairs', example: 'LOG_LEVEL=debug' },
  secrets: { kind: 'secret-pairs', example: 'DB=arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf' },
  'log-retention-days': { kind: 'choice', example: '30', refused: ['0', '2', '-1', '14.0', 'forever'] },
  ttl: { kind: 'duration', example: '7d', refused: ['5m'] },
  'pull-request': { kind: 'name', example: '123', refused: ['0', '#0', '-1', 'abc', 'owner/repo#', 'o r/x#1', '12345678901', '1.5', '#', 'owner/#1'] },
  'github-token': { kind: 'token', example: `ghs_${'a1B2'.repeat(9)}` },
  timeout: { kind: 'duration', example: '10m' },
  'bake-time': { kind: 'minutes', example: '10m', refused: ['1441', '24h1m', '90s'], accepted: ['0', '10', '1440'] },
  'canary-interval': { kind: 'minutes', example: '5m', refused: ['1441', '30s'], accepted: ['5'] },
  'linear-interval': { kind: 'minutes', example: '2m', refused: ['1441', '1m30s'], accepted: ['2'] },
  'keep-revisions': { kind: 'integer', example: '5', refused: ['0', '1001'] },
  hardening: { kind: 'choice', example: 'fail' },
  'run-before': { kind: 'command', example: 'npm run migrate' },
  'on-failure': { kind: 'choice', example: 'rollback-all' },
  'provision-platform:strategy': { kind: 'choice', example: 'rolling', refused: ['canary', 'BLUE_GREEN'] },
  'infrastructure-role-arn': { kind: 'arn', example: 'arn:aws:iam::123456789012:role/ecsInfrastructureRole' },
  to: {
    kind: 'revision',
    example: taskDefinitionArn,
    refused: ['0', '-1', '1000001', 'prev', 'HEAD~1', '1.5', 'v2', 'latest'],
    accepted: ['42', 'last-successful'],
  },
  mode: { kind: 'choice', example: 'wake' },
  'teardown-env:mode': { kind: 'choice', example: 'sweep' },
  environments: { kind: 'names', example: 'pr-*', refused: ['PR-*', 'pr_*', '*-', 'a'.repeat(64)] },
  exclude: { kind: 'names', example: 'pr-1*', refused: ['PR-*', 'pr_*'] },
  'protected-environments': { kind: 'names', example: 'prod,staging', refused: ['Prod', 'prod_eu'] },
  concurrency: { kind: 'integer', example: '3', refused: ['0', '51'] },
};

/** Inputs that exclude another of the valid set: the other is left out, so the value itself decides. */
const leaveOut: Record<string, string[]> = {
  'provision-platform:load-balancer-pool': ['listener-arn'],
  'provision-platform:task-definition': ['image'],
  'rollout-with-circuit-breaker:task-definition': ['image'],
  'rollout-with-circuit-breaker:images': ['image'],
  'rollout-with-circuit-breaker:environment': ['service'],
  'rollback-to-revision:environment': ['service'],
};

/** The kind of an input the table does not list, from what action.yml says about it. */
export function inferSpec(name: string, meta: ActionInput): InputSpec {
  const fallback = meta.default;
  const atMost = /\bat most (\d+)\b/.exec(meta.description);
  if (fallback === 'true' || fallback === 'false') return { kind: 'boolean', example: fallback === 'true' ? 'false' : 'true', inferred: true };
  if (/percent/.test(name)) return { kind: 'percent', example: '10', inferred: true };
  const durationExample = /such as (\d+[smhd])\b/.exec(meta.description)?.[1];
  if (/^\d+[smhd]$/.test(fallback ?? '') || durationExample || /-(time|interval|timeout|delay)$/.test(name)) {
    return { kind: 'duration', example: durationExample ?? fallback ?? '10m', inferred: true };
  }
  if (/^\d+$/.test(fallback ?? '') || /^number of/i.test(meta.description)) return { kind: 'integer', example: fallback ?? '1', inferred: true };
  const choices = /\b([a-z][a-z0-9-]*)(?:, [a-z][a-z0-9-]*)+,? or [a-z][a-z0-9-]*\b/.exec(meta.description);
  if (choices?.[1] && !/one a line|comma-separated/.test(meta.description)) return { kind: 'choice', example: choices[1], inferred: true };
  if (/one a line|comma-separated/.test(meta.description)) {
    return { kind: 'list', example: `${name}-1`, maxItems: atMost ? Number(atMost[1]) : undefined, inferred: true };
  }
  return { kind: 'free', example: fallback ?? 'x', inferred: true };
}

export function specFor(action: string, name: string, meta: ActionInput): InputSpec {
  return table[`${action}:${name}`] ?? table[name] ?? inferSpec(name, meta);
}

// ---- values ----

// biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template
const expression = '${{ secrets.X }}';

const injections: [string, string][] = [
  ['shell substitution', '$(rm -rf /)'],
  ['backticks', '`id`'],
  ['command chaining', `; echo ${MARKER}`],
  ['expression', expression],
  ['html', '"><script>alert(1)</script>'],
  ['encoded newline command', `%0a::set-output name=x::${MARKER}`],
  ['newline error command', `x\n::error::${MARKER}`],
  ['CR warning command', `x\r::warning::${MARKER}`],
  ['CRLF add-mask', `x\r\n::add-mask::${MARKER}`],
  ['indented command', `x\n   ::notice::${MARKER}`],
  ['stop-commands', `::stop-commands::${MARKER}`],
  ['legacy command mid-line', `x ##[set-output name=x;]${MARKER}`],
  ['path traversal', '../../../etc/passwd'],
];

const unicode: [string, string][] = [
  ['emoji', '🚀'],
  ['RTL override', '\u202e'],
  ['ANSI escape', '\u001b[31m'],
  ['bell', '\u0007'],
  ['DEL', '\u007f'],
  ['cyrillic homoglyph', '\u0435'],
  ['fullwidth digit', '\uff11'],
  ['line separator', '\u2028'],
];

/** The value with a character between two letters or digits near its middle, where neither trimming the value nor its list items removes it. */
function insert(example: string, char: string): string {
  const inner = Array.from({ length: Math.max(0, example.length - 1) }, (_, index) => index + 1).filter(
    (at) => /[A-Za-z0-9]/.test(example[at - 1] ?? '') && /[A-Za-z0-9]/.test(example[at] ?? ''),
  );
  const at = inner.sort((a, b) => Math.abs(a - example.length / 2) - Math.abs(b - example.length / 2))[0];
  return at === undefined ? `${example}${char}${example}` : `${example.slice(0, at)}${char}${example.slice(at)}`;
}

const HUGE = 100_000;

function hugeVariant(spec: InputSpec): string {
  switch (spec.kind) {
    case 'integer':
    case 'percent':
      return `1${'0'.repeat(HUGE)}`;
    case 'duration':
    case 'minutes':
      return `1${'0'.repeat(HUGE)}m`;
    case 'pairs':
    case 'secret-pairs':
      return `A=${'x'.repeat(HUGE)}`;
    case 'url-path':
      return `/${'a'.repeat(HUGE)}`;
    case 'token':
      return `ghp_${'A'.repeat(HUGE)}`;
    default:
      return `${spec.example}${'a'.repeat(HUGE)}`;
  }
}

const wrongTypes: Record<Kind, string[]> = {
  boolean: ['yes', '1', 'on', 'null', '{"enabled":true}', '[true]'],
  duration: ['600', '10 minutes', '-5m', '1.5h', 'PT10M', 'true', '{"minutes":10}'],
  minutes: ['10 minutes', '-5', '1.5', 'PT10M', 'true', '{"minutes":10}'],
  integer: ['abc', '1.5', '-1', '1e3', '0x10', '+5', 'true', '{"count":1}', '\u0663'],
  percent: ['abc', '-5', '150', 'NaN', 'true', '{"percent":10}'],
  choice: ['not-a-choice', '42', 'true', '{"value":"x"}'],
  name: ['{"name":"x"}', '["x"]', 'a b'],
  names: ['{"a":1}', '["x","y"]', ', ,\n,'],
  arn: ['{"arn":"x"}', '123456789012', 'true'],
  'ecs-resource': ['{"name":"x"}', '["x"]', 'a b'],
  'ecs-resources': ['{"name":"x"}', '["x"]', ', ,\n,'],
  path: ['{"path":"x"}', '42'],
  paths: ['{"path":"x"}', '42'],
  'path-or-arn': ['{"path":"x"}', '42'],
  'url-path': ['42', '{"path":"/"}', 'true'],
  'lifecycle-policy': ['42', 'true', 'null', '[]', '{}', '{"rules":[]}', '{"rules":"x"}', '{"rules":[1]}', '{"rules":[{}]}', '"none"'],
  pairs: ['{"A":"x"}', '["A=x"]', '42'],
  'secret-pairs': ['DB=hunter2', 'DB={"arn":"x"}', '{"DB":"arn:aws:ssm:us-east-1:123456789012:parameter/db"}'],
  command: ['[', '[]', '["npm", 1]', '[1,2]', 'echo "unclosed', "it's"],
  token: ['a b', '{"token": "x"}'],
  revision: ['{"revision":1}', 'a b', 'true'],
  list: [],
  free: [],
};

function mutateArn(example: string): [string, string][] {
  const [prefix, partition, service, region, account, ...rest] = example.split(':');
  const resource = rest.join(':');
  const build = (parts: { partition?: string; service?: string; region?: string; account?: string; resource?: string }) =>
    [prefix, parts.partition ?? partition, parts.service ?? service, parts.region ?? region, parts.account ?? account, parts.resource ?? resource].join(':');
  return [
    ['wrong service', build({ service: service === 'ecs' ? 'elasticloadbalancing' : 'ecs' })],
    ['wrong resource type', build({ resource: `bogus/${resource.split('/').slice(1).join('/') || 'x'}` })],
    ['wrong region', build({ region: region ? 'eu-west-1' : 'us-east-1' })],
    ['China partition', build({ partition: 'aws-cn' })],
    ['GovCloud partition', build({ partition: 'aws-us-gov' })],
    ['unknown partition', build({ partition: 'awz' })],
    ['short account', build({ account: '12345' })],
    ['no account', build({ account: '' })],
    ['letters for account', build({ account: 'abcdefghijkl' })],
    ['no resource', build({ resource: '' })],
    ['shell in resource', build({ resource: `${resource}/$(rm -rf /)` })],
    ['space in resource', build({ resource: `${resource} x` })],
    ['uppercase prefix', example.replace(/^arn:aws/, 'ARN:AWS')],
    ['truncated', [prefix, partition, service].join(':')],
  ];
}

function otherAccount(example: string): string {
  const parts = example.split(':');
  parts[4] = '999999999999';
  return parts.join(':');
}

/** An ARN in another input of the set names the account; alone, no step can tell another account from its own. */
function namesAnAccount(inputs: Record<string, string>, except: string): boolean {
  return Object.entries(inputs).some(
    ([name, value]) => name !== except && value.split(/[\n,]/).some((item) => /^arn:[^:]+:[^:]+:[^:]*:\d{12}:/.test(item.trim())),
  );
}

function arnExampleOf(spec: InputSpec): string | undefined {
  if (spec.kind === 'arn' || spec.kind === 'revision' || spec.kind === 'path-or-arn') return spec.example;
  if (spec.kind === 'ecs-resource') return `arn:aws:ecs:us-east-1:123456789012:cluster/${spec.example}`;
  if (spec.kind === 'ecs-resources') return `arn:aws:ecs:us-east-1:123456789012:service/previews/${spec.example}`;
  return undefined;
}

/** Quotes split words in run-before; one left open makes the command unreadable. */
function unbalancedQuotes(value: string): boolean {
  return (value.match(/"/g)?.length ?? 0) % 2 !== 0 || (value.match(/'/g)?.length ?? 0) % 2 !== 0;
}

interface Value {
  valueClass: ValueClass;
  label: string;
  value: string;
  expect: Expectation;
}

/** What a kind makes of a free-text value (injection, unicode) put where the value goes. */
function freeText(spec: InputSpec, text: string): { value: string; expect: Expectation } {
  switch (spec.kind) {
    case 'pairs':
      // A comma or newline starts another pair, and what follows it is no NAME=value.
      return { value: `A=${text}`, expect: /[\n,]/.test(text) ? 'refused' : 'accepted' };
    case 'command':
      return { value: `echo ${text}`, expect: unbalancedQuotes(text) ? 'refused' : 'accepted' };
    case 'lifecycle-policy':
      return { value: lifecyclePolicy(text), expect: 'accepted' };
    case 'token':
      // A token goes into an HTTP header: visible ASCII only.
      return { value: text, expect: /^[\x21-\x7e]+$/.test(text) ? 'accepted' : 'refused' };
    case 'list':
    case 'free':
      return { value: text, expect: 'accepted' };
    default:
      return { value: text, expect: 'refused' };
  }
}

function lifecyclePolicy(description: string): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description,
        selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 },
        action: { type: 'expire' },
      },
    ],
  });
}

function valuesFor(spec: InputSpec, meta: ActionInput, accountKnown: boolean): Value[] {
  const values: Value[] = [];
  const add = (valueClass: ValueClass, label: string, value: string, expect: Expectation) => values.push({ valueClass, label, value, expect });
  const blank: Expectation = meta.required ? 'refused' : 'accepted';
  add('blank', 'empty', '', blank);
  add('blank', 'whitespace', ' \t  ', blank);
  add('blank', 'newlines', '\n\n', blank);

  add('huge', '100 kB of x', 'x'.repeat(HUGE), 'refused');
  add('huge', '100 kB, shaped like the input', hugeVariant(spec), spec.hugeAccepted ? 'accepted' : 'refused');

  const example = spec.kind === 'lifecycle-policy' ? lifecyclePolicy('keep it small') : spec.example;
  for (const [label, char] of unicode) {
    const near = spec.kind === 'lifecycle-policy' ? lifecyclePolicy(`a${char}b`) : insert(example, char);
    const expect: Expectation = ['pairs', 'command', 'lifecycle-policy', 'list', 'free'].includes(spec.kind) ? 'accepted' : 'refused';
    add('unicode', label, spec.kind === 'pairs' ? `A=${insert('value', char)}` : near, expect);
  }
  add(
    'unicode',
    'trailing zero-width space',
    `${example}\u200b`,
    ['pairs', 'command', 'lifecycle-policy', 'list', 'free'].includes(spec.kind) ? 'accepted' : 'refused',
  );

  for (const value of wrongTypes[spec.kind]) add('type', JSON.stringify(value), value, 'refused');

  for (const [label, text] of injections) {
    const { value, expect } = freeText(spec, text);
    add('injection', label, value, expect);
  }

  for (const value of spec.refused ?? []) add('format', JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value), value, 'refused');
  for (const value of spec.accepted ?? []) add('odd', JSON.stringify(value), value, 'accepted');

  const arnExample = arnExampleOf(spec);
  if (arnExample) {
    for (const [label, value] of mutateArn(arnExample)) add('format', `ARN: ${label}`, value, 'refused');
    add('format', 'ARN: another account', otherAccount(arnExample), accountKnown ? 'refused' : 'accepted');
  }
  if (spec.kind === 'secret-pairs') {
    for (const [label, value] of mutateArn('arn:aws:ssm:us-east-1:123456789012:parameter/db')) {
      // Secrets may live in another region; another account's need its resource policy, also allowed.
      if (label === 'wrong region' || label === 'wrong resource type') continue;
      add('format', `secret ARN: ${label}`, `DB=${value}`, 'refused');
    }
  }
  if (spec.kind === 'path' || spec.kind === 'paths' || spec.kind === 'path-or-arn') {
    for (const value of ['/etc/passwd', '..', '../x', 'a/../../b', 'workflows-examples\\..\\..\\x', '/dev/zero', 'does-not-exist.json']) {
      add('format', `path ${JSON.stringify(value)}`, value, 'refused');
    }
  }
  if (spec.kind === 'url-path') {
    for (const value of ['/$(rm -rf /)', `/x\n::error::${MARKER}`, '/\u001b[31mred', '/caf\u00e9'])
      add('format', `path ${JSON.stringify(value)}`, value, 'refused');
  }
  if (spec.kind === 'list' && spec.maxItems !== undefined) {
    add('format', `${spec.maxItems + 1} items`, Array.from({ length: spec.maxItems + 1 }, (_, i) => `${spec.example}-${i}`).join(','), 'refused');
  }
  return values;
}

/** Inputs that only count with another set a certain way: the valid set gets that too. */
const setWith: Record<string, Record<string, string>> = {
  'provision-platform:infrastructure-role-arn': { strategy: 'blue-green' },
};

/** The valid set a case of this input starts from. */
export function baseInputs(action: string, input: string): Record<string, string> {
  const base = { ...validInputs[action]?.inputs, ...setWith[`${action}:${input}`] };
  for (const other of leaveOut[`${action}:${input}`] ?? []) delete base[other];
  return base;
}

/** Every valid set the cases start from, each with its left-out inputs' replacement filled in. */
export function validSets(action: string): Record<string, string>[] {
  const sets = [{ ...validInputs[action]?.inputs }];
  for (const [input, meta] of Object.entries(readActions().get(action)?.inputs ?? {})) {
    if (leaveOut[`${action}:${input}`] || setWith[`${action}:${input}`])
      sets.push({ ...baseInputs(action, input), [input]: specFor(action, input, meta).example });
  }
  return sets;
}

export interface FuzzMatrix {
  cases: FuzzCase[];
  /** action -> input -> the spec used (inferred ones flagged). */
  specs: Map<string, Map<string, InputSpec>>;
}

export function fuzzMatrix(): FuzzMatrix {
  const cases: FuzzCase[] = [];
  const specs = new Map<string, Map<string, InputSpec>>();
  for (const [action, metadata] of readActions()) {
    if (!validInputs[action]) throw new Error(`test/helpers/valid-inputs.ts has no valid input set for ${action}`);
    const bySpec = new Map<string, InputSpec>();
    specs.set(action, bySpec);
    for (const [input, meta] of Object.entries(metadata.inputs)) {
      const spec = specFor(action, input, meta);
      bySpec.set(input, spec);
      const base = baseInputs(action, input);
      for (const value of valuesFor(spec, meta, namesAnAccount(base, input))) {
        cases.push({ action, input, kind: spec.kind, ...value, inputs: { ...base, [input]: value.value } });
      }
    }
  }
  return { cases, specs };
}

/** `perClass` cases of each class for each input, picked with the seed: every input and every kind of value, in a fraction of the runs. */
export function sample(cases: FuzzCase[], seed: number, perClass: number): FuzzCase[] {
  const random = prng(seed);
  const groups = new Map<string, FuzzCase[]>();
  for (const fuzzCase of cases) {
    const key = `${fuzzCase.action}\0${fuzzCase.input}\0${fuzzCase.valueClass}`;
    groups.set(key, [...(groups.get(key) ?? []), fuzzCase]);
  }
  return [...groups.values()].flatMap((group) => {
    const left = [...group];
    return Array.from({ length: Math.min(perClass, group.length) }, () => left.splice(Math.floor(random() * left.length), 1)[0] as FuzzCase);
  });
}
