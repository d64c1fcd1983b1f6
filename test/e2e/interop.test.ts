// Chains users build with the official ECS actions: amazon-ecs-render-task-definition's unchanged
// bundle renders a new image into a file under RUNNER_TEMP, and our rollout deploys that file by the
// absolute path the render step outputs.
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { root, runBundle } from '../helpers/run-bundle.ts';
import { describe as describeService, seedService, startWorld, type World } from '../helpers/world.ts';

const render = join(root, '../shared/third-party/amazon-ecs-render-task-definition-1.9.0/dist/index.js');
const present = existsSync(render);
if (!present) console.warn(`Skipping the interop tests: ${render} is absent (CI keeps shared/ beside the checkout).`);

(present ? describe : describe.skip)('amazon-ecs-render-task-definition v1.9.0, then rollout-with-circuit-breaker', () => {
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

  test('the rendered file under RUNNER_TEMP deploys by its absolute path; a file outside workspace and RUNNER_TEMP is refused', async () => {
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
});
