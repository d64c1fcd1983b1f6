// Chains users build with the official ECS actions, whose unchanged bundles run here: the render
// action's file under RUNNER_TEMP deploys through our rollout by the absolute path it outputs, and a
// service the official deploy action moved goes back with our rollback-to-revision.
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { root, runBundle } from '../helpers/run-bundle.ts';
import { describe as describeService, seedService, startWorld, type World } from '../helpers/world.ts';

const render = join(root, '../shared/third-party/amazon-ecs-render-task-definition-1.9.0/dist/index.js');
const deployTaskDefinition = join(root, '../shared/third-party/amazon-ecs-deploy-task-definition-2.6.3/dist/index.js');
const present = existsSync(render) && existsSync(deployTaskDefinition);
if (!present) console.warn(`Skipping the interop tests: ${render} or ${deployTaskDefinition} is absent (CI keeps shared/ beside the checkout).`);

(present ? describe : describe.skip)('the official ECS actions, unchanged, chained with ours', () => {
  let world: World;
  let workspace: string;
  let runnerTemp: string;
  beforeAll(async () => {
    world = await startWorld();
    workspace = mkdtempSync(join(tmpdir(), 'interop-workspace-'));
    runnerTemp = mkdtempSync(join(tmpdir(), 'interop-runner-temp-'));
  });
  afterAll(async () => {
    await world.stop();
    rmSync(workspace, { recursive: true, force: true });
    rmSync(runnerTemp, { recursive: true, force: true });
  });

  test('amazon-ecs-render-task-definition v1.9.0: the rendered file under RUNNER_TEMP deploys by its absolute path; a file outside workspace and RUNNER_TEMP is refused', async () => {
    const seeded = await seedService(world, { service: 'rendered', image: 'web:v1' });
    const described = await world.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: seeded.taskDefinitionArn }));
    writeFileSync(join(workspace, 'task-definition.json'), JSON.stringify(described.taskDefinition, null, 2));

    const rendered = await runBundle('render-task-definition', {
      script: render,
      inputs: { 'task-definition': 'task-definition.json', 'container-name': 'app', image: 'web:v7' },
      env: { GITHUB_WORKSPACE: workspace, RUNNER_TEMP: runnerTemp },
    });
    expect(rendered.stdout).not.toContain('::error::');
    expect(rendered.exitCode).toBe(0);
    const file = rendered.outputs['task-definition'] ?? '';
    expect(file.startsWith(`${runnerTemp}/task-definition-`)).toBe(true);

    const run = await world.run('rollout-with-circuit-breaker', {
      inputs: { cluster: seeded.cluster, service: 'rendered', 'task-definition': file },
      env: { RUNNER_TEMP: runnerTemp },
    });
    expect(run.stdout).not.toContain('::error::');
    expect(run.exitCode).toBe(0);
    expect(run.outputs.status).toBe('successful');
    expect(run.outputs['task-definition-arn']).toMatch(/:task-definition\/previews-rendered:2$/);
    expect((await describeService(world, seeded.cluster, 'rendered'))?.taskDefinition).toBe(run.outputs['task-definition-arn']);
    const registered = await world.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: run.outputs['task-definition-arn'] }));
    expect(registered.taskDefinition?.containerDefinitions?.[0]?.image).toBe('web:v7');

    // The same file anywhere else (a directory the step may not read) is refused before any call.
    const elsewhere = mkdtempSync(join(tmpdir(), 'interop-elsewhere-'));
    try {
      const outside = join(elsewhere, 'task-definition.json');
      copyFileSync(file, outside);
      const before = (await world.calls()).length;
      const refused = await world.run('rollout-with-circuit-breaker', {
        inputs: { cluster: seeded.cluster, service: 'rendered', 'task-definition': outside },
        env: { RUNNER_TEMP: runnerTemp },
      });
      expect(refused.exitCode).toBe(1);
      expect(refused.stdout).toContain(`Input "task-definition": "${outside}" is outside the workspace and RUNNER_TEMP.`);
      expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 120_000);

  test('amazon-ecs-deploy-task-definition v2.6.3 deploys revision 2 and waits for stability; rollback-to-revision (to: previous) puts revision 1 back', async () => {
    const seeded = await seedService(world, { service: 'migrated', image: 'web:v1' });
    const described = await world.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: seeded.taskDefinitionArn }));
    // What users commit: the described revision, read-only fields and all (the official action drops them).
    writeFileSync(
      join(workspace, 'migrated.json'),
      JSON.stringify(
        { ...described.taskDefinition, containerDefinitions: [{ ...described.taskDefinition?.containerDefinitions?.[0], image: 'web:v2' }] },
        null,
        2,
      ),
    );

    const deployed = await runBundle('deploy-task-definition', {
      script: deployTaskDefinition,
      inputs: {
        'task-definition': 'migrated.json',
        service: 'migrated',
        cluster: seeded.cluster,
        'desired-count': '3',
        'propagate-tags': 'SERVICE',
        'enable-ecs-managed-tags': 'true',
        'wait-for-service-stability': 'true',
        'wait-for-minutes': '2',
      },
      env: { GITHUB_WORKSPACE: workspace, RUNNER_TEMP: runnerTemp, AWS_ENDPOINT_URL: world.emulator.endpoint },
      timeoutMs: 90_000,
    });
    expect(deployed.stdout).not.toContain('::error::');
    expect(deployed.exitCode).toBe(0);
    // As on AWS, the described revision lists the attributes its settings require; the action drops them.
    expect(deployed.stdout).toContain("::warning::Ignoring property 'requiresAttributes' in the task definition file.");
    expect(deployed.outputs['task-definition-arn']).toMatch(/:task-definition\/previews-migrated:2$/);
    expect(deployed.stdout).toMatch(/Deployment ecs-svc\/\d+ verified: rolloutState=COMPLETED/);
    expect((await describeService(world, seeded.cluster, 'migrated'))?.taskDefinition).toBe(deployed.outputs['task-definition-arn']);

    const back = await world.run('rollback-to-revision', { inputs: { cluster: seeded.cluster, service: 'migrated', to: 'previous' } });
    expect(back.stdout).not.toContain('::error::');
    expect(back.exitCode).toBe(0);
    expect(back.outputs).toMatchObject({ from: deployed.outputs['task-definition-arn'], to: seeded.taskDefinitionArn, status: 'successful' });
    const service = await describeService(world, seeded.cluster, 'migrated');
    expect(service?.taskDefinition).toBe(seeded.taskDefinitionArn);
    expect(service?.deployments).toHaveLength(1);
    expect(service?.runningCount).toBe(3);
  }, 150_000);
});
