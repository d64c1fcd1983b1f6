// The last lines a container wrote, from its awslogs settings.
import { type CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import { sdkErrorName, wrapAwsError } from '../aws.ts';

export interface LogLocation {
  group: string;
  stream: string;
}

/** Where awslogs writes a container's output in a task: <prefix>/<container>/<task id>. */
export function awslogsLocation(container: ContainerDefinition, taskId: string): LogLocation | undefined {
  const config = container.logConfiguration;
  if (config?.logDriver !== 'awslogs') return undefined;
  const group = config.options?.['awslogs-group'];
  const prefix = config.options?.['awslogs-stream-prefix'];
  if (!group || !prefix) return undefined;
  return { group, stream: `${prefix}/${container.name}/${taskId}` };
}

/** The newest `limit` lines, oldest first; none when the stream was never created (the task died before logging). */
export async function tailLog(logs: CloudWatchLogsClient, location: LogLocation, limit = 20): Promise<string[]> {
  try {
    const response = await logs.send(new GetLogEventsCommand({ logGroupName: location.group, logStreamName: location.stream, limit, startFromHead: false }));
    return (response.events ?? []).map((event) => event.message ?? '');
  } catch (error) {
    if (sdkErrorName(error) === 'ResourceNotFoundException') return [];
    throw wrapAwsError('GetLogEvents', `${location.group} ${location.stream}`, error);
  }
}
