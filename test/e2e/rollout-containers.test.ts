// rollout-with-circuit-breaker on a task with a sidecar: several containers' images in one revision and one
// deployment, refusals before any change, and ECS Exec with the shell line for a running task.
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { describe as describeService, eventually, SECURITY_GROUP, SUBNETS, startWorld, type World } from '../helpers/world.ts';

let world: World;
const cluster = 'previews';
const token = 'ghs_exampleTokenForTheEmulator000000';

beforeAll(async () => {
  world = await startWorld();
});
afterAll(() => world.stop());

/** A steady service whose task runs an app container and an envoy sidecar. */
async function meshService(service: string): Promise<string> {
  await world.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const registered = await world.ecs.send(
    new RegisterTaskDefinitionCommand({
      family: `${cluster}-${service}`,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '512',
      memory: '1024',
      containerDefinitions: [
        { name: 'app', image: 'web:v1', essential: true, portMappings: [{ containerPort: 8080 }] },
        { name: 'envoy', image: 'envoy:v1.30', essential: true, portMappings: [{ containerPort: 9901 }] },
      ],
    }),
  );
  await world.ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: service,
      taskDefinition: registered.taskDefinition?.taskDefinitionArn,
      desiredCount: 2,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
    }),
  );
  await eventually(async () => (await describeService(world, cluster, service))?.deployments?.[0]?.rolloutState === 'COMPLETED');
  return registered.taskDefinition?.taskDefinitionArn ?? '';
}

const mutatingSince = async (before: number) => (await world.calls()).slice(before).filter((call) => call.mutating);

test('images: app and envoy get their new images in one revision, rolled out in one deployment; the summary lists both', async () => {
  const first = await meshService('mesh');
  const before = (await world.calls()).length;
  const run = await world.run('rollout-with-circuit-breaker', { inputs: { cluster, service: 'mesh', images: 'app=web:v2\nenvoy=envoy:v1.31' } });
  expect(run.stdout).not.toContain('::error::');
  expect(run.exitCode).toBe(0);
  expect(run.outputs['task-definition-arn']).toBe(first.replace(/:1$/, ':2'));
  const registered = await world.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: run.outputs['task-definition-arn'] }));
  expect(registered.taskDefinition?.containerDefinitions?.map((container) => [container.name, container.image])).toEqual([
    ['app', 'web:v2'],
    ['envoy', 'envoy:v1.31'],
  ]);
  expect((await mutatingSince(before)).map((call) => call.operation)).toEqual(['RegisterTaskDefinition', 'UpdateService']);
  const deployments = await world.ecs.send(new ListServiceDeploymentsCommand({ cluster, service: 'mesh' }));
  expect(deployments.serviceDeployments).toHaveLength(2);
  expect((await describeService(world, cluster, 'mesh'))?.taskDefinition).toBe(run.outputs['task-definition-arn']);
  expect(run.summary).toContain('| mesh | app | web:v1 | web:v2 |');
  expect(run.summary).toContain('| mesh | envoy | envoy:v1.30 | envoy:v1.31 |');
});

test('images with image, a container named twice, or a container the revision lacks: refused by input, before any change', async () => {
  await meshService('mesh-refusals');
  const before = (await world.calls()).length;
  const both = await world.run('rollout-with-circuit-breaker', { inputs: { cluster, service: 'mesh-refusals', images: 'app=web:v2', image: 'web:v2' } });
  expect(both.exitCode).toBe(1);
  expect(both.stdout).toContain('Input "images": cannot be combined with image: image and container are the one-container form of images.');
  const twice = await world.run('rollout-with-circuit-breaker', { inputs: { cluster, service: 'mesh-refusals', images: 'app=web:v2,app=web:v3' } });
  expect(twice.stdout).toContain('Input "images": names container "app" more than once.');
  const unknown = await world.run('rollout-with-circuit-breaker', { inputs: { cluster, service: 'mesh-refusals', images: 'app=web:v2\nredis=redis:7' } });
  expect(unknown.exitCode).toBe(1);
  expect(unknown.stdout).toContain('Input "images": the task definition previews-mesh-refusals has no container named "redis" (it has: app, envoy).');
  const shorthand = await world.run('rollout-with-circuit-breaker', { inputs: { cluster, service: 'mesh-refusals', image: 'web:v2', container: 'api' } });
  expect(shorthand.stdout).toContain('Input "container": the task definition previews-mesh-refusals has no container named "api" (it has: app, envoy).');
  expect(await mutatingSince(before)).toEqual([]);
});

test('enable-execute-command: the service and its new tasks get ECS Exec; the summary and the comment give the shell line for a running task', async () => {
  await meshService('shell');
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster, service: 'shell', image: 'web:v2', 'enable-execute-command': 'true', 'github-token': token },
    event: { number: 31, pull_request: { number: 31, head: { sha: 'c'.repeat(40) } }, repository: { full_name: 'acme/web' } },
    env: { GITHUB_EVENT_NAME: 'pull_request' },
  });
  expect(run.stdout).not.toContain('::error::');
  expect(run.exitCode).toBe(0);
  expect((await describeService(world, cluster, 'shell'))?.enableExecuteCommand).toBe(true);
  const line = /aws ecs execute-command --cluster previews --task (\w+) --container app --interactive --command \/bin\/sh/.exec(run.summary);
  expect(line).not.toBeNull();
  const listed = await world.ecs.send(new ListTasksCommand({ cluster, serviceName: 'shell' }));
  const tasks = (await world.ecs.send(new DescribeTasksCommand({ cluster, tasks: listed.taskArns }))).tasks ?? [];
  const task = tasks.find((candidate) => candidate.taskArn?.endsWith(`/${line?.[1]}`));
  expect(task).toMatchObject({ lastStatus: 'RUNNING', enableExecuteCommand: true, taskDefinitionArn: run.outputs['task-definition-arn'] });
  const comments = (await (
    await fetch(`${world.emulator.githubApiUrl}/repos/acme/web/issues/31/comments`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as { body: string }[];
  expect(comments[0]?.body).toContain(`| Shell | \`${line?.[0]}\` |`);

  // Turning it off alone restarts the tasks without it, and the comment drops the line that names a stopped task.
  const off = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster, service: 'shell', 'enable-execute-command': 'false', 'github-token': token },
    event: { number: 31, pull_request: { number: 31, head: { sha: 'c'.repeat(40) } }, repository: { full_name: 'acme/web' } },
    env: { GITHUB_EVENT_NAME: 'pull_request' },
  });
  expect(off.exitCode).toBe(0);
  expect(off.summary).not.toContain('aws ecs execute-command');
  const after = await world.ecs.send(
    new DescribeTasksCommand({ cluster, tasks: (await world.ecs.send(new ListTasksCommand({ cluster, serviceName: 'shell' }))).taskArns }),
  );
  expect(after.tasks?.map((running) => running.enableExecuteCommand)).toEqual([false, false]);
  const thread = (await (
    await fetch(`${world.emulator.githubApiUrl}/repos/acme/web/issues/31/comments`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as { body: string }[];
  expect(thread[0]?.body).not.toContain('| Shell |');
});
