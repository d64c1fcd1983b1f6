// ECS Exec: a running task of a service whose agent takes `aws ecs execute-command`, and the command line that opens a shell in it.
import { DescribeTasksCommand, type ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { awsCall } from '../aws.ts';

export interface ShellTarget {
  cluster: string;
  service: string;
  taskId: string;
  container: string;
}

/** A task of the service running `taskDefinitionArn` whose ExecuteCommandAgent runs in `container`; undefined when none does yet. */
export async function shellTarget(
  ecs: ECSClient,
  options: { cluster: string; service: string; taskDefinitionArn: string; container: string },
): Promise<ShellTarget | undefined> {
  const { cluster, service, container } = options;
  const listed = await awsCall('ListTasks', `running tasks of ${service}`, () =>
    ecs.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus: 'RUNNING', maxResults: 100 })),
  );
  const arns = listed.taskArns ?? [];
  if (arns.length === 0) return undefined;
  const described = await awsCall('DescribeTasks', `running tasks of ${service}`, () => ecs.send(new DescribeTasksCommand({ cluster, tasks: arns })));
  const task = (described.tasks ?? []).find(
    (candidate) =>
      candidate.taskDefinitionArn === options.taskDefinitionArn &&
      candidate.lastStatus === 'RUNNING' &&
      candidate.enableExecuteCommand === true &&
      candidate.containers?.some(
        (running) =>
          running.name === container && running.managedAgents?.some((agent) => agent.name === 'ExecuteCommandAgent' && agent.lastStatus === 'RUNNING'),
      ),
  );
  const taskId = task?.taskArn?.split('/').pop();
  return taskId ? { cluster, service, taskId, container } : undefined;
}

/** The AWS CLI line that opens a shell in the target's container (it needs the Session Manager plugin). */
export function shellCommand(target: ShellTarget): string {
  return `aws ecs execute-command --cluster ${target.cluster} --task ${target.taskId} --container ${target.container} --interactive --command /bin/sh`;
}
