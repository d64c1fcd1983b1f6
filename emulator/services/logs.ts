// CloudWatch Logs (JSON 1.1, Logs_20140328): log groups, streams and events, plus the LogSink that
// running tasks write to through their awslogs configuration.
import { AwsError, type EmulatorContext, type LogSink, type ServiceModule } from '../core/types.ts';

const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const GROUP_NAME_RE = /^[.\-_/#A-Za-z0-9]+$/;
const STREAM_NAME_RE = /^[^:*]+$/;
const DAY_MS = 86_400_000;

interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
  eventId: string;
}
interface LogStream {
  name: string;
  creationTime: number;
  events: LogEvent[];
  lastIngestionTime?: number;
  sequence: number;
}
interface LogGroup {
  name: string;
  creationTime: number;
  retentionInDays?: number;
  tags: Map<string, string>;
  streams: Map<string, LogStream>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function validation(field: string, value: unknown, constraint: string): AwsError {
  return new AwsError(
    'InvalidParameterException',
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

function checkName(field: string, value: unknown, re: RegExp, pattern: string): string {
  if (typeof value !== 'string') throw validation(field, value, 'Member must not be null');
  if (value.length < 1) throw validation(field, value, 'Member must have length greater than or equal to 1');
  if (value.length > 512) throw validation(field, value, 'Member must have length less than or equal to 512');
  if (!re.test(value)) throw validation(field, value, `Member must satisfy regular expression pattern: ${pattern}`);
  return value;
}

function tagMap(v: unknown): [string, string][] {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) throw validation('tags', v, 'Member must be a map');
  return Object.entries(v as Record<string, unknown>).map(([k, val]) => [k, String(val)]);
}

function limitOf(input: Record<string, unknown>, max: number, fallback: number): number {
  const limit = input.limit;
  if (limit === undefined) return fallback;
  if (typeof limit !== 'number' || limit < 1 || limit > max) {
    throw validation('limit', limit, `Member must have value less than or equal to ${max}`);
  }
  return limit;
}

const encodeOffset = (n: number) => Buffer.from(`o:${n}`).toString('base64');
function decodeOffset(token: unknown): number {
  if (token === undefined) return 0;
  const text = typeof token === 'string' ? Buffer.from(token, 'base64').toString() : '';
  const n = Number(text.slice(2));
  if (!text.startsWith('o:') || !Number.isInteger(n)) throw new AwsError('InvalidParameterException', 'The specified nextToken is invalid.');
  return n;
}

/** A filter pattern as plain terms: a quoted phrase matches exactly, bare terms must all appear. */
function matcher(pattern: string | undefined): (message: string) => boolean {
  const p = pattern?.trim() ?? '';
  if (p === '') return () => true;
  if (p.length >= 2 && p.startsWith('"') && p.endsWith('"')) {
    const phrase = p.slice(1, -1);
    return (m) => m.includes(phrase);
  }
  const terms = p.split(/\s+/).map((t) => t.replace(/^"|"$/g, ''));
  return (m) => terms.every((t) => m.includes(t));
}

export function createLogsService(ctx: EmulatorContext): ServiceModule & LogSink {
  const groups = new Map<string, LogGroup>();
  let eventCounter = 0;
  // Logs timestamps are whole epoch milliseconds; a scaled clock can be fractional.
  const now = () => Math.floor(ctx.clock.now());

  const groupArn = (name: string) => `arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:${name}`;
  const groupMissing = () => new AwsError('ResourceNotFoundException', 'The specified log group does not exist.');
  const streamMissing = () => new AwsError('ResourceNotFoundException', 'The specified log stream does not exist.');

  function groupNameOf(input: Record<string, unknown>): string {
    // logGroupIdentifier accepts a name or an ARN (with or without the trailing :*).
    const id = str(input.logGroupIdentifier);
    const name = str(input.logGroupName);
    if (id && name) throw new AwsError('InvalidParameterException', 'LogGroup name and LogGroup ARN are mutually exclusive parameters.');
    if (id) return id.startsWith('arn:') ? (id.replace(/:\*$/, '').split(':log-group:')[1] ?? id) : id;
    if (!name) throw validation('logGroupName', name, 'Member must not be null');
    return name;
  }

  function getGroup(input: Record<string, unknown>): LogGroup {
    const g = groups.get(groupNameOf(input));
    if (!g) throw groupMissing();
    return g;
  }

  function getStream(g: LogGroup, name: unknown): LogStream {
    const s = typeof name === 'string' ? g.streams.get(name) : undefined;
    if (!s) throw streamMissing();
    return s;
  }

  function groupByArn(arn: unknown): LogGroup {
    if (typeof arn !== 'string' || !arn.startsWith('arn:')) throw validation('resourceArn', arn, 'Member must be an ARN');
    const name = arn.replace(/:\*$/, '').split(':log-group:')[1];
    const g = name ? groups.get(name) : undefined;
    if (!g) throw groupMissing();
    return g;
  }

  function newStream(name: string): LogStream {
    return { name, creationTime: now(), events: [], sequence: 0 };
  }

  function append(s: LogStream, events: { timestamp: number; message: string }[]): void {
    const at = now();
    for (const e of events) {
      eventCounter += 1;
      s.events.push({ ...e, ingestionTime: at, eventId: String(eventCounter).padStart(56, '0') });
    }
    // Kept in timestamp order: PutLogEvents batches may interleave with earlier ones.
    s.events.sort((a, b) => a.timestamp - b.timestamp);
    s.lastIngestionTime = at;
    s.sequence += 1;
  }

  function streamView(g: LogGroup, s: LogStream) {
    return {
      logStreamName: s.name,
      creationTime: s.creationTime,
      firstEventTimestamp: s.events[0]?.timestamp,
      lastEventTimestamp: s.events.at(-1)?.timestamp,
      lastIngestionTime: s.lastIngestionTime,
      uploadSequenceToken: String(s.sequence).padStart(56, '0'),
      arn: `${groupArn(g.name)}:log-stream:${s.name}`,
      storedBytes: 0,
    };
  }

  function groupView(g: LogGroup) {
    return {
      logGroupName: g.name,
      creationTime: g.creationTime,
      retentionInDays: g.retentionInDays,
      metricFilterCount: 0,
      arn: `${groupArn(g.name)}:*`,
      logGroupArn: groupArn(g.name),
      storedBytes: [...g.streams.values()].reduce((n, s) => n + s.events.reduce((m, e) => m + Buffer.byteLength(e.message), 0), 0),
      logGroupClass: 'STANDARD',
    };
  }

  function inWindow(input: Record<string, unknown>): (e: LogEvent) => boolean {
    const start = typeof input.startTime === 'number' ? input.startTime : -Infinity;
    const end = typeof input.endTime === 'number' ? input.endTime : Infinity;
    return (e) => e.timestamp >= start && e.timestamp < end;
  }

  const operations: ServiceModule['operations'] = {
    CreateLogGroup: {
      mutating: true,
      handler(input) {
        const name = checkName('logGroupName', input.logGroupName, GROUP_NAME_RE, '[\\.\\-_/#A-Za-z0-9]+');
        if (groups.has(name)) throw new AwsError('ResourceAlreadyExistsException', 'The specified log group already exists');
        groups.set(name, { name, creationTime: now(), tags: new Map(tagMap(input.tags)), streams: new Map() });
        return {};
      },
    },
    DescribeLogGroups: {
      mutating: false,
      handler(input) {
        const prefix = str(input.logGroupNamePrefix);
        const pattern = str(input.logGroupNamePattern);
        if (prefix !== undefined && pattern !== undefined) {
          throw new AwsError('InvalidParameterException', 'LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.');
        }
        const limit = limitOf(input, 50, 50);
        const list = [...groups.values()]
          .filter((g) => (prefix === undefined || g.name.startsWith(prefix)) && (pattern === undefined || g.name.toLowerCase().includes(pattern.toLowerCase())))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        const start = decodeOffset(input.nextToken);
        const page = list.slice(start, start + limit);
        return { logGroups: page.map(groupView), nextToken: start + limit < list.length ? encodeOffset(start + limit) : undefined };
      },
    },
    DeleteLogGroup: {
      mutating: true,
      handler(input) {
        const g = getGroup(input);
        groups.delete(g.name);
        return {};
      },
    },
    PutRetentionPolicy: {
      mutating: true,
      handler(input) {
        const g = getGroup(input);
        const days = input.retentionInDays;
        if (typeof days !== 'number' || !RETENTION_DAYS.includes(days)) {
          throw validation('retentionInDays', days, `Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`);
        }
        g.retentionInDays = days;
        return {};
      },
    },
    DeleteRetentionPolicy: {
      mutating: true,
      handler(input) {
        getGroup(input).retentionInDays = undefined;
        return {};
      },
    },
    CreateLogStream: {
      mutating: true,
      handler(input) {
        const g = getGroup(input);
        const name = checkName('logStreamName', input.logStreamName, STREAM_NAME_RE, '[^:*]*');
        if (g.streams.has(name)) throw new AwsError('ResourceAlreadyExistsException', 'The specified log stream already exists');
        g.streams.set(name, newStream(name));
        return {};
      },
    },
    DeleteLogStream: {
      mutating: true,
      handler(input) {
        const g = getGroup(input);
        g.streams.delete(getStream(g, input.logStreamName).name);
        return {};
      },
    },
    DescribeLogStreams: {
      mutating: false,
      handler(input) {
        const g = getGroup(input);
        const prefix = str(input.logStreamNamePrefix);
        const orderBy = str(input.orderBy) ?? 'LogStreamName';
        if (orderBy !== 'LogStreamName' && orderBy !== 'LastEventTime') {
          throw validation('orderBy', orderBy, 'Member must satisfy enum value set: [LogStreamName, LastEventTime]');
        }
        if (prefix !== undefined && orderBy === 'LastEventTime') {
          throw new AwsError('InvalidParameterException', 'Cannot order by LastEventTime with a logStreamNamePrefix.');
        }
        const limit = limitOf(input, 50, 50);
        const list = [...g.streams.values()].filter((s) => prefix === undefined || s.name.startsWith(prefix));
        list.sort((a, b) =>
          orderBy === 'LastEventTime' ? (a.events.at(-1)?.timestamp ?? 0) - (b.events.at(-1)?.timestamp ?? 0) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
        );
        if (input.descending === true) list.reverse();
        const start = decodeOffset(input.nextToken);
        const page = list.slice(start, start + limit);
        return { logStreams: page.map((s) => streamView(g, s)), nextToken: start + limit < list.length ? encodeOffset(start + limit) : undefined };
      },
    },
    PutLogEvents: {
      mutating: true,
      handler(input) {
        const g = getGroup(input);
        const s = getStream(g, input.logStreamName);
        const events = input.logEvents;
        if (!Array.isArray(events) || events.length < 1 || events.length > 10_000) {
          throw validation(
            'logEvents',
            events === undefined ? 'null' : `[${Array.isArray(events) ? events.length : ''}]`,
            'Member must have length between 1 and 10000',
          );
        }
        const parsed = events.map((e: { timestamp?: unknown; message?: unknown }) => ({ timestamp: Number(e?.timestamp), message: String(e?.message ?? '') }));
        for (let i = 1; i < parsed.length; i++) {
          if ((parsed[i] as { timestamp: number }).timestamp < (parsed[i - 1] as { timestamp: number }).timestamp) {
            throw new AwsError('InvalidParameterException', 'Log events in a single PutLogEvents request must be in chronological order.');
          }
        }
        // Events older than 14 days (or than the retention period) or more than 2 hours ahead are rejected, not stored.
        const at = now();
        const oldest = at - Math.min(14, g.retentionInDays ?? 14) * DAY_MS;
        const newest = at + 2 * 3600_000;
        let tooOldEnd = -1;
        let tooNewStart = -1;
        parsed.forEach((e, i) => {
          if (e.timestamp < oldest) tooOldEnd = i;
          if (e.timestamp > newest && tooNewStart < 0) tooNewStart = i;
        });
        const accepted = parsed.filter((e) => e.timestamp >= oldest && e.timestamp <= newest);
        append(s, accepted);
        const rejected: Record<string, number> = {};
        if (tooOldEnd >= 0) rejected.tooOldLogEventEndIndex = tooOldEnd + 1;
        if (tooNewStart >= 0) rejected.tooNewLogEventStartIndex = tooNewStart;
        return {
          nextSequenceToken: String(s.sequence).padStart(56, '0'),
          rejectedLogEventsInfo: Object.keys(rejected).length > 0 ? rejected : undefined,
        };
      },
    },
    GetLogEvents: {
      mutating: false,
      handler(input) {
        const g = getGroup(input);
        const s = getStream(g, input.logStreamName);
        const limit = limitOf(input, 10_000, 10_000);
        const events = s.events.filter(inWindow(input));
        // Tokens are positions in the stream: f/<n> reads forward from n, b/<n> reads backward to n.
        const token = str(input.nextToken);
        let from: number;
        let to: number;
        if (token) {
          const m = /^([fb])\/(\d+)$/.exec(token);
          if (!m) throw new AwsError('InvalidParameterException', 'The specified nextToken is invalid.');
          const pos = Math.min(Number(m[2]), events.length);
          if (m[1] === 'f') [from, to] = [pos, Math.min(events.length, pos + limit)];
          else [from, to] = [Math.max(0, pos - limit), pos];
        } else if (input.startFromHead === true) {
          [from, to] = [0, Math.min(events.length, limit)];
        } else {
          [from, to] = [Math.max(0, events.length - limit), events.length];
        }
        const pad = (n: number) => String(n).padStart(56, '0');
        return {
          events: events.slice(from, to).map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
          nextForwardToken: `f/${pad(to)}`,
          nextBackwardToken: `b/${pad(from)}`,
        };
      },
    },
    FilterLogEvents: {
      mutating: false,
      handler(input) {
        const g = getGroup(input);
        const names = Array.isArray(input.logStreamNames) ? input.logStreamNames.map(String) : undefined;
        const prefix = str(input.logStreamNamePrefix);
        if (names && prefix !== undefined) {
          throw new AwsError('InvalidParameterException', 'logStreamNames and logStreamNamePrefix are mutually exclusive parameters.');
        }
        const streams = names ? names.map((n) => getStream(g, n)) : [...g.streams.values()].filter((s) => prefix === undefined || s.name.startsWith(prefix));
        const limit = limitOf(input, 10_000, 10_000);
        const match = matcher(str(input.filterPattern));
        const window = inWindow(input);
        const all = streams
          .flatMap((s) => s.events.filter((e) => window(e) && match(e.message)).map((e) => ({ logStreamName: s.name, ...e })))
          .sort((a, b) => a.timestamp - b.timestamp || (a.eventId < b.eventId ? -1 : 1));
        const start = decodeOffset(input.nextToken);
        const page = all.slice(start, start + limit);
        return {
          events: page,
          searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: true })),
          nextToken: start + limit < all.length ? encodeOffset(start + limit) : undefined,
        };
      },
    },
    TagResource: {
      mutating: true,
      handler(input) {
        const g = groupByArn(input.resourceArn);
        for (const [k, v] of tagMap(input.tags)) g.tags.set(k, v);
        return {};
      },
    },
    UntagResource: {
      mutating: true,
      handler(input) {
        const g = groupByArn(input.resourceArn);
        for (const k of Array.isArray(input.tagKeys) ? input.tagKeys : []) g.tags.delete(String(k));
        return {};
      },
    },
    ListTagsForResource: {
      mutating: false,
      handler(input) {
        return { tags: Object.fromEntries(groupByArn(input.resourceArn).tags) };
      },
    },
    TagLogGroup: {
      mutating: true,
      handler(input) {
        const g = getGroup(input);
        for (const [k, v] of tagMap(input.tags)) g.tags.set(k, v);
        return {};
      },
    },
    UntagLogGroup: {
      mutating: true,
      handler(input) {
        const g = getGroup(input);
        for (const k of Array.isArray(input.tags) ? input.tags : []) g.tags.delete(String(k));
        return {};
      },
    },
    ListTagsLogGroup: {
      mutating: false,
      handler(input) {
        return { tags: Object.fromEntries(getGroup(input).tags) };
      },
    },
  };

  return {
    name: 'logs',
    protocol: 'json',
    targetPrefix: 'Logs_20140328',
    operations,
    write(group, stream, lines, atMs) {
      const g = groups.get(group);
      if (!g) return false;
      let s = g.streams.get(stream);
      if (!s) {
        s = newStream(stream);
        g.streams.set(stream, s);
      }
      append(
        s,
        lines.map((message) => ({ timestamp: Math.floor(atMs), message })),
      );
      return true;
    },
    resourceTags(arn) {
      const match = /^arn:aws:logs:[^:]*:[^:]*:log-group:([^:]+)(:\*)?$/.exec(arn);
      const group = match ? groups.get(match[1] ?? '') : undefined;
      return group && Object.fromEntries(group.tags);
    },

    state() {
      return {
        logGroups: [...groups.values()].map((g) => ({
          ...groupView(g),
          tags: Object.fromEntries(g.tags),
          streams: [...g.streams.values()].map((s) => ({ name: s.name, events: s.events.length })),
        })),
      };
    },
    reset() {
      groups.clear();
    },
  };
}
