// ECS Exec: enableExecuteCommand is kept on the service, reaches the tasks launched after it is set, and
// each of those tasks reports the ExecuteCommandAgent beside its containers, in the shapes AWS returns.
import { CreateServiceCommand, DescribeTasksCommand, ListTasksCommand, RunTaskCommand, type Task, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { advanceUntil, describeService, type Harness, harness, type Platform, platform, SECURITY_GROUP, SUBNETS } from './helpers.ts';

let h: Harness;
let p: Platform;
const network = { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } };

beforeAll(async () => {
  h = await harness();
  p = await platform(h);
});
afterAll(async () => {
  await h.stop();
});

async function runningTasks(service: string): Promise<Task[]> {
  const listed = await h.ecs.send(new ListTasksCommand({ cluster: p.clusterName, serviceName: service }));
  if (!listed.taskArns?.length) return [];
  return (await h.ecs.send(new DescribeTasksCommand({ cluster: p.clusterName, tasks: listed.taskArns }))).tasks ?? [];
}

test('the setting is returned by the service; running tasks keep theirs until a new deployment replaces them', async () => {
  const td = await p.taskDefinitionArn('app:v1');
  const created = await h.ecs.send(
    new CreateServiceCommand({
      cluster: p.clusterName,
      serviceName: 'exec',
      taskDefinition: td,
      desiredCount: 1,
      launchType: 'FARGATE',
      networkConfiguration: network,
    }),
  );
  expect(created.service?.enableExecuteCommand).toBe(false);
  await advanceUntil(h, async () => (await runningTasks('exec')).some((task) => task.lastStatus === 'RUNNING'));
  const before = await runningTasks('exec');
  expect(before.map((task) => task.enableExecuteCommand)).toEqual([false]);
  expect(before[0]?.containers?.[0]?.managedAgents).toBeUndefined();

  const updated = await h.ecs.send(new UpdateServiceCommand({ cluster: p.clusterName, service: 'exec', enableExecuteCommand: true }));
  expect(updated.service?.enableExecuteCommand).toBe(true);
  expect((await describeService(h, p.clusterName, 'exec')).enableExecuteCommand).toBe(true);
  // No new deployment: the running task is the one launched without it.
  expect(updated.service?.deployments).toHaveLength(1);
  expect((await runningTasks('exec')).map((task) => [task.taskArn, task.enableExecuteCommand])).toEqual([[before[0]?.taskArn, false]]);

  await h.ecs.send(new UpdateServiceCommand({ cluster: p.clusterName, service: 'exec', forceNewDeployment: true }));
  await advanceUntil(h, async () => {
    const tasks = await runningTasks('exec');
    return tasks.length === 1 && tasks[0]?.taskArn !== before[0]?.taskArn && tasks[0]?.lastStatus === 'RUNNING';
  });
  const [task] = await runningTasks('exec');
  expect(task?.enableExecuteCommand).toBe(true);
  expect(task?.containers?.[0]?.managedAgents).toEqual([{ name: 'ExecuteCommandAgent', lastStatus: 'RUNNING', lastStartedAt: task?.startedAt }]);
});

test('RunTask takes enableExecuteCommand for its task; the agent is PENDING until the container runs', async () => {
  const td = await p.taskDefinitionArn('app:v1');
  const run = await h.ecs.send(
    new RunTaskCommand({ cluster: p.clusterName, taskDefinition: td, launchType: 'FARGATE', networkConfiguration: network, enableExecuteCommand: true }),
  );
  const task = run.tasks?.[0];
  expect(task?.enableExecuteCommand).toBe(true);
  expect(task?.containers?.[0]?.managedAgents).toEqual([{ name: 'ExecuteCommandAgent', lastStatus: 'PENDING' }]);
  const plain = await h.ecs.send(new RunTaskCommand({ cluster: p.clusterName, taskDefinition: td, launchType: 'FARGATE', networkConfiguration: network }));
  expect(plain.tasks?.[0]?.enableExecuteCommand).toBe(false);
});
