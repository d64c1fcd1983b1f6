// Why a deployment failed, from its stopped tasks and the service events, in words a person can act on.
import type { Task } from '@aws-sdk/client-ecs';

export type FailureReason = 'image-pull' | 'crash-on-start' | 'health-check' | 'out-of-memory' | 'placement' | 'permissions' | 'timeout' | 'alarm' | 'unknown';

export const failureLabels: Record<FailureReason, string> = {
  'image-pull': 'image pull',
  'crash-on-start': 'crash on start',
  'health-check': 'health check',
  'out-of-memory': 'out of memory',
  placement: 'placement/capacity',
  permissions: 'permissions',
  timeout: 'timeout',
  alarm: 'CloudWatch alarm',
  unknown: 'unknown',
};

const advice: Record<FailureReason, string> = {
  'image-pull':
    'check that the image and tag exist and that the task execution role may pull it (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer) over a route to the registry.',
  'crash-on-start': 'the container exits right after it starts: read its last log lines (missing configuration or secrets are the usual cause).',
  'health-check': 'the tasks start but fail their health check: check the health-check path and port, and that the app answers within the grace period.',
  'out-of-memory': 'the container ran out of memory: raise the task or container memory, or lower the app’s usage.',
  placement: 'ECS could not place the tasks: check capacity provider limits, subnets with free IPs, and the CPU/memory asked for.',
  permissions: 'a role lacks a permission: check the task execution role (secrets, logs, image) and the task role.',
  alarm:
    'a CloudWatch alarm the deployment watches went into ALARM while the new revision took traffic: read the alarm’s metric for the deployment’s time window before deploying again.',
  timeout: 'the deployment did not finish in time: it may still be in progress in ECS; see the tasks still pending.',
  unknown: 'read the stopped tasks and the service events.',
};

// When tasks stopped for different reasons, the earlier reason is the more specific diagnosis.
const priority: FailureReason[] = ['permissions', 'image-pull', 'out-of-memory', 'health-check', 'crash-on-start', 'placement', 'unknown'];

/** The reason one task stopped, from its stoppedReason, stopCode and containers. */
export function classifyTask(task: Task): FailureReason {
  const containers = task.containers ?? [];
  const texts = [task.stoppedReason ?? '', ...containers.map((container) => container.reason ?? '')].join('\n');
  if (/AccessDenied|not authorized|UnauthorizedOperation/i.test(texts)) return 'permissions';
  if (/ResourceInitializationError/.test(texts) && /secret|ssm|parameter|kms/i.test(texts)) return 'permissions';
  if (/CannotPullContainerError|pull image manifest|CannotPullImageManifestError/i.test(texts)) return 'image-pull';
  if (/OutOfMemory/i.test(texts)) return 'out-of-memory';
  if (/health checks?/i.test(texts)) return 'health-check';
  if (containers.some((container) => container.exitCode !== undefined && container.exitCode !== 0) || /Essential container in task exited/.test(texts)) {
    return 'crash-on-start';
  }
  if (/RESOURCE:|unable to place|insufficient/i.test(texts)) return 'placement';
  return 'unknown';
}

/** The reason that best explains the failure: the most common among stopped tasks, then the most specific. */
export function classifyFailure(stoppedTasks: Task[], serviceEvents: string[]): FailureReason {
  const counts = new Map<FailureReason, number>();
  for (const task of stoppedTasks) {
    const reason = classifyTask(task);
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  if (counts.size === 0 || (counts.size === 1 && counts.has('unknown'))) {
    if (serviceEvents.some((event) => /unable to place a task|RESOURCE:/i.test(event))) return 'placement';
    if (serviceEvents.some((event) => /AccessDenied|not authorized/i.test(event))) return 'permissions';
    return 'unknown';
  }
  return [...counts].sort((a, b) => b[1] - a[1] || priority.indexOf(a[0]) - priority.indexOf(b[0]))[0]?.[0] ?? 'unknown';
}

export function adviceFor(reason: FailureReason): string {
  return advice[reason];
}
