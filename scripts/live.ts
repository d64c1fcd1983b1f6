// npm run live -- [--endpoint <url>] [options]: the preview story through the committed bundles, run as a
// runner runs them, against AWS (AWS_REGION and the ambient credentials) or an endpoint such as the
// emulator. Each run has an environment of its own; the last step always runs, tears it down and checks
// by the ownership tags that nothing of it is left. Exits non-zero when a step did not do what it should
// or something is left. `--help` lists the options.
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudWatchLogsClient, ListTagsForResourceCommand, paginateDescribeLogGroups } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient, paginateListServices, paginateListTaskDefinitions } from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
  paginateDescribeTargetGroups,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { environmentNames, isOwnedBy } from '../src/environment.ts';
import { type BundleRun, root, runAction } from './run-action.ts';

export const DEFAULT_IMAGE = 'public.ecr.aws/nginx/nginx:stable';
export const DEFAULT_NEXT_IMAGE = 'public.ecr.aws/nginx/nginx:mainline';
/** What the bad release runs: the image's shell exits 1 at once, so every task stops and the circuit breaker trips. */
export const CRASH_COMMAND = ['sh', '-c', 'echo "live check: crashing on purpose"; exit 1'];
const CONTAINER = 'app';

// The ownership tags of the naming contract (src/environment.ts) that say a resource is this run's.

/** Each option, the variable it defaults from, and its fallback (none: required). */
const OPTIONS = {
  endpoint: { variable: undefined, fallback: '', help: 'AWS endpoint (an emulator); without it, AWS itself' },
  cluster: { variable: 'LIVE_CLUSTER', fallback: 'live-check', help: 'ECS cluster (created when missing, never deleted)' },
  'listener-arn': { variable: 'LIVE_LISTENER_ARN', fallback: undefined, help: 'HTTPS (or HTTP) listener of an ALB the environment gets a rule on' },
  subnets: { variable: 'LIVE_SUBNETS', fallback: undefined, help: 'subnets for the tasks, comma-separated' },
  'security-groups': { variable: 'LIVE_SECURITY_GROUPS', fallback: undefined, help: 'security groups for the tasks, comma-separated' },
  'execution-role-arn': { variable: 'LIVE_EXECUTION_ROLE_ARN', fallback: undefined, help: 'task execution role (pulls the image, writes logs)' },
  'assign-public-ip': { variable: 'LIVE_ASSIGN_PUBLIC_IP', fallback: 'false', help: 'true for public subnets without a NAT gateway' },
  'host-pattern': { variable: 'LIVE_HOST_PATTERN', fallback: '{env}.live-check.example.com', help: 'host header the rule matches' },
  image: { variable: 'LIVE_IMAGE', fallback: DEFAULT_IMAGE, help: 'image provisioned first' },
  'next-image': { variable: 'LIVE_NEXT_IMAGE', fallback: DEFAULT_NEXT_IMAGE, help: 'image rolled out next' },
  repository: {
    variable: 'LIVE_REPOSITORY',
    fallback: process.env.GITHUB_REPOSITORY || 'ecs-deploy-actions/live-check',
    help: 'GITHUB_REPOSITORY the steps run as (the ownership tag)',
  },
  'run-id': { variable: undefined, fallback: undefined, help: 'environment suffix: live-<run-id>; default the workflow run, else a timestamp' },
} as const;
type OptionName = keyof typeof OPTIONS;

interface Step {
  title: string;
  action: string;
  inputs: () => Record<string, string>;
  expected: string;
  /** Why the run is not what the step should do; undefined when it is. */
  check: (run: BundleRun) => string | undefined;
  before?: () => Promise<void>;
}

interface Row {
  step: string;
  action: string;
  expected: string;
  result: string;
  seconds: number | undefined;
}

function usage(): string {
  const lines = Object.entries(OPTIONS).map(
    ([name, option]) =>
      `  --${name.padEnd(19)} ${option.help}${option.variable ? ` [${option.variable}]` : ''}${option.fallback ? ` (default ${option.fallback})` : option.fallback === undefined && option.variable ? ' (required)' : ''}`,
  );
  return `npm run live -- [--endpoint <url>] [options]\n${lines.join('\n')}`;
}

function duration(seconds: number): string {
  const whole = Math.round(seconds);
  return seconds < 60 ? `${seconds.toFixed(1)}s` : `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, '0')}s`;
}

/**
 * A step's log as it arrives, for a person: workflow commands decoded, text between stop-commands
 * shown as it is. `::add-mask::` passes through, so a runner around this script masks the value too.
 */
function follower(): { write: (chunk: string) => void; end: () => void } {
  let pending = '';
  let stoppedBy: string | undefined;
  /** The line as shown, or undefined for a command that only structures the log. */
  const readable = (line: string): string | undefined => {
    if (stoppedBy !== undefined) {
      if (line !== `::${stoppedBy}::`) return `   ${line}`;
      stoppedBy = undefined;
      return undefined;
    }
    if (line.startsWith('::add-mask::')) return line;
    const command = /^::([\w-]+)(?: [^:]*)?::(.*)$/.exec(line);
    if (!command) return `   ${line}`;
    const [, name = '', raw = ''] = command;
    if (name === 'stop-commands') stoppedBy = raw;
    if (name === 'stop-commands' || name === 'endgroup') return undefined;
    const text = raw.replace(/%0A/g, '\n   ').replace(/%0D/g, '').replace(/%25/g, '%');
    return name === 'group' ? `   ▸ ${text}` : `   ${name}: ${text}`;
  };
  const show = (line: string): void => {
    const shown = readable(line);
    if (shown !== undefined) console.log(shown);
  };
  return {
    write: (chunk) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) show(line);
    },
    end: () => {
      if (pending) show(pending);
      pending = '';
    },
  };
}

function table(rows: Row[]): string[] {
  const cells = rows.map((row) => [row.step, row.action, row.expected, row.result, row.seconds === undefined ? '' : duration(row.seconds)]);
  const headers = ['step', 'action', 'expected', 'result', 'time'];
  const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((row) => row[column]?.length ?? 0)));
  const line = (values: string[]) => `| ${values.map((text, column) => text.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(headers), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...cells.map(line)];
}

async function main(): Promise<number> {
  const values = parseArgs({
    options: { ...Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: 'string' as const }])), help: { type: 'boolean' } },
  }).values as Partial<Record<OptionName, string>> & { help?: boolean };
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const option = (name: OptionName): string | undefined => {
    const { variable, fallback } = OPTIONS[name];
    // A workflow passes an unset variable as an empty string.
    return values[name] || (variable ? process.env[variable] : undefined) || fallback;
  };
  const missing = (Object.keys(OPTIONS) as OptionName[]).filter((name) => OPTIONS[name].variable && !option(name));
  if (missing.length > 0) {
    console.error(`Missing: ${missing.map((name) => `--${name} (or ${OPTIONS[name].variable})`).join(', ')}.\n\n${usage()}`);
    return 2;
  }
  const endpoint = option('endpoint') || undefined;
  const region = process.env.AWS_REGION || (endpoint ? 'us-east-1' : undefined);
  if (!region) {
    console.error('AWS_REGION is not set: the live check runs in that region.');
    return 2;
  }
  const cluster = option('cluster') ?? '';
  const repository = option('repository') ?? '';
  const listenerArn = option('listener-arn') ?? '';
  const { GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT } = process.env;
  const runId = option('run-id') ?? (GITHUB_RUN_ID ? `${GITHUB_RUN_ID}-${GITHUB_RUN_ATTEMPT ?? '1'}` : String(Date.now()));
  const environment = `live-${runId}`;

  // An emulator takes any keys; AWS gets the ambient credentials.
  const placeholder =
    endpoint && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE ? { accessKeyId: 'AKIDLIVECHECK', secretAccessKey: 'live-check' } : undefined;
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith('INPUT_')),
  );
  const stepEnv: Record<string, string> = {
    ...inherited,
    ...(placeholder ? { AWS_ACCESS_KEY_ID: placeholder.accessKeyId, AWS_SECRET_ACCESS_KEY: placeholder.secretAccessKey } : {}),
    AWS_REGION: region,
    GITHUB_REPOSITORY: repository,
    ...(endpoint ? { AWS_ENDPOINT_URL: endpoint } : {}),
  };
  const sdk = {
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(placeholder ? { credentials: placeholder } : {}),
  };
  const ecs = new ECSClient(sdk);
  const elb = new ElasticLoadBalancingV2Client(sdk);
  const logs = new CloudWatchLogsClient(sdk);
  // In the workspace, as a rendered task definition is: the steps take workspace-relative paths only.
  const work = join('build', 'live-check', environment);
  mkdirSync(join(root, work), { recursive: true });

  let firstRevision = '';
  let goodRevision = '';
  const crashFile = join(work, 'crashing-task-definition.json');
  const common = { cluster, environment };
  const story: Step[] = [
    {
      title: 'provision the environment',
      action: 'provision-platform',
      expected: 'succeeds',
      inputs: () => ({
        ...common,
        'listener-arn': listenerArn,
        'host-pattern': option('host-pattern') ?? '',
        image: option('image') ?? '',
        'execution-role-arn': option('execution-role-arn') ?? '',
        'container-name': CONTAINER,
        'container-port': '80',
        subnets: option('subnets') ?? '',
        'security-groups': option('security-groups') ?? '',
        'assign-public-ip': option('assign-public-ip') ?? 'false',
        'health-check-path': '/',
        'health-check-interval': '10s',
        'deregistration-delay': '5s',
        'desired-count': '1',
        'log-retention-days': '1',
      }),
      check: (run) => {
        firstRevision = run.outputs['task-definition-arn'] ?? '';
        return run.exitCode === 0 && firstRevision ? undefined : `exit ${run.exitCode}, task-definition-arn "${firstRevision}"`;
      },
    },
    {
      title: 'roll out a new image',
      action: 'rollout-with-circuit-breaker',
      expected: 'succeeds',
      inputs: () => ({ ...common, image: option('next-image') ?? '' }),
      check: (run) => {
        goodRevision = run.outputs['task-definition-arn'] ?? '';
        return run.exitCode === 0 && run.outputs.status === 'successful' && goodRevision !== firstRevision
          ? undefined
          : `exit ${run.exitCode}, status "${run.outputs.status ?? ''}", revision "${goodRevision}"`;
      },
    },
    {
      title: 'roll out a release that crashes',
      action: 'rollout-with-circuit-breaker',
      expected: 'fails, rolled back',
      // The good revision with a command that exits at once, as a file rendered for the step.
      before: async () => {
        const described = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: goodRevision, include: ['TAGS'] }));
        const definition = described.taskDefinition;
        if (!definition?.containerDefinitions?.some((container) => container.name === CONTAINER))
          throw new Error(`${goodRevision} has no container ${CONTAINER}`);
        const containerDefinitions = definition.containerDefinitions.map((container) =>
          container.name === CONTAINER ? { ...container, command: CRASH_COMMAND } : container,
        );
        writeFileSync(join(root, crashFile), JSON.stringify({ taskDefinition: { ...definition, containerDefinitions }, tags: described.tags ?? [] }));
      },
      inputs: () => ({ ...common, 'task-definition': crashFile }),
      check: (run) =>
        run.exitCode !== 0 && run.outputs.status === 'rolled-back' && run.outputs['rolled-back-to'] === goodRevision
          ? undefined
          : `exit ${run.exitCode}, status "${run.outputs.status ?? ''}", rolled back to "${run.outputs['rolled-back-to'] ?? ''}"`,
    },
    {
      title: 'roll back to the previous revision',
      action: 'rollback-to-revision',
      expected: 'succeeds',
      inputs: () => ({ ...common, to: 'previous' }),
      check: (run) =>
        run.exitCode === 0 && run.outputs.status === 'successful' && run.outputs.to === firstRevision
          ? undefined
          : `exit ${run.exitCode}, status "${run.outputs.status ?? ''}", to "${run.outputs.to ?? ''}" (wanted ${firstRevision})`,
    },
    ...(['sleep', 'wake'] as const).map((mode) => ({
      title: mode === 'sleep' ? 'put it to sleep' : 'wake it',
      action: 'scale-schedule',
      expected: 'succeeds',
      inputs: () => ({ mode, cluster, environments: environment }),
      check: (run: BundleRun) =>
        run.exitCode === 0 && run.outputs.changed === '1' ? undefined : `exit ${run.exitCode}, changed "${run.outputs.changed ?? ''}"`,
    })),
    {
      title: 'tear it down',
      action: 'teardown-env',
      expected: 'succeeds',
      inputs: () => common,
      check: (run) => (run.exitCode === 0 && Number(run.outputs.deleted) > 0 ? undefined : `exit ${run.exitCode}, deleted "${run.outputs.deleted ?? ''}"`),
    },
  ];

  let interrupted = false;
  const interrupt = (): void => {
    interrupted = true;
    console.log('Interrupted: the remaining steps are skipped; the cleanup still runs (interrupt again to stop at once).');
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const started = Date.now();
  const rows: Row[] = [];
  let surprises = 0;
  let clean = false;
  const runStep = async (number: number, title: string, action: string, inputs: Record<string, string>): Promise<{ run: BundleRun; seconds: number }> => {
    console.log(`── ${number}. ${title} (${action}) at +${duration((Date.now() - started) / 1000)}`);
    const log = follower();
    const before = Date.now();
    // The action's own timeouts come first; this only stops a step that hangs.
    const run = await runAction(action, { inputs, env: stepEnv, timeoutMs: 45 * 60_000, onStdout: log.write });
    log.end();
    if (run.stderr.trim()) console.log(run.stderr.replace(/^/gm, '   stderr: '));
    return { run, seconds: (Date.now() - before) / 1000 };
  };

  console.log(`Live check: environment ${environment} in cluster ${cluster}, ${endpoint ?? `AWS ${region}`}, as ${repository}\n`);
  try {
    for (const [index, step] of story.entries()) {
      if (surprises > 0 || interrupted) {
        rows.push({ step: `${index + 1}. ${step.title}`, action: step.action, expected: step.expected, result: 'skipped', seconds: undefined });
        continue;
      }
      let result: string;
      let seconds: number | undefined;
      try {
        await step.before?.();
        const ran = await runStep(index + 1, step.title, step.action, step.inputs());
        seconds = ran.seconds;
        const wrong = step.check(ran.run);
        result = wrong === undefined ? step.expected : `UNEXPECTED: ${wrong}`;
      } catch (error) {
        result = `UNEXPECTED: ${(error as Error).message}`;
      }
      if (result.startsWith('UNEXPECTED')) surprises++;
      console.log(`   → ${result}${seconds === undefined ? '' : ` in ${duration(seconds)}`}\n`);
      rows.push({ step: `${index + 1}. ${step.title}`, action: step.action, expected: step.expected, result, seconds });
    }
  } finally {
    // Always: whatever the story left, then a look by the tags.
    const cleanupTitle = `${story.length + 1}. cleanup: tear down again`;
    const cleanup = await runStep(story.length + 1, 'cleanup: tear down again', 'teardown-env', common);
    const cleanupResult = cleanup.run.exitCode === 0 ? `deleted ${cleanup.run.outputs.deleted ?? '?'}` : `UNEXPECTED: exit ${cleanup.run.exitCode}`;
    if (cleanup.run.exitCode !== 0) surprises++;
    rows.push({ step: cleanupTitle, action: 'teardown-env', expected: 'succeeds', result: cleanupResult, seconds: cleanup.seconds });
    console.log(`   → ${cleanupResult} in ${duration(cleanup.seconds)}\n`);
    const checkStarted = Date.now();
    let left: string[];
    try {
      left = await leftovers({ ecs, elb, logs }, { cluster, environment, repository, listenerArn });
    } catch (error) {
      left = [`the check itself failed: ${(error as Error).message}`];
    }
    rows.push({
      step: `${story.length + 2}. nothing of ${environment} left`,
      action: 'SDK, by tags',
      expected: '0 resources',
      result: left.length === 0 ? '0 resources' : `UNEXPECTED: ${left.length} left`,
      seconds: (Date.now() - checkStarted) / 1000,
    });
    ecs.destroy();
    elb.destroy();
    logs.destroy();
    rmSync(join(root, work), { recursive: true, force: true });

    const report = [
      ...table(rows),
      '',
      `Total ${duration((Date.now() - started) / 1000)}. ${surprises === 0 ? 'Every step did what it should.' : `${surprises} step(s) did not do what they should.`}`,
      left.length === 0 ? `Nothing tagged for ${environment} is left.` : `Left behind, delete by hand:\n${left.map((item) => `- ${item}`).join('\n')}`,
    ];
    console.log(report.join('\n'));
    // In a workflow, the run's page shows the table too.
    if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `## Live check: ${environment}\n\n${report.join('\n')}\n`);
    clean = surprises === 0 && left.length === 0;
  }
  return clean ? 0 : 1;
}

/** The environment's resources that still exist, found by listing and decided by their tags. */
async function leftovers(
  clients: { ecs: ECSClient; elb: ElasticLoadBalancingV2Client; logs: CloudWatchLogsClient },
  where: { cluster: string; environment: string; repository: string; listenerArn: string },
): Promise<string[]> {
  const identity = { repository: where.repository, cluster: where.cluster, environment: where.environment };
  const ours = (tags: Record<string, string>): boolean => isOwnedBy(tags, identity);
  const fromList = (tags: { key?: string | undefined; value?: string | undefined }[] | undefined): Record<string, string> =>
    Object.fromEntries((tags ?? []).map((tag) => [tag.key ?? '', tag.value ?? '']));
  const left: string[] = [];

  const serviceArns: string[] = [];
  try {
    for await (const page of paginateListServices({ client: clients.ecs }, { cluster: where.cluster })) serviceArns.push(...(page.serviceArns ?? []));
  } catch (error) {
    if ((error as Error).name !== 'ClusterNotFoundException') throw error;
  }
  for (let i = 0; i < serviceArns.length; i += 10) {
    const described = await clients.ecs.send(
      new DescribeServicesCommand({ cluster: where.cluster, services: serviceArns.slice(i, i + 10), include: ['TAGS'] }),
    );
    for (const service of described.services ?? [])
      if (service.status !== 'INACTIVE' && ours(fromList(service.tags))) left.push(`ECS service ${service.serviceArn}`);
  }

  // Task-definition families are named after cluster and environment (a prefix match; the tags decide).
  const family = environmentNames(where.cluster, where.environment).family;
  for await (const page of paginateListTaskDefinitions({ client: clients.ecs }, { familyPrefix: family, status: 'ACTIVE' })) {
    for (const arn of page.taskDefinitionArns ?? []) {
      const described = await clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }));
      if (ours(fromList(described.tags))) left.push(`task definition ${arn}`);
    }
  }

  const elbArns: string[] = [];
  for await (const page of paginateDescribeTargetGroups({ client: clients.elb }, {}))
    elbArns.push(...(page.TargetGroups ?? []).map((group) => group.TargetGroupArn ?? ''));
  let marker: string | undefined;
  do {
    const page = await clients.elb.send(new DescribeRulesCommand({ ListenerArn: where.listenerArn, Marker: marker }));
    elbArns.push(...(page.Rules ?? []).filter((rule) => !rule.IsDefault).map((rule) => rule.RuleArn ?? ''));
    marker = page.NextMarker;
  } while (marker);
  for (let i = 0; i < elbArns.length; i += 20) {
    const described = await clients.elb.send(new DescribeTagsCommand({ ResourceArns: elbArns.slice(i, i + 20) }));
    for (const description of described.TagDescriptions ?? []) {
      const tags = Object.fromEntries((description.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
      if (ours(tags)) left.push(`${description.ResourceArn?.includes(':listener-rule/') ? 'listener rule' : 'target group'} ${description.ResourceArn}`);
    }
  }

  for await (const page of paginateDescribeLogGroups({ client: clients.logs }, { logGroupNamePrefix: `/ecs/${where.cluster}/` })) {
    for (const group of page.logGroups ?? []) {
      const listed = await clients.logs.send(new ListTagsForResourceCommand({ resourceArn: group.logGroupArn ?? '' }));
      if (ours(listed.tags ?? {})) left.push(`log group ${group.logGroupName}`);
    }
  }
  return left;
}

if (import.meta.main) process.exitCode = await main();
