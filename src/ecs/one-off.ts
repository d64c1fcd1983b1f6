// run-before: a one-off task of the new revision (migrations, say), its log streamed as it runs;
// the rollout goes on only when it exits 0.
import { type CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { type ContainerDefinition, DescribeTasksCommand, type ECSClient, RunTaskCommand, type Service, type Task } from '@aws-sdk/client-ecs';
import { awsCall, sdkErrorName } from '../aws.ts';
import { ActionError } from '../errors.ts';
import { awslogsLocation } from '../logs/tail.ts';
import type { Progress } from '../report.ts';
import { type Clock, pollUntil } from '../watch.ts';
import { maskSecretLikeEnvironment } from './hardening.ts';
import { revisionName } from './task-definition.ts';

export interface OneOffResult {
  task: Task;
  exitCode: number | undefined;
  logLines: string[];
}

/** Starts the task like the service's own tasks (network, capacity), with the command overridden. */
export async function runOneOff(
  context: { ecs: ECSClient; logs: CloudWatchLogsClient; clock: Clock; progress: Progress },
  options: { cluster: string; taskDefinitionArn: string; service: Service; container: ContainerDefinition; command: string[]; timeoutSeconds: number },
): Promise<OneOffResult> {
  const { ecs, logs, progress } = context;
  const { service, container } = options;
  maskSecretLikeEnvironment([container]);
  const started = await awsCall('RunTask', revisionName(options.taskDefinitionArn), () =>
    ecs.send(
      new RunTaskCommand({
        cluster: options.cluster,
        taskDefinition: options.taskDefinitionArn,
        count: 1,
        startedBy: 'ecs-deploy-actions/run-before',
        networkConfiguration: service.networkConfiguration,
        ...(service.capacityProviderStrategy?.length
          ? { capacityProviderStrategy: service.capacityProviderStrategy }
          : { launchType: service.launchType ?? 'FARGATE' }),
        ...(service.platformVersion ? { platformVersion: service.platformVersion } : {}),
        overrides: { containerOverrides: [{ name: container.name, command: options.command }] },
      }),
    ),
  );
  const task = started.tasks?.[0];
  if (!task?.taskArn) {
    throw new ActionError(
      `RunTask could not start the run-before task: ${started.failures?.map((f) => f.reason).join('; ') || 'no task returned'}.`,
      'check the cluster capacity.',
    );
  }
  const taskId = task.taskArn.split('/').pop() ?? '';
  progress.line(`run-before: task ${taskId} started: ${options.command.join(' ')}`);
  const location = awslogsLocation(container, taskId);
  const lines: string[] = [];
  let nextToken: string | undefined;

  const readNewLines = async (): Promise<boolean> => {
    if (!location) return false;
    try {
      const page = await logs.send(new GetLogEventsCommand({ logGroupName: location.group, logStreamName: location.stream, startFromHead: true, nextToken }));
      nextToken = page.nextForwardToken ?? nextToken;
      for (const event of page.events ?? []) {
        lines.push(event.message ?? '');
        progress.line(`run-before | ${event.message ?? ''}`);
      }
      return (page.events?.length ?? 0) > 0;
    } catch (error) {
      // The stream appears only once the container writes its first line.
      if (sdkErrorName(error) === 'ResourceNotFoundException') return false;
      throw error;
    }
  };

  const outcome = await pollUntil({
    clock: context.clock,
    timeoutSeconds: options.timeoutSeconds,
    poll: async () => {
      const [described, printed] = await Promise.all([
        awsCall('DescribeTasks', `run-before task ${taskId}`, () =>
          ecs.send(new DescribeTasksCommand({ cluster: options.cluster, tasks: [task.taskArn as string] })),
        ),
        readNewLines(),
      ]);
      const current = described.tasks?.[0] ?? task;
      return { done: current.lastStatus === 'STOPPED', changed: printed, value: current };
    },
  });
  if (outcome.timedOut) {
    throw new ActionError(
      `The run-before task ${taskId} did not finish within the timeout; the services were not changed.`,
      'raise timeout, or make the command faster.',
    );
  }
  await readNewLines();
  const exitCode = outcome.value.containers?.find((candidate) => candidate.name === container.name)?.exitCode;
  return { task: outcome.value, exitCode, logLines: lines };
}
