// npm run demo: the preview-environment story, told with the real bundles against the embedded emulator.
// Each step runs dist/<action>/index.js exactly as a runner would and reports what it did.
import { startEmulator } from '../emulator/index.ts';
import { type BundleRun, runBundle } from '../test/helpers/run-bundle.ts';

const TIME_SCALE = 100;

interface Step {
  title: string;
  action: string;
  inputs: Record<string, string>;
}

const environment = 'pr-7';
const network = { subnets: 'subnet-0a1b2c3d4e5f60001,subnet-0a1b2c3d4e5f60002', 'security-groups': 'sg-0a1b2c3d4e5f60001' };

const story: Step[] = [
  { title: 'PR #7 opened: build and push the image', action: 'build-push-ecr', inputs: { repository: 'web', tags: 'pr-7' } },
  {
    title: 'PR #7 opened: provision the preview environment',
    action: 'provision-platform',
    inputs: {
      environment,
      cluster: 'previews',
      'host-pattern': '{env}.preview.example.com',
      image: 'nginx:1.27',
      'certificate-arn': 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000007',
      'load-balancer-subnets': network.subnets,
      ...network,
    },
  },
  { title: 'Push to PR #7: roll out the new image', action: 'rollout-with-circuit-breaker', inputs: { cluster: 'previews', environment, image: 'nginx:1.28' } },
  {
    title: 'A typo in the workflow: timeout "10 minutes"',
    action: 'rollout-with-circuit-breaker',
    inputs: { cluster: 'previews', environment, image: 'nginx:1.28', timeout: '10 minutes' },
  },
  { title: 'Night: put previews to sleep', action: 'scale-schedule', inputs: { mode: 'sleep', cluster: 'previews', environments: 'pr-*' } },
  { title: 'Morning: wake them', action: 'scale-schedule', inputs: { mode: 'wake', cluster: 'previews', environments: 'pr-*' } },
  { title: 'Manual rollback to the previous revision', action: 'rollback-to-revision', inputs: { cluster: 'previews', environment, to: 'previous' } },
  { title: 'PR #7 closed: tear the environment down', action: 'teardown-env', inputs: { cluster: 'previews', environment } },
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

async function emulatedSeconds(endpoint: string): Promise<number> {
  const clock = (await (await fetch(`${endpoint}/_emulator/clock`)).json()) as { epochMs: number };
  return clock.epochMs / 1000;
}

const emulator = await startEmulator({ timeScale: TIME_SCALE });
const rows: string[][] = [];
let unexpected = 0;
try {
  console.log(`Emulator at ${emulator.endpoint} (time-scale ${TIME_SCALE}); registry: ${emulator.registry ? emulator.registry.host : 'not installed'}\n`);
  for (const [index, step] of story.entries()) {
    console.log(`── ${index + 1}. ${step.title} (${step.action})`);
    const emulatedBefore = await emulatedSeconds(emulator.endpoint);
    const wallBefore = Date.now();
    const run = await runBundle(step.action, { inputs: step.inputs, env: { AWS_ENDPOINT_URL: emulator.endpoint, GITHUB_API_URL: emulator.githubApiUrl } });
    const wall = (Date.now() - wallBefore) / 1000;
    const emulated = (await emulatedSeconds(emulator.endpoint)) - emulatedBefore;
    for (const line of readableLog(run)) console.log(`   ${line.replace(/\n/g, '\n   ')}`);
    const notBuilt = run.stdout.includes('is not yet implemented');
    const outcome = run.exitCode === 0 ? 'succeeded' : notBuilt ? 'not yet implemented' : 'failed';
    if (run.stdout.includes('Unexpected error') || (run.exitCode !== 0 && run.exitCode !== 1)) unexpected++;
    console.log(`   → ${outcome} (exit ${run.exitCode})\n`);
    rows.push([`${index + 1}. ${step.title}`, step.action, outcome, `${emulated.toFixed(0)}s`, `${wall.toFixed(1)}s`]);
  }
  const state = JSON.stringify(await (await fetch(`${emulator.endpoint}/_emulator/state`)).json());
  const leftovers = (
    state.match(new RegExp(`"ecs-deploy-actions:environment","value":"${environment}"|"ecs-deploy-actions:environment":"${environment}"`, 'g')) ?? []
  ).length;

  const headers = ['step', 'action', 'outcome', 'emulated AWS time', 'wall time'];
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: string[]) => `| ${cells.map((text, column) => text.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log(`\nResources tagged for ${environment} left in the emulator: ${leftovers}`);
  const built = rows.filter((row) => row[2] !== 'not yet implemented').length;
  console.log(
    `${built} of ${rows.length} steps ran to their own outcome; the others validated their inputs, looked up their cluster or repository, ` +
      'and stopped at "not yet implemented" because those actions are still being built.',
  );
  if (leftovers > 0 || unexpected > 0) process.exitCode = 1;
} finally {
  await emulator.stop();
}
