// The contract between the emulator's server core and its service modules. Shares nothing with src/.
import type { Iam, PassedRole } from '../iam.ts';

/** An error as AWS returns it: the code, message and HTTP status the SDK turns into an exception. */
export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  /** "Sender" for client faults (4xx), "Receiver" for server faults (5xx); used by Query/XML errors. */
  readonly fault: 'Sender' | 'Receiver';
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
    this.fault = status >= 500 ? 'Receiver' : 'Sender';
  }
}

/** Emulated time. All service behaviour is scheduled on it, never on wall-clock timers. */
export interface Clock {
  /** Emulated epoch milliseconds. */
  now(): number;
  /** Runs fn once `seconds` of emulated time have passed. */
  setTimer(seconds: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Jumps emulated time forward, firing due timers in order. */
  advance(seconds: number): void;
  /** Emulated seconds per wall second. */
  readonly timeScale: number;
}
export interface TimerHandle {
  readonly id: number;
}

/** How a task started from an image behaves (set through POST /_emulator/behaviours). */
export interface TaskBehaviour {
  kind: 'healthy' | 'crash' | 'unhealthy' | 'oom' | 'pull-error' | 'slow-start' | 'exit';
  exitCode?: number;
  logLines?: string[];
  startSeconds?: number;
  /** When set, applies only to tasks run with exactly this command override. */
  command?: string[];
}

/** What ECS learns when it pulls an image; implemented by the ECR module. */
export interface ImageResolution {
  /** false: the pull fails with CannotPullContainerError. */
  found: boolean;
  digest?: string;
  /** Image config labels; `ecs-emulator.behaviour` (JSON TaskBehaviour) sets the behaviour. */
  labels?: Record<string, string>;
  /** Why the pull failed, in ECS's wording. */
  reason?: string;
}

export interface ImageResolver {
  resolve(image: string): Promise<ImageResolution>;
}

/** Where running tasks write their log lines; implemented by the CloudWatch Logs module. */
export interface LogSink {
  /** Appends lines to group/stream (creating the stream). Returns false when the group does not exist. */
  write(group: string, stream: string, lines: string[], atMs: number): boolean;
}

/** ECS services as a scalable dimension (ecs:service:DesiredCount); implemented by the ECS module. */
export interface EcsScaling {
  /** resourceId is "service/<cluster name>/<service name>"; undefined when no such ACTIVE service. */
  desiredCount(resourceId: string): number | undefined;
  setDesiredCount(resourceId: string, count: number, cause: string): void;
}

/** One recorded call, as served by GET /_emulator/calls. */
export interface CallRecord {
  time: number;
  service: string;
  operation: string;
  mutating: boolean;
  parameters: unknown;
  error?: string;
  /** The action that made the call (from `action/<name>` in its user agent). */
  action?: string;
}

/** What IAM needs of ECS to authorize RunTask: the roles its task definition passes. */
export interface TaskRoles {
  /** Execution and task roles of a task definition (family, family:revision or ARN); none when unknown. */
  taskDefinitionRoles(ref: string): PassedRole[];
}

/** Shared by every module of one emulator instance. */
export interface EmulatorContext {
  region: string;
  accountId: string;
  clock: Clock;
  images: ImageResolver;
  logs: LogSink;
  ecsScaling: EcsScaling;
  taskRoles: TaskRoles;
  iam: Iam;
  /** The service principals whose service-linked role exists in the account (IAM creates them on first use). */
  serviceLinkedRoles: Set<string>;
  recordCall(call: CallRecord): void;
}

/** Who made a call: the action named in its user agent, when there is one. */
export interface Caller {
  action?: string;
}

export type OperationHandler = (input: Record<string, unknown>, caller: Caller) => unknown | Promise<unknown>;

export interface Operation {
  mutating: boolean;
  handler: OperationHandler;
}

/** A REST request as a REST-XML module sees it. */
export interface RestRequest {
  method: string;
  /** The URL path, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  body: string;
}

/** What a REST-XML operation answers: status, XML body and extra headers (Location). */
export interface RestResponse {
  status: number;
  xml: string;
  headers?: Record<string, string>;
}

/** One AWS service as served by the emulator. */
export interface ServiceModule {
  /** Short name used in the call log, faults and state dump: ecs, ecr, logs, sts, elbv2, ec2, application-autoscaling, route53. */
  name: string;
  protocol: 'json' | 'query' | 'ec2' | 'rest-xml';
  /** JSON 1.1: the X-Amz-Target prefix before the dot, e.g. AmazonEC2ContainerServiceV20141113. */
  targetPrefix?: string;
  /** Query/EC2: the API Version parameter the SDK sends, e.g. 2015-12-01. */
  apiVersion?: string;
  /** Query/XML and REST-XML: the XML namespace of responses. */
  xmlNamespace?: string;
  /** REST-XML: the path prefix of every request (the API version), e.g. /2013-04-01/. */
  pathPrefix?: string;
  /**
   * REST-XML: the operation a request calls (undefined for none) and how to read its input (path labels,
   * query and body under the SDK's member names; throws AwsError for a body it cannot read). Its
   * handlers return a RestResponse.
   */
  route?(req: RestRequest): { operation: string; input(): Record<string, unknown> } | undefined;
  operations: Record<string, Operation>;
  /** Every resource with its tags, for GET /_emulator/state. */
  state(): unknown;
  /** The tags of the resource an ARN of this service names (aws:ResourceTag for IAM); undefined when none exists. */
  resourceTags?(arn: string): Record<string, string> | undefined;
  /** Back to a new account's state. */
  reset(): void;
}

/** A request to the GitHub REST surface (mounted under /github) or its control (/_emulator/github/*). */
export interface GithubRequest {
  method: string;
  /** The path after the mount prefix, e.g. /repos/o/r/issues/1/comments. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when there is none. */
  body: unknown;
}

export interface GithubResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
