// rollout-with-circuit-breaker, run as a runner runs it, against the emulator.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateServiceCommand, DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { ownershipTags } from '../../src/environment.ts';
import { root } from '../helpers/run-bundle.ts';
import { describe as describeService, SECURITY_GROUP, SUBNETS, seedService, sharedListener, startWorld, type World } from '../helpers/world.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(() => world.stop());

test('healthy image: success, outputs, summary, and the new revision records commit and run', async () => {
  const seeded = await seedService(world, { service: 'healthy', image: 'web:v1' });
  const run = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: seeded.cluster, service: 'healthy', image: 'web:v2' } });
  expect(run.stdout).not.toContain('Unexpected error');
  expect(run.exitCode).toBe(0);
  expect(run.outputs.status).toBe('successful');
  expect(run.outputs['task-definition-arn']).toMatch(/:task-definition\/previews-healthy:2$/);
  expect(run.outputs['deployment-id']).toMatch(/service-deployment\/previews\/healthy\//);
  expect(JSON.parse(run.outputs.services ?? '[]')).toEqual([
    expect.objectContaining({ service: 'healthy', status: 'successful', taskDefinitionArn: run.outputs['task-definition-arn'] }),
  ]);
  expect(run.summary).toContain('rollout-with-circuit-breaker: ✅ succeeded');
  expect(run.summary).toMatch(/\| healthy \| successful \| previews-healthy:2 \|/);
  const service = await describeService(world, seeded.cluster, 'healthy');
  expect(service?.taskDefinition).toBe(run.outputs['task-definition-arn']);
  const registered = await world.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: run.outputs['task-definition-arn'], include: ['TAGS'] }));
  expect(registered.taskDefinition?.containerDefinitions?.[0]?.image).toBe('web:v2');
  expect(registered.tags).toEqual(
    expect.arrayContaining([
      { key: 'ecs-deploy-actions:commit', value: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678' },
      { key: 'ecs-deploy-actions:run', value: 'https://github.com/acme/web/actions/runs/4242' },
    ]),
  );
});

test('crashing image: fails with the exit code, the log line, the classification and the revision rolled back to', async () => {
  const seeded = await seedService(world, { service: 'crashy', image: 'web:v1' });
  // A log line holding a fence must not end the summary's code block and turn the rest into markdown.
  const logLines = ['Error: missing DATABASE_URL', '```', '## not a heading'];
  await world.control('/_emulator/behaviours', { image: 'web:crash', kind: 'crash', exitCode: 1, logLines });
  const run = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: seeded.cluster, service: 'crashy', image: 'web:crash' } });
  expect(run.exitCode).toBe(1);
  expect(run.outputs.status).toBe('rolled-back');
  expect(run.outputs['failure-reason']).toBe('crash-on-start');
  expect(run.outputs['rolled-back-to']).toBe(seeded.taskDefinitionArn);
  expect(run.stdout).toContain('exit code 1');
  expect(run.stdout).toContain('Error: missing DATABASE_URL');
  expect(run.stdout).toContain('Classification: crash on start');
  expect(run.stdout).toContain(`ECS rolled back to ${seeded.family}:1`);
  expect(run.summary).toContain('crash on start');
  expect(run.summary).toMatch(/Last log lines of app in task \w+:\n\n````text\nError: missing DATABASE_URL\n```\n## not a heading\n````\n/);
  // What serves now is the old revision's tasks, not the failed one's none.
  expect(run.summary).toContain('| crashy | rolled-back | previews-crashy:2 | previews-crashy:1 | previews-crashy:1: 2 (desired 2) |');
  // The hint names the section that holds the evidence, in the log and in the summary, wherever it is printed.
  const hint = 'the stopped tasks, their last log lines and the service events are under “Why the deployment failed” in the log and in the job summary';
  expect(run.summary).toContain(`**How to fix:** ${hint}`);
  expect(run.summary).toContain('#### Why the deployment failed');
  expect(run.summary).toMatch(/Service events of crashy:\n\n```text\n[^`]*deployment failed: tasks failed to start/);
  expect(run.stdout.indexOf('::group::Why the deployment failed')).toBeGreaterThan(0);
  expect(run.stdout.indexOf(`How to fix: ${hint}`)).toBeGreaterThan(run.stdout.indexOf('::group::Why the deployment failed'));
});

test.each([
  ['unhealthy', 'health-check', 'health check', 'failed container health checks'],
  ['pull-error', 'image-pull', 'image pull', 'CannotPullContainerError'],
  ['oom', 'out-of-memory', 'out of memory', 'exit code 137'],
])('%s image: rolled back and classified as %s', async (kind, reason, label, evidence) => {
  const seeded = await seedService(world, { service: `svc-${kind}`, image: 'web:v1' });
  await world.control('/_emulator/behaviours', { image: `web:${kind}`, kind });
  const run = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: seeded.cluster, service: `svc-${kind}`, image: `web:${kind}` } });
  expect(run.exitCode).toBe(1);
  expect(run.outputs.status).toBe('rolled-back');
  expect(run.outputs['failure-reason']).toBe(reason);
  expect(run.outputs['rolled-back-to']).toBe(seeded.taskDefinitionArn);
  expect(run.stdout).toContain(`Classification: ${label}`);
  expect(run.stdout).toContain(evidence);
  expect((await describeService(world, seeded.cluster, `svc-${kind}`))?.taskDefinition).toBe(seeded.taskDefinitionArn);
});

test('keep-revisions 3 leaves exactly the newest 3 plus any revision a service still runs', async () => {
  const pinned = await seedService(world, { service: 'pinned', image: 'web:v1', family: 'shared-web' });
  const rolled = await seedService(world, { service: 'rolled', image: 'web:v1', family: 'shared-web' });
  // pinned keeps running shared-web:1; rolled moves through revisions 3..7.
  for (const tag of ['v2', 'v3', 'v4', 'v5']) {
    const run = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: rolled.cluster, service: 'rolled', image: `web:${tag}` } });
    expect(run.exitCode).toBe(0);
  }
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: rolled.cluster, service: 'rolled', image: 'web:v6', 'keep-revisions': '3' },
  });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toMatch(/Deregistered and deleted shared-web:2, shared-web:3, shared-web:4/);
  const active = await world.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'shared-web', status: 'ACTIVE' }));
  const revisions = (active.taskDefinitionArns ?? []).map((arn) => Number(arn.split(':').pop())).sort((a, b) => a - b);
  expect(pinned.taskDefinitionArn).toMatch(/shared-web:1$/);
  expect(revisions).toEqual([1, 5, 6, 7]);
});

test('a rendered task-definition file, and a service found by its environment tags', async () => {
  const seeded = await seedService(world, {
    service: 'tagged',
    image: 'web:v1',
    tags: ownershipTags({ repository: 'acme/web', cluster: 'previews', environment: 'pr-9' }, undefined),
  });
  const described = await world.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: seeded.taskDefinitionArn }));
  const dir = mkdtempSync(join(root, 'build', 'td-'));
  const file = join(dir, 'task-definition.json');
  writeFileSync(
    file,
    JSON.stringify({
      ...described.taskDefinition,
      containerDefinitions: described.taskDefinition?.containerDefinitions?.map((c) => ({ ...c, image: 'web:v9' })),
    }),
  );
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: seeded.cluster, environment: 'pr-9', 'task-definition': file.slice(root.length + 1) },
  });
  expect(run.exitCode).toBe(0);
  expect(run.outputs.status).toBe('successful');
  expect((await describeService(world, seeded.cluster, 'tagged'))?.taskDefinition).toBe(run.outputs['task-definition-arn']);
});

test('dry run registers nothing and changes no service', async () => {
  const seeded = await seedService(world, { service: 'dry', image: 'web:v1' });
  const before = (await world.calls()).length;
  const run = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: seeded.cluster, service: 'dry', image: 'web:v2', 'dry-run': 'true' } });
  expect(run.exitCode).toBe(0);
  expect(run.outputs.status).toBe('skipped');
  expect(run.stdout).toContain('would deploy dry: previews-dry:1 → new revision of previews-dry');
  expect(run.summary).toContain('**Dry run**: nothing registered, no service changed.');
  expect(run.summary).toContain('| dry | app | web:v1 | web:v2 |');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
});

test('timeout: fails saying what is pending, leaves the deployment running, and says how to roll back', async () => {
  const seeded = await seedService(world, { service: 'slow', image: 'web:v1' });
  await world.control('/_emulator/behaviours', { image: 'web:slow', kind: 'slow-start', startSeconds: 600 });
  const run = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: seeded.cluster, service: 'slow', image: 'web:slow', timeout: '2m' } });
  expect(run.exitCode).toBe(1);
  expect(run.outputs.status).toBe('timed-out');
  expect(run.stdout).toContain('Still pending: 2 of 2 tasks');
  // Both revisions serve while the deployment goes on: the old one's 2 tasks are still running.
  expect(run.summary).toContain('| slow | timed-out | previews-slow:2 | — | previews-slow:2: 0, previews-slow:1: 2 (desired 2) |');
  expect(run.stdout).toContain('rollback-to-revision');
  const service = await describeService(world, seeded.cluster, 'slow');
  expect(service?.taskDefinition).toBe(run.outputs['task-definition-arn']);
  expect(service?.deployments?.find((d) => d.status === 'PRIMARY')?.rolloutState).toBe('IN_PROGRESS');
});

test('one image to 3 services in parallel, one fails: the step fails naming it and reports the others', async () => {
  await seedService(world, { cluster: 'multi', service: 'web', image: 'app:v1' });
  await seedService(world, { cluster: 'multi', service: 'api', image: 'app:v1' });
  await seedService(world, { cluster: 'multi', service: 'worker', image: 'app:v1', command: ['worker'] });
  await world.control('/_emulator/behaviours', { image: 'app:v2', kind: 'crash', exitCode: 2, command: ['worker'], logLines: ['worker: queue URL missing'] });
  const run = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: 'multi', service: 'web,api,worker', image: 'app:v2' } });
  expect(run.exitCode).toBe(1);
  expect(run.outputs.status).toBe('rolled-back');
  expect(run.stdout).toMatch(/::error title=rollout-with-circuit-breaker::Deployment of worker was rolled back: crash on start/);
  expect(run.stdout).toContain('worker: queue URL missing');
  const services = JSON.parse(run.outputs.services ?? '[]') as { service: string; status: string; taskDefinitionArn: string }[];
  expect(services.map((s) => [s.service, s.status])).toEqual([
    ['web', 'successful'],
    ['api', 'successful'],
    ['worker', 'rolled-back'],
  ]);
  expect(services[2]?.taskDefinitionArn).toMatch(/multi-worker:2$/);
  expect(run.summary).toMatch(/\| web \| successful \|/);
  expect(run.summary).toMatch(/\| worker \| rolled-back \|/);
});

test('run-before exits 1: the step fails showing its log, and the service stays on its old revision', async () => {
  const seeded = await seedService(world, { service: 'migrating', image: 'web:v1' });
  await world.control('/_emulator/behaviours', {
    image: 'web:v2',
    kind: 'exit',
    exitCode: 1,
    command: ['npm', 'run', 'migrate'],
    logLines: ['migrating 0042_add_orders', 'error: relation "orders" already exists'],
  });
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: seeded.cluster, service: 'migrating', image: 'web:v2', 'run-before': 'npm run migrate' },
  });
  expect(run.exitCode).toBe(1);
  expect(run.stdout).toContain('run-before | error: relation "orders" already exists');
  expect(run.stdout).toContain('The run-before command failed (exit code 1); no service was changed.');
  expect((await describeService(world, seeded.cluster, 'migrating'))?.taskDefinition).toBe(seeded.taskDefinitionArn);
});

test('run-before exits 0: its log is streamed and the rollout goes on', async () => {
  const seeded = await seedService(world, { service: 'migrated', image: 'web:v1' });
  await world.control('/_emulator/behaviours', {
    image: 'web:v3',
    kind: 'exit',
    exitCode: 0,
    command: ['./migrate', '--all'],
    logLines: ['applied 3 migrations'],
  });
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: seeded.cluster, service: 'migrated', image: 'web:v3', 'run-before': '["./migrate", "--all"]' },
  });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toContain('run-before | applied 3 migrations');
  expect((await describeService(world, seeded.cluster, 'migrated'))?.taskDefinition).toBe(run.outputs['task-definition-arn']);
});

test('force-new-deployment with a desired count and wait: false starts fresh tasks on the same revision and returns at once', async () => {
  const seeded = await seedService(world, { service: 'restart', image: 'web:v1', desiredCount: 1 });
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: seeded.cluster, service: 'restart', 'force-new-deployment': 'true', 'desired-count': '3', wait: 'false' },
  });
  expect(run.exitCode).toBe(0);
  expect(run.outputs.status).toBe('started');
  expect(run.outputs['task-definition-arn']).toBe(seeded.taskDefinitionArn);
  expect(run.summary).toMatch(/\| restart \| previews-restart:1 \| \S+ \| started; not waited for \(wait: false\) \|/);
  const service = await describeService(world, seeded.cluster, 'restart');
  expect(service?.desiredCount).toBe(3);
  expect(service?.deployments?.filter((d) => d.status === 'PRIMARY')).toEqual([
    expect.objectContaining({ taskDefinition: seeded.taskDefinitionArn, rolloutState: 'IN_PROGRESS' }),
  ]);
  expect(service?.deploymentConfiguration?.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
});

test('one service refuses the update: the others are still deployed and watched, and the step names the one refused', async () => {
  const plain = await seedService(world, { cluster: 'mixed', service: 'plain', image: 'web:v1' });
  const tg = await world.elb.send(
    new CreateTargetGroupCommand({ Name: 'mixed-fronted', Protocol: 'HTTP', Port: 8080, VpcId: 'vpc-0e1a2b3c4d5e6f701', TargetType: 'ip' }),
  );
  const targetGroupArn = tg.TargetGroups?.[0]?.TargetGroupArn ?? '';
  await sharedListener(world, 'mixed', { defaultAction: { Type: 'forward', TargetGroupArn: targetGroupArn } });
  await world.ecs.send(
    new CreateServiceCommand({
      cluster: 'mixed',
      serviceName: 'fronted',
      taskDefinition: plain.taskDefinitionArn,
      desiredCount: 1,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
      loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 8080 }],
    }),
  );
  // A revision whose container is named differently: ECS refuses it for the service behind the load balancer.
  const renamed = await world.ecs.send(
    new RegisterTaskDefinitionCommand({
      family: plain.family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [{ name: 'web', image: 'web:v2', essential: true, portMappings: [{ containerPort: 8080 }] }],
    }),
  );
  const arn = renamed.taskDefinition?.taskDefinitionArn ?? '';
  const run = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: 'mixed', service: 'plain,fronted', 'task-definition': arn } });
  expect(run.exitCode).toBe(1);
  expect(run.stdout).toContain('fronted: the update was refused');
  expect(run.stdout).toMatch(
    /Deployment of fronted failed: UpdateService for service fronted in cluster mixed failed: InvalidParameterException: The container app does not exist/,
  );
  expect(JSON.parse(run.outputs.services ?? '[]').map((s: { service: string; status: string }) => [s.service, s.status])).toEqual([
    ['plain', 'successful'],
    ['fronted', 'failed'],
  ]);
  expect((await describeService(world, 'mixed', 'plain'))?.taskDefinition).toBe(arn);
});

test('on-failure: rollback-all, the third of three services fails: all three end on their previous revisions, the step names it', async () => {
  const seeded = [
    await seedService(world, { cluster: 'release', service: 'web', image: 'shop:v1' }),
    await seedService(world, { cluster: 'release', service: 'api', image: 'shop:v1' }),
    await seedService(world, { cluster: 'release', service: 'worker', image: 'shop:v1', command: ['worker'] }),
  ];
  await world.control('/_emulator/behaviours', { image: 'shop:v2', kind: 'crash', exitCode: 1, command: ['worker'], logLines: ['worker: REDIS_URL missing'] });
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: 'release', service: 'web,api,worker', image: 'shop:v2', 'on-failure': 'rollback-all' },
  });
  expect(run.exitCode).toBe(1);
  expect(run.stdout).toMatch(/::error title=rollout-with-circuit-breaker::Deployment of worker was rolled back: crash on start/);
  expect(run.stdout).toMatch(/on-failure: rollback-all put back web \(back on release-web:1\), api \(back on release-api:1\)/);
  for (const [index, name] of ['web', 'api', 'worker'].entries()) {
    expect((await describeService(world, 'release', name))?.taskDefinition).toBe(seeded[index]?.taskDefinitionArn);
  }
  const services = JSON.parse(run.outputs.services ?? '[]') as { service: string; status: string; revertedTo?: string }[];
  expect(services.map((service) => [service.service, service.status, service.revertedTo?.replace(/.*\//, '')])).toEqual([
    ['web', 'successful', 'release-web:1'],
    ['api', 'successful', 'release-api:1'],
    ['worker', 'rolled-back', undefined],
  ]);
  expect(run.summary).toContain('| web | release-web:1 | release-web:2 | release-web:1 | rollback-all: successful |');
  expect(run.summary).toContain('| worker | release-worker:1 | release-worker:2 | release-worker:1 | circuit breaker |');
});
