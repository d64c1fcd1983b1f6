import type { Task } from '@aws-sdk/client-ecs';
import { expect, test } from '@jest/globals';
import { classifyFailure, classifyTask, failureLabels } from '../../src/ecs/diagnosis.ts';

// Stopped tasks as DescribeTasks reports them for each kind of failure.
const crashed: Task = { stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited', containers: [{ name: 'app', exitCode: 1 }] };
const oom: Task = {
  stopCode: 'EssentialContainerExited',
  stoppedReason: 'Essential container in task exited',
  containers: [{ name: 'app', exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' }],
};
const pullError: Task = {
  stopCode: 'TaskFailedToStart',
  stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 127.0.0.1:5000/web:nope: not found',
  containers: [{ name: 'app' }],
};
const unhealthy: Task = {
  stopCode: 'ServiceSchedulerInitiated',
  stoppedReason: 'Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/previews-pr-7/abc)',
  containers: [{ name: 'app' }],
};
const secretsDenied: Task = {
  stopCode: 'TaskFailedToStart',
  stoppedReason:
    'ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: AccessDeniedException',
};

test.each([
  [crashed, 'crash-on-start'],
  [oom, 'out-of-memory'],
  [pullError, 'image-pull'],
  [unhealthy, 'health-check'],
  [secretsDenied, 'permissions'],
  [{ stoppedReason: 'Scaling activity initiated by deployment' }, 'unknown'],
] as [Task, string][])('classifies %#', (task, reason) => {
  expect(classifyTask(task)).toBe(reason);
});

test('the most common reason wins; ties go to the more specific', () => {
  expect(classifyFailure([crashed, crashed, oom], [])).toBe('crash-on-start');
  expect(classifyFailure([crashed, oom], [])).toBe('out-of-memory');
});

test('without stopped tasks, service events explain placement failures', () => {
  expect(classifyFailure([], ['(service pr-7) was unable to place a task because no container instance met all of its requirements.'])).toBe('placement');
  expect(classifyFailure([], [])).toBe('unknown');
  expect(failureLabels['crash-on-start']).toBe('crash on start');
});
