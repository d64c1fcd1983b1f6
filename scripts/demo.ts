// npm run demo: the preview-environment story, told with the real bundles against the embedded emulator.
// Action steps run dist/<action>/index.js exactly as a runner would; a narrated stand-in creates the
// shared load balancer that a team's IaC owns.
import { CreateListenerCommand, CreateLoadBalancerCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { startEmulator } from '../emulator/index.ts';
import { type BundleRun, runBundle } from '../test/helpers/run-bundle.ts';

const TIME_SCALE = 100;
const environment = 'pr-7';
const cluster = 'previews';
const subnets = ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'];
const securityGroup = 'sg-0a1b2c3d4e5f60001';

type Outcome = 'succeeded' | 'failed as expected' | 'refused as expected' | 'stand-in' | 'skipped: no buildah';

interface Step {
  title: string;
  action?: string;
  inputs?: Record<string, string> | (() => Record<string, string>);
  /** What the step should do; anything else makes the demo fail. */
  expect: Outcome;
  /** Set up before the step: an image that crashes, for instance. */
  before?: () => Promise<void>;
  /** A stand-in for what is outside the suite (the team's IaC), done with the SDK and narrated. */
  standIn?: () => Promise<string[]>;
  /** Reads what the step produced, for the steps after it. */
  after?: (run: BundleRun) => void | Promise<void>;
}

const emulator = await startEmulator({ timeScale: TIME_SCALE });
const sdk = { endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'demo' } };
const elb = new ElasticLoadBalancingV2Client(sdk);
const control = (path: string, body: unknown) => fetch(`${emulator.endpoint}${path}`, { method: 'POST', body: JSON.stringify(body) });

let listenerArn = '';
/** The image build-push-ecr pushed; a public image name when this machine cannot build. */
let image = 'web:sha-1a2b3c';

/** The shared load balancer a platform team's IaC owns; provision-platform adds each environment's rule to it. */
async function platformStandIn(): Promise<string[]> {
  const lb = await elb.send(new CreateLoadBalancerCommand({ Name: 'previews', Subnets: subnets, SecurityGroups: [securityGroup] }));
  const listener = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancers?.[0]?.LoadBalancerArn,
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000007' }],
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain' } }],
    }),
  );
  listenerArn = listener.Listeners?.[0]?.ListenerArn ?? '';
  return [`created ALB previews (${lb.LoadBalancers?.[0]?.DNSName}) with an HTTPS listener, as the team's IaC would`];
}

const githubToken = 'ghs_demoTokenForTheEmulator';
const pullRequest = {
  name: 'pull_request',
  payload: { number: 7, pull_request: { number: 7, head: { sha: '4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e' } }, repository: { full_name: 'acme/web' } },
};

/** The pull request's comment for pr-7, as a reviewer sees it. */
async function showComment(): Promise<void> {
  const response = await fetch(`${emulator.githubApiUrl}/repos/acme/web/issues/7/comments`, { headers: { authorization: `Bearer ${githubToken}` } });
  const comments = (await response.json()) as { body: string }[];
  console.log(`   PR #7 has ${comments.length} comment(s) from the actions; it reads:`);
  for (const line of (comments[0]?.body ?? '').split('\n').filter((text) => text && !text.startsWith('<!--'))) console.log(`   │ ${line}`);
}

/** The provision step's inputs: the same on the first run and on the re-run. */
const provisionInputs = () => ({
  environment,
  cluster,
  'listener-arn': listenerArn,
  'host-pattern': '{env}.preview.example.com',
  image,
  'execution-role-arn': 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
  'container-port': '8080',
  subnets: subnets.join(','),
  'security-groups': securityGroup,
  'health-check-interval': '10s',
  'desired-count': '2',
  'capacity-provider-strategy': 'FARGATE_SPOT:3,FARGATE:1',
  'github-token': githubToken,
});

const story: Step[] = [
  {
    title: 'PR #7 opened: build and push the image',
    action: 'build-push-ecr',
    inputs: { repository: 'web', context: 'workflows-examples/app', cache: 'false' },
    expect: emulator.registry ? 'succeeded' : 'skipped: no buildah',
    after: (run) => {
      image = run.outputs.image ?? image;
    },
  },
  { title: 'Platform: the shared load balancer (stand-in for the team’s IaC)', expect: 'stand-in', standIn: platformStandIn },
  {
    title: 'PR #7 opened: provision the preview environment',
    action: 'provision-platform',
    inputs: provisionInputs,
    expect: 'succeeded',
    after: showComment,
  },
  {
    title: 'PR #7 re-run: nothing to change',
    action: 'provision-platform',
    inputs: provisionInputs,
    expect: 'succeeded',
  },
  {
    title: 'Push to PR #7: roll out the new image',
    action: 'rollout-with-circuit-breaker',
    inputs: { cluster, environment, image: 'web:sha-4d5e6f', 'keep-revisions': '5', 'github-token': githubToken },
    expect: 'succeeded',
  },
  {
    title: 'A bad push: the app crashes on start',
    action: 'rollout-with-circuit-breaker',
    inputs: { cluster, environment, image: 'web:sha-bad000', 'github-token': githubToken },
    expect: 'failed as expected',
    after: showComment,
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
  { title: 'Night: put previews to sleep', action: 'scale-schedule', inputs: { mode: 'sleep', cluster, environments: 'pr-*' }, expect: 'succeeded' },
  { title: 'Morning: wake them as they were', action: 'scale-schedule', inputs: { mode: 'wake', cluster, environments: 'pr-*' }, expect: 'succeeded' },
  { title: 'Manual rollback to the previous revision', action: 'rollback-to-revision', inputs: { cluster, environment, to: 'previous' }, expect: 'succeeded' },
  {
    title: 'PR #7 closed: tear the environment down',
    action: 'teardown-env',
    inputs: { cluster, environment, 'github-token': githubToken },
    expect: 'succeeded',
    after: showComment,
  },
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
    } else if (step.expect === 'skipped: no buildah') {
      console.log('   buildah or docker-registry is not installed (apt-get install -y buildah docker-registry): no image is built.');
      outcome = step.expect;
    } else if (step.action) {
      const run = await runBundle(step.action, {
        inputs: typeof step.inputs === 'function' ? step.inputs() : step.inputs,
        env: {
          AWS_ENDPOINT_URL: emulator.endpoint,
          GITHUB_API_URL: emulator.githubApiUrl,
          ECS_DEPLOY_ACTIONS_TIME_SCALE: String(TIME_SCALE),
          GITHUB_EVENT_NAME: pullRequest.name,
        },
        event: pullRequest.payload,
      });
      for (const line of readableLog(run)) console.log(`   ${line.replace(/\n/g, '\n   ')}`);
      outcome = outcomeOf(run);
      await step.after?.(run);
    }
    const wall = (Date.now() - wallBefore) / 1000;
    const emulated = (await emulatedSeconds()) - emulatedBefore;
    if (outcome !== step.expect) surprises++;
    console.log(`   → ${outcome}${outcome === step.expect ? '' : ` (expected: ${step.expect})`}\n`);
    rows.push([`${index + 1}. ${step.title}`, step.action ?? 'SDK stand-in', outcome, `${emulated.toFixed(0)}s`, `${wall.toFixed(1)}s`]);
  }

  type Tagged = { status: string; tags?: { key: string; value: string }[] };
  const state = (await (await fetch(`${emulator.endpoint}/_emulator/state`)).json()) as {
    services: { ecs: { services: Tagged[]; taskDefinitions: Tagged[] }; elbv2: unknown; logs: unknown };
  };
  const ours = (resource: Tagged) => resource.tags?.some((tag) => tag.key === 'ecs-deploy-actions:environment' && tag.value === environment);
  // ELB and Logs forget deleted resources; ECS keeps them a while as INACTIVE or DELETE_IN_PROGRESS.
  const taggedIn = (dump: unknown) =>
    (
      JSON.stringify(dump).match(
        new RegExp(`"Key":"ecs-deploy-actions:environment","Value":"${environment}"|"ecs-deploy-actions:environment":"${environment}"`, 'g'),
      ) ?? []
    ).length;
  const leftovers =
    state.services.ecs.services.filter((service) => service.status !== 'INACTIVE' && ours(service)).length +
    state.services.ecs.taskDefinitions.filter((revision) => revision.status !== 'DELETE_IN_PROGRESS' && ours(revision)).length +
    taggedIn(state.services.elbv2) +
    taggedIn(state.services.logs);

  const headers = ['step', 'by', 'outcome', 'emulated AWS time', 'wall time'];
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: string[]) => `| ${cells.map((text, column) => text.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log(`\nResources tagged for ${environment} left in the emulator (services, task definitions, rules, target groups, log groups): ${leftovers}`);
  console.log(
    surprises === 0
      ? 'Every step did what it should; the shared load balancer came from a narrated SDK stand-in, as a team’s IaC would make it.'
      : `${surprises} step(s) did not do what they should.`,
  );
  if (leftovers > 0 || surprises > 0) {
    process.exitCode = 1;
  }
} finally {
  elb.destroy();
  await emulator.stop();
}
