// README's previews role, enforced: the catalog's policies with the ECR statements scoped to the
// previews repository, as README tells users to write them. preview.yml deploys under it; the same
// workflow edited to push to the release repository is refused by AWS before anything is pushed.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { PolicyDocument } from '../../emulator/iam.ts';
import { documentedPolicies } from '../../scripts/iam-policy.ts';
import { root } from '../helpers/run-bundle.ts';
import { SECURITY_GROUP, SUBNETS, sharedListener, startWorld, taggedResources, type World } from '../helpers/world.ts';
import { pullRequestEvent, runWorkflow, type WorkflowRun } from './harness.ts';

const canBuild = ['buildah', 'docker-registry'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
const ALL_REPOSITORIES = 'arn:aws:ecr:*:*:repository/*';
const PREVIEWS_REPOSITORY = 'arn:aws:ecr:*:*:repository/web-previews';

/** Every action's catalog policy with its ECR repository statements narrowed to web-previews. */
function previewsRole(): Record<string, PolicyDocument> {
  const scoped = (resource: string | string[]) =>
    (Array.isArray(resource) ? resource : [resource]).map((r) => (r === ALL_REPOSITORIES ? PREVIEWS_REPOSITORY : r));
  return Object.fromEntries(
    Object.entries(documentedPolicies()).map(([action, policy]) => [
      action,
      { ...policy, Statement: policy.Statement.map((statement) => ({ ...statement, Resource: scoped(statement.Resource) })) },
    ]),
  );
}

let world: World;
let workspace: string;
let dir: string;
let vars: Record<string, string>;

beforeAll(async () => {
  world = await startWorld({ registry: canBuild, iamPolicies: previewsRole() });
  const { listenerArn } = await sharedListener(world, 'previews', { https: true });
  vars = {
    AWS_PREVIEW_ROLE_ARN: 'arn:aws:iam::123456789012:role/web-previews',
    AWS_REGION: 'us-east-1',
    PREVIEW_LISTENER_ARN: listenerArn,
    ECS_EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    PREVIEW_SUBNETS: SUBNETS.join(','),
    PREVIEW_SECURITY_GROUPS: SECURITY_GROUP,
  };
  workspace = mkdtempSync(join(tmpdir(), 'roles-checkout-'));
  cpSync(join(root, 'workflows-examples', 'app'), workspace, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'roles-workflows-'));
}, 60_000);

afterAll(async () => {
  await world?.stop();
  for (const path of [workspace, dir]) if (path) rmSync(path, { recursive: true, force: true });
});

function run(file: string, number: number): Promise<WorkflowRun> {
  return runWorkflow({
    file,
    event: pullRequestEvent('opened', number, { headSha: String(number).repeat(40).slice(0, 40) }),
    workspace,
    vars,
    secrets: { GITHUB_TOKEN: 'ghs_rolesTestToken0000000000000000000' },
    env: { AWS_ENDPOINT_URL: world.emulator.endpoint, GITHUB_API_URL: world.emulator.githubApiUrl, ECS_DEPLOY_ACTIONS_TIME_SCALE: String(world.timeScale) },
  });
}

async function repositories(): Promise<string[]> {
  const ecr = new ECRClient({ endpoint: world.emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
  return ((await ecr.send(new DescribeRepositoriesCommand({}))).repositories ?? []).map((repository) => repository.repositoryName ?? '');
}

describe('the previews role', () => {
  (canBuild ? test : test.skip)(
    'deploys preview.yml as written',
    async () => {
      const result = await run(join(root, 'workflows-examples', 'preview.yml'), 21);
      expect(result.jobs.deploy?.result).toBe('success');
      expect(await repositories()).toContain('web-previews');
    },
    300_000,
  );

  test('cannot push to the release repository, even from a workflow a pull request edited to do so', async () => {
    const edited = join(dir, 'preview-to-release.yml');
    writeFileSync(edited, readFileSync(join(root, 'workflows-examples', 'preview.yml'), 'utf8').replaceAll('repository: web-previews', 'repository: web'));
    const result = await run(edited, 22);
    expect(result.jobs.deploy?.result).toBe('failure');
    const image = result.jobs.deploy?.steps.find((step) => step.id === 'image');
    expect(image?.outcome).toBe('failure');
    expect(image?.log).toMatch(/not authorized to perform: ecr:\w+ on resource: arn:aws:ecr:[^:]+:\d+:repository\/web\b/);
    expect(await repositories()).not.toContain('web');
    expect(await taggedResources(world, 'pr-22')).toEqual([]);
  }, 120_000);
});
