// ECS resource records and the latencies of the emulated control plane (emulated seconds).

export type Tag = { key: string; value: string };
export type Json = Record<string, unknown>;

/**
 * Latencies, in emulated seconds. AWS publishes no fixed figures; these sit inside what the ECS task
 * lifecycle documentation describes and what Fargate launches typically show (see emulator/README.md).
 */
export const LATENCY = {
  /** PROVISIONING: ENI creation and attachment for awsvpc tasks. */
  provisioning: 10,
  /** PENDING: image pull and container start. */
  pending: 20,
  /** slow-start behaviour's default extra start time. */
  slowStart: 120,
  /** A crashing process runs this long before exiting. */
  crashAfter: 5,
  /** An `exit` task runs this long before exiting with its exit code. */
  exitAfter: 5,
  /** STOPPING: SIGTERM to exit. */
  stopping: 5,
  /** DEPROVISIONING: ENI detach. */
  deprovisioning: 10,
  /** Delay before the service scheduler reacts to a change. */
  reconcile: 1,
  /** How long stopped tasks stay visible to DescribeTasks and ListTasks (AWS: at least an hour). */
  stoppedRetention: 3600,
  /** How long INACTIVE services stay visible (AWS: about an hour). */
  inactiveRetention: 3600,
  /** Container health checks: default interval (30 s) x retries (3). */
  containerHealthCheck: 90,
};

export interface Cluster {
  arn: string;
  name: string;
  status: 'ACTIVE' | 'INACTIVE';
  capacityProviders: string[];
  defaultCapacityProviderStrategy: Json[];
  settings: { name: string; value: string }[];
  configuration?: Json;
}

export interface TaskDef {
  arn: string;
  family: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE' | 'DELETE_IN_PROGRESS';
  body: Json;
  registeredAt: Date;
  deregisteredAt?: Date;
  deleteRequestedAt?: Date;
}

export interface LoadBalancerRef {
  targetGroupArn?: string;
  containerName?: string;
  containerPort?: number;
  loadBalancerName?: string;
  /** Blue/green, canary and linear: the second target group and the listener rules ECS shifts traffic on. */
  advancedConfiguration?: { alternateTargetGroupArn: string; productionListenerRule: string; testListenerRule?: string; roleArn?: string };
}

export interface DeploymentConfig {
  taskDefinition: string;
  launchType?: string;
  capacityProviderStrategy?: Json[];
  networkConfiguration?: Json;
  loadBalancers: LoadBalancerRef[];
  platformVersion?: string;
}

export interface Deployment extends DeploymentConfig {
  id: string;
  status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  desiredCount: number;
  failedTasks: number;
  createdAt: Date;
  updatedAt: Date;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  rolloutStateReason: string;
  revisionArn: string;
  serviceDeploymentArn: string;
  /** Where this deployment's tasks register when not in the service's target groups (the green target group). */
  registerIn?: LoadBalancerRef[];
  shift?: TrafficShift;
}

/** The lifecycle stages of a blue/green, canary or linear deployment, in order (ServiceDeployment.lifecycleStage). */
export const LIFECYCLE_STAGES = [
  'RECONCILE_SERVICE',
  'PRE_SCALE_UP',
  'SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
  'BAKE_TIME',
  'CLEAN_UP',
] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/** A deployment that moves traffic from the blue target group to the green one on listener rules. */
export interface TrafficShift {
  strategy: 'BLUE_GREEN' | 'CANARY' | 'LINEAR';
  stage: LifecycleStage;
  productionRule: string;
  testRule?: string;
  blue: string;
  green: string;
  /** Production traffic on green after each step, ending at 100, and the minutes to wait between steps. */
  steps: number[];
  stepMinutes: number;
  bakeMinutes: number;
  timer?: { id: number };
}

export interface ServiceDeploymentRec {
  arn: string;
  serviceArn: string;
  clusterArn: string;
  createdAt: Date;
  startedAt: Date;
  updatedAt: Date;
  finishedAt?: Date;
  stoppedAt?: Date;
  sourceRevisionArns: string[];
  targetRevisionArn: string;
  status: string;
  statusReason?: string;
  deploymentConfiguration: Json;
  rollback?: { reason: string; startedAt: Date; serviceRevisionArn: string };
  circuitBreaker: { status: string; failureCount: number; threshold: number };
  lifecycleStage?: LifecycleStage;
  alarms: { status: string; alarmNames?: string[]; triggeredAlarmNames?: string[] };
}

export interface Revision extends DeploymentConfig {
  arn: string;
  serviceArn: string;
  clusterArn: string;
  createdAt: Date;
  containerImages: { containerName: string; image: string; imageDigest?: string }[];
}

export interface ServiceEvent {
  id: string;
  createdAt: Date;
  message: string;
}

export interface Service {
  arn: string;
  name: string;
  clusterArn: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  desiredCount: number;
  taskDefinition: string;
  config: DeploymentConfig;
  deploymentConfiguration: Json;
  healthCheckGracePeriodSeconds?: number;
  propagateTags: string;
  enableECSManagedTags: boolean;
  enableExecuteCommand: boolean;
  createdAt: Date;
  createdBy: string;
  events: ServiceEvent[];
  deployments: Deployment[];
  lastCompleted?: Deployment;
  steady: boolean;
  reconcileTimer?: { id: number };
  /** Reasons already reported in a placement-failure event, so it is not repeated on every pass. */
  placementReported?: string;
}

export interface Container {
  arn: string;
  name: string;
  image: string;
  imageDigest?: string;
  essential: boolean;
  lastStatus: string;
  exitCode?: number;
  reason?: string;
  healthStatus: string;
  command?: string[];
  logConfiguration?: Json;
  portMappings: { containerPort: number }[];
  hasHealthCheck: boolean;
  cpu?: number;
  memory?: number;
}

export interface Task {
  arn: string;
  id: string;
  clusterArn: string;
  taskDefinitionArn: string;
  family: string;
  group: string;
  startedBy?: string;
  serviceArn?: string;
  deploymentId?: string;
  lastStatus: string;
  desiredStatus: 'RUNNING' | 'STOPPED';
  createdAt: Date;
  pullStartedAt?: Date;
  pullStoppedAt?: Date;
  startedAt?: Date;
  stoppingAt?: Date;
  stoppedAt?: Date;
  executionStoppedAt?: Date;
  stoppedReason?: string;
  stopCode?: string;
  containers: Container[];
  launchType: string;
  capacityProviderName?: string;
  availabilityZone: string;
  subnetId: string;
  ip: string;
  eniId: string;
  attachmentId: string;
  overrides: Json;
  cpu?: string;
  memory?: string;
  healthStatus: string;
  version: number;
  /** Target groups this task is registered in (with the port). */
  targets: { targetGroupArn: string; port: number }[];
  timers: { id: number }[];
  /** Whether the task ever became healthy (counted by the circuit breaker when it never does). */
  becameHealthy: boolean;
  /** ECS Exec: set from the service (or RunTask) when the task is launched, as on AWS. */
  enableExecuteCommand: boolean;
}
