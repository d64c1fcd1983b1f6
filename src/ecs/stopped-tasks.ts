// The evidence of a failed deployment: the stopped tasks of the new revision and their last log lines.
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { type ContainerDefinition, DescribeTasksCommand, type ECSClient, ListTasksCommand, type Task } from '@aws-sdk/client-ecs';
import { awsCall } from '../aws.ts';
import { awslogsLocation, type LogLocation, tailLog } from '../logs/tail.ts';
import { warning } from '../runner.ts';

export interface StoppedContainer {
  name: string;
  exitCode: number | undefined;
  reason: string | undefined;
  /** The last lines it logged, oldest first. */
  logLines: string[];
}

export interface StoppedTask {
  taskId: string;
  task: Task;
  stoppedReason: string | undefined;
  stopCode: string | undefined;
  containers: StoppedContainer[];
}

/**
 * Stopped tasks of one service running `taskDefinitionArn` that started after `since`, newest first,
 * at most `limit`, each with the last `logLines` lines of every container that logs with awslogs.
 */
export async function stoppedTasks(
  ecs: ECSClient,
  logs: CloudWatchLogsClient,
  options: {
    cluster: string;
    serviceName: string;
    taskDefinitionArn: string;
    since: Date;
    containers: ContainerDefinition[];
    limit?: number;
    logLines?: number;
  },
): Promise<StoppedTask[]> {
  const { cluster, serviceName } = options;
  const listed = await awsCall('ListTasks', `stopped tasks of ${serviceName}`, () =>
    ecs.send(new ListTasksCommand({ cluster, serviceName, desiredStatus: 'STOPPED', maxResults: 100 })),
  );
  const arns = listed.taskArns ?? [];
  if (arns.length === 0) return [];
  const described = await awsCall('DescribeTasks', `stopped tasks of ${serviceName}`, () => ecs.send(new DescribeTasksCommand({ cluster, tasks: arns })));
  const ours = (described.tasks ?? [])
    .filter((task) => task.taskDefinitionArn === options.taskDefinitionArn && (task.createdAt ?? options.since) >= options.since)
    .sort((a, b) => (b.stoppedAt?.getTime() ?? 0) - (a.stoppedAt?.getTime() ?? 0))
    .slice(0, options.limit ?? 5);
  const unreadable: string[] = [];
  const stopped = await Promise.all(
    ours.map(async (task) => {
      const taskId = task.taskArn?.split('/').pop() ?? '';
      const containers = await Promise.all(
        (task.containers ?? []).map(async (container) => {
          const definition = options.containers.find((candidate) => candidate.name === container.name);
          const location = definition ? awslogsLocation(definition, taskId) : undefined;
          return {
            name: container.name ?? '',
            exitCode: container.exitCode,
            reason: container.reason,
            logLines: location ? await readableTail(logs, location, options.logLines ?? 20, unreadable) : [],
          };
        }),
      );
      return { taskId, task, stoppedReason: task.stoppedReason, stopCode: task.stopCode, containers };
    }),
  );
  if (unreadable.length > 0) {
    warning(
      `The logs of ${unreadable.length} stopped container(s) could not be read, so the diagnosis goes on without them. ${unreadable[0]}`,
      'Task log not readable',
    );
  }
  return stopped;
}

/** A log the step may not read (no logs:GetLogEvents) must not hide why the deployment failed: it is noted in `unreadable`. */
async function readableTail(logs: CloudWatchLogsClient, location: LogLocation, limit: number, unreadable: string[]): Promise<string[]> {
  try {
    return await tailLog(logs, location, limit);
  } catch (error) {
    unreadable.push(error instanceof Error ? error.message : String(error));
    return [];
  }
}
