// The least-privilege policy of each action, from the permissions its AWS calls needed across the test suite
// (iam/observed.json, written by `npm run iam`): ARNs generalised into patterns, then grouped into statements.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Permission, type PolicyDocument, type PolicyStatement, wildcardMatch } from '../emulator/iam.ts';

const root = resolve(import.meta.dirname, '..');
export const observedPath = join(root, 'iam', 'observed.json');

/**
 * Concrete ARNs to the patterns a policy grants. Region and account become `*` so the policy attaches as is
 * (pin them to yours if you like); names users choose (cluster, service, repository, role) become `*`; fixed
 * parts the actions impose stay. `*` in an input stands for an ID AWS assigns on create.
 */
const GENERALISE: [RegExp, string][] = [
  [/^\*$/, '*'],
  [/^arn:aws:ecs:[^:]+:\d+:cluster\/[^/]+$/, 'arn:aws:ecs:*:*:cluster/*'],
  [/^arn:aws:ecs:[^:]+:\d+:service\/[^/]+\/[^/]+$/, 'arn:aws:ecs:*:*:service/*/*'],
  [/^arn:aws:ecs:[^:]+:\d+:task\/[^/]+\/[^/]+$/, 'arn:aws:ecs:*:*:task/*/*'],
  [/^arn:aws:ecs:[^:]+:\d+:task-definition\/[^:/]+:[^:/]+$/, 'arn:aws:ecs:*:*:task-definition/*:*'],
  [/^arn:aws:ecs:[^:]+:\d+:service-deployment\/[^/]+\/[^/]+\/[^/]+$/, 'arn:aws:ecs:*:*:service-deployment/*/*/*'],
  [/^arn:aws:ecs:[^:]+:\d+:service-revision\/[^/]+\/[^/]+\/[^/]+$/, 'arn:aws:ecs:*:*:service-revision/*/*/*'],
  [/^arn:aws:elasticloadbalancing:[^:]+:\d+:loadbalancer\/(app|net)\/[^/]+\/[^/]+$/, 'arn:aws:elasticloadbalancing:*:*:loadbalancer/$1/*/*'],
  [/^arn:aws:elasticloadbalancing:[^:]+:\d+:listener\/(app|net)\/[^/]+\/[^/]+\/[^/]+$/, 'arn:aws:elasticloadbalancing:*:*:listener/$1/*/*/*'],
  [
    /^arn:aws:elasticloadbalancing:[^:]+:\d+:listener-rule\/(app|net)\/[^/]+\/[^/]+\/[^/]+\/[^/]+$/,
    'arn:aws:elasticloadbalancing:*:*:listener-rule/$1/*/*/*/*',
  ],
  [/^arn:aws:elasticloadbalancing:[^:]+:\d+:targetgroup\/[^/]+\/[^/]+$/, 'arn:aws:elasticloadbalancing:*:*:targetgroup/*/*'],
  // Streams are read wherever a task definition's awslogs options point, which the user chooses.
  [/^arn:aws:logs:[^:]+:\d+:log-group:[^:]+:log-stream:.*$/, 'arn:aws:logs:*:*:log-group:*:log-stream:*'],
  // The log groups the actions create, tag and delete are the naming contract's /ecs/<cluster>/<environment>.
  [/^arn:aws:logs:[^:]+:\d+:log-group:\/ecs\/[^:]+(:\*)?$/, 'arn:aws:logs:*:*:log-group:/ecs/*'],
  [/^arn:aws:logs:[^:]+:\d+:log-group:[^:]+(:\*)?$/, 'arn:aws:logs:*:*:log-group:*'],
  [/^arn:aws:ecr:[^:]+:\d+:repository\/.+$/, 'arn:aws:ecr:*:*:repository/*'],
  [/^arn:aws:route53:::hostedzone\/.+$/, 'arn:aws:route53:::hostedzone/*'],
  [/^arn:aws:route53:::change\/.+$/, 'arn:aws:route53:::change/*'],
  [/^arn:aws:iam::\d+:role\/.+$/, 'arn:aws:iam::*:role/*'],
];

export function generalise(resource: string): string {
  for (const [pattern, replacement] of GENERALISE) if (pattern.test(resource)) return resource.replace(pattern, replacement);
  throw new Error(`no pattern for the resource ${resource}: add one to GENERALISE in scripts/iam-policy.ts`);
}

/** One line of iam/observed.json: `<action> <resource pattern>[ <context key>=<value>]...`. */
export function observedLine(permission: Permission): string {
  const context = Object.entries(permission.context ?? {}).map(([key, value]) => ` ${key}=${value}`);
  return `${permission.action} ${generalise(permission.resource)}${context.sort().join('')}`;
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

interface Grant {
  action: string;
  resource: string;
  /** Context values by key; undefined when some use needed no condition. */
  conditions?: Map<string, Set<string>>;
}

function parseLine(line: string): { action: string; resource: string; context: [string, string][] } {
  const [action = '', resource = '', ...context] = line.split(' ');
  return { action, resource, context: context.map((pair) => pair.split('=', 2) as [string, string]) };
}

/** The least-privilege policy that allows every observed line: one statement per set of resources and condition. */
export function policyFor(lines: readonly string[]): PolicyDocument {
  const grants = new Map<string, Grant>();
  for (const line of lines) {
    const { action, resource, context } = parseLine(line);
    const key = `${action} ${resource}`;
    const grant = grants.get(key) ?? { action, resource, conditions: new Map() };
    if (context.length === 0) grant.conditions = undefined;
    for (const [name, value] of context) grant.conditions?.set(name, (grant.conditions.get(name) ?? new Set()).add(value));
    grants.set(key, grant);
  }
  // A pattern another unconditional grant of the same action already covers adds nothing.
  const unconditional = [...grants.values()].filter((g) => !g.conditions);
  const needed = [...grants.values()].filter(
    (g) => !unconditional.some((other) => other !== g && other.action === g.action && wildcardMatch(other.resource, g.resource)),
  );
  const byAction = new Map<string, Grant[]>();
  for (const grant of needed) byAction.set(grant.action, [...(byAction.get(grant.action) ?? []), grant]);
  const statements = new Map<string, PolicyStatement>();
  for (const [action, actionGrants] of byAction) {
    // Grants with the same condition share a statement; unconditional ones are grouped together.
    const byCondition = new Map<string, Grant[]>();
    for (const grant of actionGrants) {
      const condition = JSON.stringify([...(grant.conditions ?? new Map())].map(([k, v]) => [k, [...v].sort()]).sort());
      byCondition.set(condition, [...(byCondition.get(condition) ?? []), grant]);
    }
    for (const [condition, group] of byCondition) {
      const resources = group.map((g) => g.resource).sort();
      const key = JSON.stringify([resources, condition]);
      const statement = statements.get(key) ?? {
        Effect: 'Allow' as const,
        Action: [],
        Resource: resources.length === 1 ? (resources[0] as string) : resources,
        ...(condition === '[]'
          ? {}
          : {
              Condition: {
                StringEquals: Object.fromEntries((JSON.parse(condition) as [string, string[]][]).map(([k, v]) => [k, v.length === 1 ? (v[0] as string) : v])),
              },
            }),
      };
      (statement.Action as string[]).push(action);
      statements.set(key, statement);
    }
  }
  for (const statement of statements.values()) (statement.Action as string[]).sort();
  const order = (s: PolicyStatement) => JSON.stringify([s.Resource, s.Condition ?? {}, s.Action]);
  return { Version: '2012-10-17', Statement: [...statements.values()].sort((a, b) => order(a).localeCompare(order(b))) };
}

/** The documented policy of every action with observations, as the catalog shows and the tests enforce. */
export function documentedPolicies(observed = readObserved()): Record<string, PolicyDocument> {
  return Object.fromEntries(Object.entries(observed).map(([action, lines]) => [action, policyFor(lines)]));
}
