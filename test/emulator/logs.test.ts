// CloudWatch Logs through the real SDK client against the emulator.
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogGroupCommand,
  DeleteRetentionPolicyCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  ListTagsForResourceCommand,
  ListTagsLogGroupCommand,
  PutLogEventsCommand,
  PutRetentionPolicyCommand,
  TagLogGroupCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';

let emu: RunningEmulator;
let logs: CloudWatchLogsClient;

beforeAll(async () => {
  emu = await startEmulator({ registry: false });
  logs = new CloudWatchLogsClient({ endpoint: emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
});
afterAll(async () => {
  logs.destroy();
  await emu.stop();
});
beforeEach(async () => {
  await fetch(`${emu.endpoint}/_emulator/reset`, { method: 'POST' });
});

describe('log groups', () => {
  it('creates, lists by prefix and pattern, refuses duplicates and bad names, deletes', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/ecs/pr-1/web', tags: { env: 'pr-1' } }));
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/ecs/pr-2/web' }));
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/other' }));
    await expect(logs.send(new CreateLogGroupCommand({ logGroupName: '/ecs/pr-1/web' }))).rejects.toMatchObject({
      name: 'ResourceAlreadyExistsException',
      message: 'The specified log group already exists',
    });
    await expect(logs.send(new CreateLogGroupCommand({ logGroupName: 'bad name' }))).rejects.toMatchObject({ name: 'InvalidParameterException' });

    const byPrefix = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/ecs/' }));
    expect(byPrefix.logGroups?.map((g) => g.logGroupName)).toEqual(['/ecs/pr-1/web', '/ecs/pr-2/web']);
    expect(byPrefix.logGroups?.[0]).toMatchObject({
      arn: 'arn:aws:logs:us-east-1:123456789012:log-group:/ecs/pr-1/web:*',
      logGroupArn: 'arn:aws:logs:us-east-1:123456789012:log-group:/ecs/pr-1/web',
    });
    const byPattern = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePattern: 'PR-2' }));
    expect(byPattern.logGroups?.map((g) => g.logGroupName)).toEqual(['/ecs/pr-2/web']);
    await expect(logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/', logGroupNamePattern: 'x' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    const paged = await logs.send(new DescribeLogGroupsCommand({ limit: 2 }));
    expect(paged.logGroups).toHaveLength(2);
    const rest = await logs.send(new DescribeLogGroupsCommand({ limit: 2, nextToken: paged.nextToken }));
    expect(rest.logGroups?.map((g) => g.logGroupName)).toEqual(['/other']);
    expect(rest.nextToken).toBeUndefined();

    await logs.send(new DeleteLogGroupCommand({ logGroupName: '/other' }));
    await expect(logs.send(new DeleteLogGroupCommand({ logGroupName: '/other' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'The specified log group does not exist.',
    });
  });

  it('accepts only the retention values AWS allows', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'g' }));
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: 'g', retentionInDays: 14 }));
    expect((await logs.send(new DescribeLogGroupsCommand({}))).logGroups?.[0]?.retentionInDays).toBe(14);
    await expect(logs.send(new PutRetentionPolicyCommand({ logGroupName: 'g', retentionInDays: 2 }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining("Value '2' at 'retentionInDays' failed to satisfy constraint"),
    });
    await logs.send(new DeleteRetentionPolicyCommand({ logGroupName: 'g' }));
    expect((await logs.send(new DescribeLogGroupsCommand({}))).logGroups?.[0]?.retentionInDays).toBeUndefined();
  });

  it('tags by ARN and through the older log-group calls', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'g', tags: { a: '1' } }));
    const arn = 'arn:aws:logs:us-east-1:123456789012:log-group:g';
    await logs.send(new TagResourceCommand({ resourceArn: arn, tags: { b: '2' } }));
    await logs.send(new TagLogGroupCommand({ logGroupName: 'g', tags: { c: '3' } }));
    await logs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['a'] }));
    expect((await logs.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual({ b: '2', c: '3' });
    expect((await logs.send(new ListTagsLogGroupCommand({ logGroupName: 'g' }))).tags).toEqual({ b: '2', c: '3' });
    await expect(logs.send(new ListTagsForResourceCommand({ resourceArn: `${arn}-missing` }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('streams and events', () => {
  it('writes, reads from head and tail with tokens, and filters', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: 'g' }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: 'g', logStreamName: 'web/a' }));
    await expect(logs.send(new CreateLogStreamCommand({ logGroupName: 'g', logStreamName: 'web/a' }))).rejects.toMatchObject({
      name: 'ResourceAlreadyExistsException',
    });
    const t0 = emu.context.clock.now() - 10_000;
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: 'g',
        logStreamName: 'web/a',
        logEvents: [1, 2, 3, 4, 5].map((i) => ({ timestamp: Math.floor(t0 + i), message: `line ${i}${i === 4 ? ' ERROR boom' : ''}` })),
      }),
    );
    await expect(
      logs.send(
        new PutLogEventsCommand({
          logGroupName: 'g',
          logStreamName: 'web/a',
          logEvents: [
            { timestamp: t0 + 9, message: 'later' },
            { timestamp: t0 + 8, message: 'earlier' },
          ],
        }),
      ),
    ).rejects.toMatchObject({ message: 'Log events in a single PutLogEvents request must be in chronological order.' });
    await expect(
      logs.send(new PutLogEventsCommand({ logGroupName: 'g', logStreamName: 'nope', logEvents: [{ timestamp: t0, message: 'x' }] })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', message: 'The specified log stream does not exist.' });

    // Tasks write through the LogSink; the stream is created on first write.
    expect(emu.context.logs.write('g', 'web/b', ['from task'], t0 + 6)).toBe(true);
    expect(emu.context.logs.write('missing', 'web/b', ['x'], t0)).toBe(false);

    const tail = await logs.send(new GetLogEventsCommand({ logGroupName: 'g', logStreamName: 'web/a', limit: 2 }));
    expect(tail.events?.map((e) => e.message)).toEqual(['line 4 ERROR boom', 'line 5']);
    const before = await logs.send(new GetLogEventsCommand({ logGroupName: 'g', logStreamName: 'web/a', limit: 2, nextToken: tail.nextBackwardToken }));
    expect(before.events?.map((e) => e.message)).toEqual(['line 2', 'line 3']);
    const head = await logs.send(new GetLogEventsCommand({ logGroupName: 'g', logStreamName: 'web/a', limit: 3, startFromHead: true }));
    expect(head.events?.map((e) => e.message)).toEqual(['line 1', 'line 2', 'line 3']);
    const next = await logs.send(new GetLogEventsCommand({ logGroupName: 'g', logStreamName: 'web/a', limit: 3, nextToken: head.nextForwardToken }));
    expect(next.events?.map((e) => e.message)).toEqual(['line 4 ERROR boom', 'line 5']);
    const end = await logs.send(new GetLogEventsCommand({ logGroupName: 'g', logStreamName: 'web/a', nextToken: next.nextForwardToken }));
    // At the end of the stream the forward token stops moving: that is how readers know to stop.
    expect(end.events).toEqual([]);
    expect(end.nextForwardToken).toBe(next.nextForwardToken);

    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: 'g', orderBy: 'LastEventTime', descending: true }));
    expect(streams.logStreams?.map((s) => s.logStreamName)).toEqual(['web/b', 'web/a']);
    expect(streams.logStreams?.[1]).toMatchObject({ firstEventTimestamp: Math.floor(t0 + 1), lastEventTimestamp: Math.floor(t0 + 5) });

    const errors = await logs.send(new FilterLogEventsCommand({ logGroupName: 'g', filterPattern: 'ERROR' }));
    expect(errors.events?.map((e) => [e.logStreamName, e.message])).toEqual([['web/a', 'line 4 ERROR boom']]);
    const onlyB = await logs.send(new FilterLogEventsCommand({ logGroupName: 'g', logStreamNames: ['web/b'] }));
    expect(onlyB.events?.map((e) => e.message)).toEqual(['from task']);
    const window = await logs.send(new FilterLogEventsCommand({ logGroupName: 'g', startTime: Math.floor(t0 + 5), endTime: Math.floor(t0 + 7) }));
    expect(window.events?.map((e) => e.message)).toEqual(['line 5', 'from task']);
  });
});
