// npm run demo: the preview-environment story, told with the real bundles against the embedded emulator.
// Action steps run dist/<action>/index.js exactly as a runner would. Until provision-platform is built,
// a narrated stand-in creates pr-7 with the SDK, named and tagged as provision-platform will.
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateClusterCommand, CreateServiceCommand, DescribeServicesCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { startEmulator } from '../emulator/index.ts';
import { type BundleRun, runBundle } from '../test/helpers/run-bundle.ts';

const TIME_SCALE = 100;
const environment = 'pr-7';
const cluster = 'previews';
const family = `${cluster}-${environment}`;
const logGroup = `/ecs/${cluster}/${environment}`;
const ownership = [
  { key: 'ecs-deploy-actions:environment', value: environment },
  { key: 'ecs-deploy-actions:managed-by', value: 'ecs-deploy-actions' },
];

type Outcome = 'succeeded' | 'failed as expected' | 'refused as expected' | 'not yet implemented' | 'stand-in';

interface Step {
  title: string;
  action?: string;
  inputs?: Record<string, string>;
  /** What the step should do; anything else makes the demo fail. */
  expect: Outcome;
  /** Set up before the step: an image that crashes, for instance. */
  before?: () => Promise<void>;
  /** A stand-in for an action not built yet, done with the SDK and narrated. */
  standIn?: () => Promise<string[]>;
}

const emulator = await startEmulator({ timeScale: TIME_SCALE });
const sdk = { endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'demo' } };
const ecs = new ECSClient(sdk);
const logs = new CloudWatchLogsClient(sdk);
const control = (path: string, body: unknown) => fetch(`${emulator.endpoint}${path}`, { method: 'POST', body: JSON.stringify(body) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function provisionStandIn(): Promise<string[]> {
  await ecs.send(new CreateClusterCommand({ clusterName: cluster, capacityProviders: ['FARGATE', 'FARGATE_SPOT'] }));
  await logs.send(new CreateLogGroupCommand({ logGroupName: logGroup, tags: Object.fromEntries(ownership.map((tag) => [tag.key, tag.value])) }));
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
      tags: ownership,
      containerDefinitions: [
        {
          name: 'app',
          image: 'web:sha-1a2b3c',
          essential: true,
          user: '1000',
          readonlyRootFilesystem: true,
          linuxParameters: { capabilities: { drop: ['ALL'] } },
          portMappings: [{ containerPort: 8080 }],
          healthCheck: { command: ['CMD', '/app/healthcheck'] },
          logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': logGroup, 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'web' } },
        },
      ],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: environment,
      taskDefinition: registered.taskDefinition?.taskDefinitionArn,
      desiredCount: 2,
      capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'], securityGroups: ['sg-0a1b2c3d4e5f60001'] },
      },
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
      tags: ownership,
      propagateTags: 'SERVICE',
    }),
  );
  for (;;) {
    const service = (await ecs.send(new DescribeServicesCommand({ cluster, services: [environment] }))).services?.[0];
    if (service?.deployments?.length === 1 && service.deployments[0]?.rolloutState === 'COMPLETED') break;
    await sleep(100);
  }
  return [
    `created cluster ${cluster}, log group ${logGroup}, ${family}:1 (web:sha-1a2b3c) and service ${environment} (2 tasks on Fargate Spot), tagged for ${environment}; steady`,
  ];
}

const story: Step[] = [
  { title: 'PR #7 opened: build and push the image', action: 'build-push-ecr', inputs: { repository: 'web', tags: 'pr-7' }, expect: 'not yet implemented' },
  { title: 'PR #7 opened: provision the preview environment (stand-in for provision-platform)', expect: 'stand-in', standIn: provisionStandIn },
  {
    title: 'Push to PR #7: roll out the new image',
    action: 'rollout-with-circuit-breaker',
    inputs: { cluster, environment, image: 'web:sha-4d5e6f', 'keep-revisions': '5' },
    expect: 'succeeded',
  },
  {
    title: 'A bad push: the app crashes on start',
    action: 'rollout-with-circuit-breaker',
    inputs: { cluster, environment, image: 'web:sha-bad000' },
    expect: 'failed as expected',
    before: async () => {
      await control('/_emulator/behaviours', { image: 'web:sha-bad000', kind: 'crash', exitCode: 1, logLines: ['booting web', 'Error: missing DATABASE_URL'] });
    },
  },
  {
    title: 'A typo in the workflow: timeout "10 minutes"',
    action: 'rollout-with-circuit-breaker',
    inputs: { cluster, environment, image: 'web:sha-4d5e6f', timeout: '10 minutes' },
    expect: 'refused as expected',
  },
  { title: 'Night: put previews to sleep', action: 'scale-schedule', inputs: { mode: 'sleep', cluster, environments: 'pr-*' }, expect: 'not yet implemented' },
  { title: 'Morning: wake them', action: 'scale-schedule', inputs: { mode: 'wake', cluster, environments: 'pr-*' }, expect: 'not yet implemented' },
  { title: 'Manual rollback to the previous revision', action: 'rollback-to-revision', inputs: { cluster, environment, to: 'previous' }, expect: 'succeeded' },
  { title: 'PR #7 closed: tear the environment down', action: 'teardown-env', inputs: { cluster, environment }, expect: 'succeeded' },
  { title: 'PR #7 closed again (a re-run): nothing left to delete', action: 'teardown-env', inputs: { cluster, environment }, expect: 'succeeded' },
];

/** The step's log as a person reads it in the Actions UI: commands decoded, groups shown as headings. */
function readableLog(run: BundleRun): string[] {
  return run.stdout
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('::endgroup::') && !line.startsWith('::add-mask::'))
    .map((line) => {
      const command = /^::(\w+)(?: [^:]*)?::(.*)$/.exec(line);
      if (!command) return line;
      const text = (command[2] ?? '').replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
      return command[1] === 'group' ? `▸ ${text}` : `${command[1]}: ${text}`;
    });
}

function outcomeOf(run: BundleRun): Outcome | 'failed' {
  if (run.exitCode === 0) return 'succeeded';
  if (run.stdout.includes('is not yet implemented')) return 'not yet implemented';
  if (/::error[^:]*::Input "/.test(run.stdout)) return 'refused as expected';
  if (run.exitCode === 1 && !run.stdout.includes('Unexpected error') && /Deployment of .* was rolled back/.test(run.stdout)) return 'failed as expected';
  return 'failed';
}

async function emulatedSeconds(): Promise<number> {
  const clock = (await (await fetch(`${emulator.endpoint}/_emulator/clock`)).json()) as { epochMs: number };
  return clock.epochMs / 1000;
}

const rows: string[][] = [];
let surprises = 0;
try {
  console.log(`Emulator at ${emulator.endpoint} (time-scale ${TIME_SCALE}); registry: ${emulator.registry ? emulator.registry.host : 'not installed'}\n`);
  for (const [index, step] of story.entries()) {
    console.log(`── ${index + 1}. ${step.title}${step.action ? ` (${step.action})` : ''}`);
    await step.before?.();
    const emulatedBefore = await emulatedSeconds();
    const wallBefore = Date.now();
    let outcome: Outcome | 'failed' = 'stand-in';
    if (step.standIn) {
      for (const line of await step.standIn()) console.log(`   ${line}`);
    } else if (step.action) {
      const run = await runBundle(step.action, {
        inputs: step.inputs,
        env: { AWS_ENDPOINT_URL: emulator.endpoint, GITHUB_API_URL: emulator.githubApiUrl, ECS_DEPLOY_ACTIONS_TIME_SCALE: String(TIME_SCALE) },
      });
      for (const line of readableLog(run)) console.log(`   ${line.replace(/\n/g, '\n   ')}`);
      outcome = outcomeOf(run);
    }
    const wall = (Date.now() - wallBefore) / 1000;
    const emulated = (await emulatedSeconds()) - emulatedBefore;
    if (outcome !== step.expect) surprises++;
    console.log(`   → ${outcome}${outcome === step.expect ? '' : ` (expected: ${step.expect})`}\n`);
    rows.push([`${index + 1}. ${step.title}`, step.action ?? 'SDK stand-in', outcome, `${emulated.toFixed(0)}s`, `${wall.toFixed(1)}s`]);
  }

  type Tagged = { status: string; tags?: { key: string; value: string }[] };
  const state = (await (await fetch(`${emulator.endpoint}/_emulator/state`)).json()) as {
    services: { ecs: { services: Tagged[]; taskDefinitions: Tagged[] } };
  };
  const ours = (resource: Tagged) => resource.tags?.some((tag) => tag.key === 'ecs-deploy-actions:environment' && tag.value === environment);
  const leftovers =
    state.services.ecs.services.filter((service) => service.status !== 'INACTIVE' && ours(service)).length +
    state.services.ecs.taskDefinitions.filter((revision) => revision.status !== 'DELETE_IN_PROGRESS' && ours(revision)).length;

  const headers = ['step', 'by', 'outcome', 'emulated AWS time', 'wall time'];
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: string[]) => `| ${cells.map((text, column) => text.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log(`\nServices and task definitions tagged for ${environment} left in the emulator: ${leftovers}`);
  const pending = rows.filter((row) => row[2] === 'not yet implemented').length;
  console.log(
    `Every step did what it should. ${pending} steps use actions still being built: they validated their inputs, looked up their ` +
      'cluster or repository, and said so; provisioning was done by a narrated SDK stand-in.',
  );
  if (leftovers > 0 || surprises > 0) {
    console.log(`${surprises} step(s) did not do what they should.`);
    process.exitCode = 1;
  }
} finally {
  ecs.destroy();
  logs.destroy();
  await emulator.stop();
}
