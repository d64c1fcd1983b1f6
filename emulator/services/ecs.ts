// Amazon ECS (JSON 1.1, AmazonEC2ContainerServiceV20141113): clusters, task definitions, services,
// service deployments and revisions, tasks, tags. The behaviour over time lives in ecs-scheduler.ts.
import type { AlarmStore } from '../core/alarms.ts';
import type { BehaviourStore } from '../core/behaviours.ts';
import { deploymentId, digits } from '../core/ids.ts';
import { AwsError, type EcsScaling, type EmulatorContext, type ServiceModule, type TaskRoles } from '../core/types.ts';
import { serviceLinkedRolePermission } from '../iam.ts';
import type { Ec2Network } from './ec2.ts';
import type { Cluster, Deployment, DeploymentConfig, Json, LoadBalancerRef, Revision, Service, ServiceDeploymentRec, Tag, Task, TaskDef } from './ecs-model.ts';
import { circuitBreakerThreshold, createScheduler, type Store } from './ecs-scheduler.ts';
import type { ElbTargets } from './elbv2.ts';

const NAME_RE = /^[a-zA-Z0-9_-]{1,255}$/;
const arr = <T = unknown>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const last = (arn: string): string => arn.split('/').pop() ?? arn;

const invalid = (message: string): AwsError => new AwsError('InvalidParameterException', message);
const ECS_PRINCIPAL = 'ecs.amazonaws.com';
const STRATEGIES = ['ROLLING', 'BLUE_GREEN', 'CANARY', 'LINEAR'];
const client = (message: string): AwsError => new AwsError('ClientException', message);

function requireString(input: Json, key: string): string {
  const v = input[key];
  if (typeof v !== 'string' || v === '') throw invalid(`${key} can not be blank.`);
  return v;
}

function validateTags(tags: unknown): Tag[] {
  const list = arr<Json>(tags);
  if (list.length > 50) throw invalid('The tags list can contain at most 50 tags.');
  return list.map((t) => {
    const key = str(t.key);
    if (!key || key.length > 128) throw invalid('Tag key must be between 1 and 128 characters.');
    const value = str(t.value) ?? '';
    if (value.length > 256) throw invalid('Tag value must be at most 256 characters.');
    if (key.toLowerCase().startsWith('aws:')) throw invalid('Tag keys with the aws: prefix are reserved for AWS use.');
    return { key, value };
  });
}

function paginate<T>(items: T[], input: Json, max = 100): { page: T[]; nextToken?: string } {
  const size = typeof input.maxResults === 'number' ? input.maxResults : max;
  if (size < 1 || size > max) throw invalid(`maxResults must be between 1 and ${max}.`);
  const start = input.nextToken ? Number(Buffer.from(String(input.nextToken), 'base64').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw invalid('Invalid nextToken.');
  const page = items.slice(start, start + size);
  const out: { page: T[]; nextToken?: string } = { page };
  if (start + size < items.length) out.nextToken = Buffer.from(String(start + size)).toString('base64');
  return out;
}

export interface EcsDeps {
  ec2: Ec2Network;
  elb: ElbTargets;
  behaviours: BehaviourStore;
  alarms: AlarmStore;
}

export function createEcsService(ctx: EmulatorContext, deps: EcsDeps): ServiceModule & EcsScaling & TaskRoles {
  let clusters = new Map<string, Cluster>();
  const store: Store = {
    services: new Map(),
    tasks: new Map(),
    taskDefs: new Map(),
    serviceDeployments: new Map(),
    revisions: new Map(),
    tags: new Map(),
  };
  let revisionsByFamily = new Map<string, number>();
  const scheduler = createScheduler({ ctx, ec2: deps.ec2, elb: deps.elb, behaviours: deps.behaviours, alarms: deps.alarms }, store);

  const arnPrefix = (): string => `arn:aws:ecs:${ctx.region}:${ctx.accountId}`;
  const now = (): Date => new Date(ctx.clock.now());

  // A target group stays in use while a live service routes to it.
  deps.elb.setUsage((tgArn) =>
    [...store.services.values()].some(
      (s) =>
        s.status !== 'INACTIVE' &&
        s.config.loadBalancers.some((lb) => lb.targetGroupArn === tgArn || lb.advancedConfiguration?.alternateTargetGroupArn === tgArn),
    ),
  );

  // ---- lookups ----

  function clusterOf(input: Json): Cluster {
    const ref = str(input.cluster) ?? 'default';
    const c = clusters.get(ref.startsWith('arn:') ? last(ref) : ref);
    if (c?.status !== 'ACTIVE') throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    return c;
  }

  function findService(c: Cluster, ref: string): Service | undefined {
    const name = ref.startsWith('arn:') ? last(ref) : ref;
    const matches = [...store.services.values()].filter((s) => s.clusterArn === c.arn && s.name === name);
    return matches.find((s) => s.status !== 'INACTIVE') ?? matches.at(-1);
  }

  function serviceOf(c: Cluster, ref: string): Service {
    const s = findService(c, ref);
    if (!s) throw new AwsError('ServiceNotFoundException', 'Service not found.');
    return s;
  }

  /** family, family:revision or ARN; a bare family means its latest ACTIVE revision. */
  function findTaskDef(ref: string): TaskDef | undefined {
    if (ref.startsWith('arn:')) return store.taskDefs.get(ref);
    const [family, rev] = ref.split(':');
    const ofFamily = [...store.taskDefs.values()].filter((t) => t.family === family);
    if (rev !== undefined) return ofFamily.find((t) => t.revision === Number(rev));
    return ofFamily.filter((t) => t.status === 'ACTIVE').sort((a, b) => b.revision - a.revision)[0];
  }

  function resolveTaskDefForUse(ref: string, code: 'ClientException' | 'InvalidParameterException'): TaskDef {
    const td = findTaskDef(ref);
    if (!td || td.status === 'DELETE_IN_PROGRESS') throw new AwsError(code, 'TaskDefinition not found.');
    if (td.status !== 'ACTIVE') throw new AwsError(code, 'TaskDefinition is inactive');
    return td;
  }

  // ---- views ----

  function clusterView(c: Cluster, include: string[]): Json {
    const tasks = [...store.tasks.values()].filter((t) => t.clusterArn === c.arn);
    const view: Json = {
      clusterArn: c.arn,
      clusterName: c.name,
      status: c.status,
      registeredContainerInstancesCount: 0,
      runningTasksCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
      pendingTasksCount: tasks.filter((t) => ['PROVISIONING', 'PENDING', 'ACTIVATING'].includes(t.lastStatus)).length,
      activeServicesCount: [...store.services.values()].filter((s) => s.clusterArn === c.arn && s.status === 'ACTIVE').length,
      statistics: [],
      capacityProviders: c.capacityProviders,
      defaultCapacityProviderStrategy: c.defaultCapacityProviderStrategy,
      attachments: [],
    };
    if (c.configuration) view.configuration = c.configuration;
    if (include.includes('SETTINGS')) view.settings = c.settings;
    if (include.includes('TAGS')) view.tags = store.tags.get(c.arn) ?? [];
    return view;
  }

  const taskDefView = (td: TaskDef): Json => {
    const view: Json = {
      ...td.body,
      taskDefinitionArn: td.arn,
      family: td.family,
      revision: td.revision,
      status: td.status,
      registeredAt: td.registeredAt,
      registeredBy: `arn:aws:iam::${ctx.accountId}:root`,
    };
    if (td.deregisteredAt) view.deregisteredAt = td.deregisteredAt;
    if (td.deleteRequestedAt) view.deleteRequestedAt = td.deleteRequestedAt;
    return view;
  };

  function deploymentCounts(svc: Service, d: Deployment): { running: number; pending: number } {
    const tasks = [...store.tasks.values()].filter((t) => t.serviceArn === svc.arn && t.deploymentId === d.id && t.desiredStatus === 'RUNNING');
    return {
      running: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
      pending: tasks.filter((t) => t.lastStatus !== 'RUNNING').length,
    };
  }

  function deploymentView(svc: Service, d: Deployment): Json {
    const counts = deploymentCounts(svc, d);
    const view: Json = {
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDefinition,
      desiredCount: d.status === 'PRIMARY' ? d.desiredCount : counts.running + counts.pending,
      pendingCount: counts.pending,
      runningCount: counts.running,
      failedTasks: d.failedTasks,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      rolloutState: d.rolloutState,
      rolloutStateReason: d.rolloutStateReason,
    };
    if (d.capacityProviderStrategy?.length) view.capacityProviderStrategy = d.capacityProviderStrategy;
    else view.launchType = d.launchType ?? 'FARGATE';
    if ((d.launchType ?? 'FARGATE') === 'FARGATE') view.platformVersion = d.platformVersion ?? 'LATEST';
    if (d.networkConfiguration) view.networkConfiguration = d.networkConfiguration;
    return view;
  }

  function serviceView(svc: Service, include: string[]): Json {
    const tasks = [...store.tasks.values()].filter((t) => t.serviceArn === svc.arn && t.desiredStatus === 'RUNNING');
    const view: Json = {
      serviceArn: svc.arn,
      serviceName: svc.name,
      clusterArn: svc.clusterArn,
      loadBalancers: svc.config.loadBalancers,
      serviceRegistries: [],
      status: svc.status,
      desiredCount: svc.status === 'ACTIVE' ? svc.desiredCount : 0,
      runningCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
      pendingCount: tasks.filter((t) => t.lastStatus !== 'RUNNING').length,
      taskDefinition: svc.taskDefinition,
      deploymentConfiguration: svc.deploymentConfiguration,
      deployments: svc.deployments.map((d) => deploymentView(svc, d)),
      events: svc.events,
      createdAt: svc.createdAt,
      createdBy: svc.createdBy,
      placementConstraints: [],
      placementStrategy: [],
      schedulingStrategy: 'REPLICA',
      deploymentController: { type: 'ECS' },
      enableECSManagedTags: svc.enableECSManagedTags,
      propagateTags: svc.propagateTags,
      enableExecuteCommand: svc.enableExecuteCommand,
      availabilityZoneRebalancing: 'ENABLED',
    };
    if (svc.config.capacityProviderStrategy?.length) view.capacityProviderStrategy = svc.config.capacityProviderStrategy;
    else view.launchType = svc.config.launchType ?? 'FARGATE';
    if ((svc.config.launchType ?? 'FARGATE') === 'FARGATE') view.platformVersion = svc.config.platformVersion ?? 'LATEST';
    if (svc.config.networkConfiguration) view.networkConfiguration = svc.config.networkConfiguration;
    if (svc.healthCheckGracePeriodSeconds !== undefined) view.healthCheckGracePeriodSeconds = svc.healthCheckGracePeriodSeconds;
    if (include.includes('TAGS')) view.tags = store.tags.get(svc.arn) ?? [];
    return view;
  }

  function taskView(t: Task, include: string[]): Json {
    const view: Json = {
      taskArn: t.arn,
      clusterArn: t.clusterArn,
      taskDefinitionArn: t.taskDefinitionArn,
      overrides: t.overrides,
      lastStatus: t.lastStatus,
      desiredStatus: t.desiredStatus,
      cpu: t.cpu,
      memory: t.memory,
      containers: t.containers.map((c) => {
        const cv: Json = {
          containerArn: c.arn,
          taskArn: t.arn,
          name: c.name,
          image: c.image,
          lastStatus: c.lastStatus,
          networkBindings: [],
          networkInterfaces: [{ attachmentId: t.attachmentId, privateIpv4Address: t.ip }],
          healthStatus: c.healthStatus,
        };
        if (c.imageDigest) cv.imageDigest = c.imageDigest;
        if (c.exitCode !== undefined) cv.exitCode = c.exitCode;
        if (c.reason) cv.reason = c.reason;
        if (c.cpu !== undefined) cv.cpu = String(c.cpu);
        if (c.memory !== undefined) cv.memory = String(c.memory);
        // ECS Exec's agent runs beside each container of a task launched with it.
        if (t.enableExecuteCommand) {
          const agent: Json = { name: 'ExecuteCommandAgent', lastStatus: c.lastStatus === 'RUNNING' || c.lastStatus === 'STOPPED' ? c.lastStatus : 'PENDING' };
          if (t.startedAt) agent.lastStartedAt = t.startedAt;
          cv.managedAgents = [agent];
        }
        return cv;
      }),
      version: t.version,
      connectivity: t.lastStatus === 'PROVISIONING' ? undefined : 'CONNECTED',
      createdAt: t.createdAt,
      group: t.group,
      launchType: t.launchType,
      platformVersion: '1.4.0',
      platformFamily: 'Linux',
      availabilityZone: t.availabilityZone,
      attachments: [
        {
          id: t.attachmentId,
          type: 'ElasticNetworkInterface',
          status: t.lastStatus === 'STOPPED' ? 'DELETED' : t.lastStatus === 'PROVISIONING' ? 'PRECREATED' : 'ATTACHED',
          details: [
            { name: 'subnetId', value: t.subnetId },
            { name: 'networkInterfaceId', value: t.eniId },
            { name: 'privateIPv4Address', value: t.ip },
          ],
        },
      ],
      healthStatus: t.healthStatus,
      enableExecuteCommand: t.enableExecuteCommand,
      ephemeralStorage: { sizeInGiB: 20 },
    };
    for (const k of [
      'startedBy',
      'capacityProviderName',
      'pullStartedAt',
      'pullStoppedAt',
      'startedAt',
      'stoppingAt',
      'stoppedAt',
      'executionStoppedAt',
      'stoppedReason',
      'stopCode',
    ] as const) {
      if (t[k] !== undefined) view[k] = t[k];
    }
    if (t.lastStatus !== 'PROVISIONING') view.connectivityAt = t.createdAt;
    if (include.includes('TAGS')) view.tags = store.tags.get(t.arn) ?? [];
    return view;
  }

  /** Task counts of the deployment that runs this revision; requested is its desired count while PRIMARY. */
  const revisionSummary = (arn: string): Json => {
    const rev = store.revisions.get(arn);
    const svc = rev ? store.services.get(rev.serviceArn) : undefined;
    const d = svc?.deployments.find((x) => x.revisionArn === arn);
    const counts = svc && d ? deploymentCounts(svc, d) : { running: 0, pending: 0 };
    return {
      arn,
      requestedTaskCount: d?.status === 'PRIMARY' ? d.desiredCount : counts.running + counts.pending,
      runningTaskCount: counts.running,
      pendingTaskCount: counts.pending,
    };
  };

  function serviceDeploymentView(sd: ServiceDeploymentRec): Json {
    const view: Json = {
      serviceDeploymentArn: sd.arn,
      serviceArn: sd.serviceArn,
      clusterArn: sd.clusterArn,
      createdAt: sd.createdAt,
      startedAt: sd.startedAt,
      updatedAt: sd.updatedAt,
      sourceServiceRevisions: sd.sourceRevisionArns.map(revisionSummary),
      targetServiceRevision: revisionSummary(sd.targetRevisionArn),
      status: sd.status,
      deploymentConfiguration: sd.deploymentConfiguration,
      deploymentCircuitBreaker: sd.circuitBreaker,
      alarms: sd.alarms,
    };
    for (const k of ['finishedAt', 'stoppedAt', 'statusReason', 'rollback', 'lifecycleStage'] as const) if (sd[k] !== undefined) view[k] = sd[k];
    return view;
  }

  /** The container instance attributes AWS derives from a task definition (Fargate provides them all). */
  function requiredAttributes(body: Json): { name: string }[] {
    const containers = arr<Json>(body.containerDefinitions);
    const names: string[] = [];
    if (containers.some((cd) => (cd.logConfiguration as Json | undefined)?.logDriver === 'awslogs')) {
      names.push('com.amazonaws.ecs.capability.logging-driver.awslogs', 'com.amazonaws.ecs.capability.docker-remote-api.1.19');
      if (body.executionRoleArn) names.push('ecs.capability.execution-role-awslogs');
    }
    if (body.networkMode === 'awsvpc') names.push('ecs.capability.task-eni', 'com.amazonaws.ecs.capability.docker-remote-api.1.18');
    if (containers.some((cd) => cd.healthCheck)) names.push('ecs.capability.container-health-check', 'com.amazonaws.ecs.capability.docker-remote-api.1.24');
    return [...new Set(names)].map((name) => ({ name }));
  }

  // ---- validation helpers ----

  function validateNetwork(input: Json, td: TaskDef): Json | undefined {
    const nc = input.networkConfiguration as Json | undefined;
    const awsvpc = td.body.networkMode === 'awsvpc';
    if (!nc) {
      if (awsvpc) throw invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
      return undefined;
    }
    const cfg = (nc.awsvpcConfiguration ?? {}) as Json;
    const subnets = arr<string>(cfg.subnets);
    if (!subnets.length) throw invalid('subnets can not be empty.');
    if (subnets.length > 16) throw invalid('subnets can have at most 16 items.');
    const missingSubnet = subnets.find((s) => !deps.ec2.subnet(s));
    if (missingSubnet) {
      throw invalid(
        `Error retrieving subnet information for [${missingSubnet}]: The subnet ID '${missingSubnet}' does not exist (ErrorCode: InvalidSubnetID.NotFound)`,
      );
    }
    const groups = arr<string>(cfg.securityGroups);
    if (groups.length > 5) throw invalid('securityGroups can have at most 5 items.');
    const missingGroup = groups.find((g) => !deps.ec2.securityGroup(g));
    if (missingGroup) {
      throw invalid(
        `Error retrieving security group information for [${missingGroup}]: The security group '${missingGroup}' does not exist (ErrorCode: InvalidGroup.NotFound)`,
      );
    }
    return {
      awsvpcConfiguration: {
        subnets,
        securityGroups: groups,
        assignPublicIp: str(cfg.assignPublicIp) ?? 'DISABLED',
      },
    };
  }

  function validateLoadBalancers(input: unknown, td: TaskDef): LoadBalancerRef[] {
    return arr<Json>(input).map((lb) => {
      const tgArn = str(lb.targetGroupArn);
      if (!tgArn) throw invalid('targetGroupArn must be specified for application load balancers.');
      const tg = deps.elb.targetGroup(tgArn);
      if (!tg) throw invalid(`Unable to find target group ${tgArn}.`);
      if (!tg.loadBalancerArns.length) throw invalid(`The target group with targetGroupArn ${tgArn} does not have an associated load balancer.`);
      if (td.body.networkMode === 'awsvpc' && tg.targetType !== 'ip') {
        throw invalid(
          `The provided target group ${tgArn} has target type ${tg.targetType}, which is incompatible with the awsvpc network mode specified in the task definition.`,
        );
      }
      const containerName = str(lb.containerName);
      const containerPort = typeof lb.containerPort === 'number' ? lb.containerPort : undefined;
      const container = arr<Json>(td.body.containerDefinitions).find((c) => c.name === containerName);
      if (!containerName || !container) throw invalid(`The container ${containerName} does not exist in the task definition.`);
      if (!arr<Json>(container.portMappings).some((p) => p.containerPort === containerPort)) {
        throw invalid(`The container ${containerName} did not have a container port ${containerPort} defined.`);
      }
      const ref: LoadBalancerRef = { targetGroupArn: tgArn, containerName, containerPort: containerPort as number };
      if (lb.advancedConfiguration) ref.advancedConfiguration = validateAdvanced(lb.advancedConfiguration as Json, tgArn);
      return ref;
    });
  }

  function validateAdvanced(ac: Json, tgArn: string): NonNullable<LoadBalancerRef['advancedConfiguration']> {
    const alternate = str(ac.alternateTargetGroupArn);
    const production = str(ac.productionListenerRule);
    if (!alternate) throw invalid('alternateTargetGroupArn must be specified in advancedConfiguration.');
    if (!production) throw invalid('productionListenerRule must be specified in advancedConfiguration.');
    if (!deps.elb.targetGroup(alternate)) throw invalid(`Unable to find target group ${alternate}.`);
    if (alternate === tgArn) throw invalid('The alternateTargetGroupArn must be different from the targetGroupArn.');
    const out: NonNullable<LoadBalancerRef['advancedConfiguration']> = { alternateTargetGroupArn: alternate, productionListenerRule: production };
    const test = str(ac.testListenerRule);
    for (const rule of [production, test]) {
      if (!rule) continue;
      const forward = deps.elb.ruleForward(rule);
      if (!forward) throw invalid(`Unable to find listener rule ${rule} with a forward action.`);
      if (!forward.some((g) => g.targetGroupArn === tgArn || g.targetGroupArn === alternate)) {
        throw invalid(`The listener rule ${rule} does not forward to target group ${tgArn} or ${alternate}.`);
      }
    }
    if (test) out.testListenerRule = test;
    if (str(ac.roleArn)) out.roleArn = str(ac.roleArn);
    return out;
  }

  /** Blue/green, canary and linear deployments shift traffic on a listener rule: they need a load balancer that says where. */
  function validateStrategy(dc: Json, loadBalancers: LoadBalancerRef[]): void {
    const strategy = dc.strategy ?? 'ROLLING';
    if (strategy !== 'ROLLING' && !loadBalancers.some((lb) => lb.advancedConfiguration)) {
      throw invalid(
        `The ${strategy} deployment strategy requires a load balancer with an advancedConfiguration (alternateTargetGroupArn and productionListenerRule).`,
      );
    }
  }

  function validateCapacity(input: Json, c: Cluster): { launchType?: string; capacityProviderStrategy?: Json[] } {
    const launchType = str(input.launchType);
    const strategy = arr<Json>(input.capacityProviderStrategy);
    if (launchType && strategy.length) {
      throw invalid('Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.');
    }
    if (launchType && !['FARGATE', 'EC2', 'EXTERNAL'].includes(launchType)) throw invalid(`Launch type ${launchType} is not valid.`);
    for (const s of strategy) {
      if (!c.capacityProviders.includes(String(s.capacityProvider))) {
        throw invalid(
          'The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.',
        );
      }
    }
    if (strategy.length)
      return { capacityProviderStrategy: strategy.map((s) => ({ capacityProvider: s.capacityProvider, weight: s.weight ?? 0, base: s.base ?? 0 })) };
    if (launchType) return { launchType };
    if (c.defaultCapacityProviderStrategy.length) return { capacityProviderStrategy: c.defaultCapacityProviderStrategy };
    return { launchType: 'EC2' };
  }

  function deploymentConfigurationOf(input: unknown, previous?: Json): Json {
    const dc = (input ?? {}) as Json;
    const base: Json = previous ?? {
      deploymentCircuitBreaker: { enable: false, rollback: false },
      maximumPercent: 200,
      minimumHealthyPercent: 100,
      strategy: 'ROLLING',
    };
    const out: Json = { ...base };
    if (dc.deploymentCircuitBreaker) {
      const cb = dc.deploymentCircuitBreaker as Json;
      if (typeof cb.enable !== 'boolean' || typeof cb.rollback !== 'boolean') {
        throw invalid('deploymentCircuitBreaker requires both enable and rollback.');
      }
      out.deploymentCircuitBreaker = cb;
    }
    if (dc.maximumPercent !== undefined) out.maximumPercent = dc.maximumPercent;
    if (dc.minimumHealthyPercent !== undefined) out.minimumHealthyPercent = dc.minimumHealthyPercent;
    if (dc.alarms) {
      const a = dc.alarms as Json;
      if (!Array.isArray(a.alarmNames) || typeof a.enable !== 'boolean' || typeof a.rollback !== 'boolean') {
        throw invalid('alarms requires alarmNames, enable and rollback.');
      }
      out.alarms = a;
    }
    if (dc.strategy !== undefined) {
      if (!STRATEGIES.includes(String(dc.strategy)))
        throw invalid(`Invalid deployment strategy ${String(dc.strategy)}. Valid values: ${STRATEGIES.join(', ')}.`);
      out.strategy = dc.strategy;
    }
    const minutes = (v: unknown, what: string): void => {
      if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1440))
        throw invalid(`${what} must be between 0 and 1440 minutes.`);
    };
    const tenths = (v: unknown, lo: number, what: string): void => {
      const n = Number(v);
      if (v !== undefined && !(n >= lo && n <= 100 && Math.abs(n * 10 - Math.round(n * 10)) < 1e-9)) {
        throw invalid(`${what} must be a multiple of 0.1 from ${lo.toFixed(1)} to 100.0.`);
      }
    };
    if (dc.bakeTimeInMinutes !== undefined) {
      minutes(dc.bakeTimeInMinutes, 'bakeTimeInMinutes');
      out.bakeTimeInMinutes = dc.bakeTimeInMinutes;
    }
    if (dc.canaryConfiguration) {
      const cc = dc.canaryConfiguration as Json;
      tenths(cc.canaryPercent, 0.1, 'canaryPercent');
      minutes(cc.canaryBakeTimeInMinutes, 'canaryBakeTimeInMinutes');
      out.canaryConfiguration = cc;
    }
    if (dc.linearConfiguration) {
      const lc = dc.linearConfiguration as Json;
      tenths(lc.stepPercent, 3, 'stepPercent');
      minutes(lc.stepBakeTimeInMinutes, 'stepBakeTimeInMinutes');
      out.linearConfiguration = lc;
    }
    if (dc.lifecycleHooks) out.lifecycleHooks = dc.lifecycleHooks;
    const max = Number(out.maximumPercent);
    const min = Number(out.minimumHealthyPercent);
    if (!(max >= 100)) throw invalid('The maximumPercent must be greater than or equal to 100.');
    if (!(min >= 0 && min <= 100)) throw invalid('minimumHealthyPercent must be between 0 and 100.');
    if (max <= 100 && min >= 100) throw invalid('maximumPercent must be greater than minimumHealthyPercent, or the deployment cannot make progress.');
    return out;
  }

  // ---- deployments ----

  function newRevision(svc: Service, config: DeploymentConfig): Revision {
    const td = store.taskDefs.get(config.taskDefinition);
    const rev: Revision = {
      ...config,
      arn: `${arnPrefix()}:service-revision/${last(svc.clusterArn)}/${svc.name}/${digits(19)}`,
      serviceArn: svc.arn,
      clusterArn: svc.clusterArn,
      createdAt: now(),
      containerImages: arr<Json>(td?.body.containerDefinitions).map((c) => ({ containerName: String(c.name), image: String(c.image) })),
    };
    store.revisions.set(rev.arn, rev);
    return rev;
  }

  /**
   * Blue/green, canary and linear: green registers in whichever of the two target groups the last completed
   * deployment does not use. A service's first deployment has no blue to shift from and runs as a rolling one.
   */
  function planShift(svc: Service, d: Deployment): void {
    const dc = svc.deploymentConfiguration;
    const strategy = dc.strategy;
    if (strategy !== 'BLUE_GREEN' && strategy !== 'CANARY' && strategy !== 'LINEAR') return;
    const lb = svc.config.loadBalancers.find((x) => x.advancedConfiguration);
    const ac = lb?.advancedConfiguration;
    const blueRun = svc.lastCompleted;
    if (!lb?.targetGroupArn || !ac || !blueRun) return;
    const i = svc.config.loadBalancers.indexOf(lb);
    const blue = blueRun.registerIn?.[i]?.targetGroupArn ?? lb.targetGroupArn;
    const green = blue === ac.alternateTargetGroupArn ? lb.targetGroupArn : ac.alternateTargetGroupArn;
    const canary = (dc.canaryConfiguration ?? {}) as Json;
    const linear = (dc.linearConfiguration ?? {}) as Json;
    let steps = [100];
    let stepMinutes = 0;
    if (strategy === 'CANARY') {
      // AWS's defaults: 5% for 10 minutes.
      steps = [Number(canary.canaryPercent ?? 5), 100];
      stepMinutes = Number(canary.canaryBakeTimeInMinutes ?? 10);
    } else if (strategy === 'LINEAR') {
      // AWS's defaults: 10% every 6 minutes; no wait after the step that reaches 100%.
      const step = Number(linear.stepPercent ?? 10);
      steps = [];
      for (let k = 1; k * step < 100 - 1e-9; k++) steps.push(Math.round(k * step * 10) / 10);
      steps.push(100);
      stepMinutes = Number(linear.stepBakeTimeInMinutes ?? 6);
    }
    d.registerIn = svc.config.loadBalancers.map((x) => (x === lb ? { ...x, targetGroupArn: green } : x));
    d.shift = {
      strategy,
      stage: 'PRE_SCALE_UP',
      productionRule: ac.productionListenerRule,
      blue,
      green,
      steps: [...new Set(steps)],
      stepMinutes,
      bakeMinutes: Number(dc.bakeTimeInMinutes ?? 0),
    };
    if (ac.testListenerRule) d.shift.testRule = ac.testListenerRule;
  }

  function startDeployment(svc: Service): void {
    const previous = svc.deployments.find((d) => d.status === 'PRIMARY');
    const rev = newRevision(svc, svc.config);
    const sd: ServiceDeploymentRec = {
      arn: `${arnPrefix()}:service-deployment/${last(svc.clusterArn)}/${svc.name}/${digits(19)}`,
      serviceArn: svc.arn,
      clusterArn: svc.clusterArn,
      createdAt: now(),
      startedAt: now(),
      updatedAt: now(),
      sourceRevisionArns: svc.deployments.map((d) => d.revisionArn),
      targetRevisionArn: rev.arn,
      status: 'IN_PROGRESS',
      deploymentConfiguration: svc.deploymentConfiguration,
      circuitBreaker: {
        status: ((svc.deploymentConfiguration.deploymentCircuitBreaker ?? {}) as Json).enable ? 'MONITORING' : 'DISABLED',
        failureCount: 0,
        threshold: circuitBreakerThreshold(svc.deploymentConfiguration, svc.desiredCount),
      },
      alarms: { status: 'DISABLED' },
    };
    const alarms = (svc.deploymentConfiguration.alarms ?? {}) as Json;
    if (alarms.enable === true) sd.alarms = { status: 'MONITORING', alarmNames: arr<string>(alarms.alarmNames) };
    // A newer deployment supersedes one still in progress.
    if (previous) {
      previous.status = 'ACTIVE';
      const prevSd = store.serviceDeployments.get(previous.serviceDeploymentArn);
      if (prevSd && prevSd.status === 'IN_PROGRESS') {
        prevSd.status = 'STOPPED';
        prevSd.stoppedAt = now();
        prevSd.updatedAt = now();
        prevSd.statusReason = `Service deployment stopped because a new deployment (${sd.arn}) was started.`;
      }
    }
    store.serviceDeployments.set(sd.arn, sd);
    const d: Deployment = {
      ...svc.config,
      id: deploymentId(),
      status: 'PRIMARY',
      desiredCount: svc.desiredCount,
      failedTasks: 0,
      createdAt: now(),
      updatedAt: now(),
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: 'ECS deployment in progress.',
      revisionArn: rev.arn,
      serviceDeploymentArn: sd.arn,
    };
    d.rolloutStateReason = `ECS deployment ${d.id} in progress.`;
    planShift(svc, d);
    svc.deployments.unshift(d);
    scheduler.beginShift(svc, d);
    svc.steady = false;
    svc.placementReported = undefined;
    scheduler.scheduleReconcile(svc);
  }

  // ---- tags ----

  function taggable(arn: string): void {
    if (clusters.has(last(arn)) && arn.includes(':cluster/')) return;
    if (store.services.has(arn) || store.taskDefs.has(arn) || store.tasks.has(arn)) return;
    if (arn.includes(':cluster/')) throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    if (arn.includes(':service/')) throw new AwsError('ServiceNotFoundException', 'Service not found.');
    if (!arn.startsWith('arn:aws:ecs:')) throw invalid('Invalid resource ARN.');
    throw new AwsError('ResourceNotFoundException', "The specified resource wasn't found.");
  }

  const setTags = (arn: string, tags: Tag[]): void => {
    const current = store.tags.get(arn) ?? [];
    for (const t of tags) {
      const i = current.findIndex((c) => c.key === t.key);
      if (i >= 0) current[i] = t;
      else current.push(t);
    }
    if (current.length > 50) throw invalid('The tags list can contain at most 50 tags.');
    store.tags.set(arn, current);
  };

  const includes = (input: Json): string[] => arr<string>(input.include);

  // CreateCluster creates ECS's service-linked role when it is missing and the caller may create it; when the
  // caller may not, the cluster is created all the same and services fail until the role exists (CreateCluster
  // API reference). Calls from outside the actions are not checked.
  function createServiceLinkedRole(action: string | undefined): void {
    if (ctx.serviceLinkedRoles.has(ECS_PRINCIPAL)) return;
    if (action && ctx.iam.authorize(action, [serviceLinkedRolePermission({ region: ctx.region, account: ctx.accountId }, ECS_PRINCIPAL)])) return;
    ctx.serviceLinkedRoles.add(ECS_PRINCIPAL);
  }

  return {
    name: 'ecs',
    protocol: 'json',
    targetPrefix: 'AmazonEC2ContainerServiceV20141113',

    taskDefinitionRoles(ref) {
      const body = findTaskDef(ref)?.body ?? {};
      const execution = str(body.executionRoleArn);
      const task = str(body.taskRoleArn);
      return [...(execution ? [{ arn: execution, as: 'ExecutionRole' as const }] : []), ...(task ? [{ arn: task, as: 'TaskRole' as const }] : [])];
    },

    desiredCount(resourceId) {
      const [, clusterName, serviceName] = resourceId.split('/');
      const c = clusters.get(clusterName ?? '');
      if (c?.status !== 'ACTIVE') return undefined;
      const s = findService(c, serviceName ?? '');
      return s && s.status === 'ACTIVE' ? s.desiredCount : undefined;
    },
    // The cause shows in Application Auto Scaling's activities, not in ECS's service events.
    setDesiredCount(resourceId, count) {
      const [, clusterName, serviceName] = resourceId.split('/');
      const c = clusters.get(clusterName ?? '');
      const s = c ? findService(c, serviceName ?? '') : undefined;
      if (s?.status !== 'ACTIVE' || s.desiredCount === count) return;
      s.desiredCount = count;
      s.steady = false;
      scheduler.scheduleReconcile(s);
    },

    operations: {
      CreateCluster: {
        mutating: true,
        handler: (input, caller) => {
          const name = str(input.clusterName) ?? 'default';
          if (!NAME_RE.test(name)) {
            throw invalid('Cluster name must be 1 to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores.');
          }
          const tags = validateTags(input.tags);
          createServiceLinkedRole(caller.action);
          const existing = clusters.get(name);
          if (existing && existing.status === 'ACTIVE') return { cluster: clusterView(existing, ['SETTINGS', 'TAGS']) };
          const providers = arr<string>(input.capacityProviders);
          for (const p of providers) if (!['FARGATE', 'FARGATE_SPOT'].includes(p)) throw invalid(`The specified capacity provider '${p}' does not exist.`);
          const c: Cluster = {
            arn: `${arnPrefix()}:cluster/${name}`,
            name,
            status: 'ACTIVE',
            capacityProviders: providers,
            defaultCapacityProviderStrategy: arr<Json>(input.defaultCapacityProviderStrategy),
            settings: arr<{ name: string; value: string }>(input.settings).length
              ? arr<{ name: string; value: string }>(input.settings)
              : [{ name: 'containerInsights', value: 'disabled' }],
          };
          if (input.configuration) c.configuration = input.configuration as Json;
          clusters.set(name, c);
          store.tags.delete(c.arn);
          if (tags.length) setTags(c.arn, tags);
          return { cluster: clusterView(c, ['SETTINGS', 'TAGS']) };
        },
      },
      DescribeClusters: {
        mutating: false,
        handler: (input) => {
          const refs = arr<string>(input.clusters);
          const wanted = refs.length ? refs : ['default'];
          const found: Json[] = [];
          const failures: Json[] = [];
          for (const ref of wanted) {
            const c = clusters.get(ref.startsWith('arn:') ? last(ref) : ref);
            if (c) found.push(clusterView(c, includes(input)));
            else failures.push({ arn: ref.startsWith('arn:') ? ref : `${arnPrefix()}:cluster/${ref}`, reason: 'MISSING' });
          }
          return { clusters: found, failures };
        },
      },
      ListClusters: {
        mutating: false,
        handler: (input) => {
          const { page, nextToken } = paginate(
            [...clusters.values()].filter((c) => c.status === 'ACTIVE').map((c) => c.arn),
            input,
          );
          return { clusterArns: page, nextToken };
        },
      },
      DeleteCluster: {
        mutating: true,
        handler: (input) => {
          const c = clusterOf({ cluster: requireString(input, 'cluster') });
          if ([...store.services.values()].some((s) => s.clusterArn === c.arn && s.status !== 'INACTIVE')) {
            throw new AwsError('ClusterContainsServicesException', 'The Cluster cannot be deleted while Services are active.');
          }
          if ([...store.tasks.values()].some((t) => t.clusterArn === c.arn && t.lastStatus !== 'STOPPED')) {
            throw new AwsError('ClusterContainsTasksException', 'The Cluster cannot be deleted while Tasks are active.');
          }
          c.status = 'INACTIVE';
          return { cluster: clusterView(c, []) };
        },
      },
      PutClusterCapacityProviders: {
        mutating: true,
        handler: (input) => {
          const c = clusterOf({ cluster: requireString(input, 'cluster') });
          const providers = arr<string>(input.capacityProviders);
          for (const p of providers) if (!['FARGATE', 'FARGATE_SPOT'].includes(p)) throw invalid(`The specified capacity provider '${p}' does not exist.`);
          c.capacityProviders = providers;
          c.defaultCapacityProviderStrategy = arr<Json>(input.defaultCapacityProviderStrategy);
          return { cluster: clusterView(c, []) };
        },
      },
      UpdateClusterSettings: {
        mutating: true,
        handler: (input) => {
          const c = clusterOf({ cluster: requireString(input, 'cluster') });
          for (const s of arr<{ name: string; value: string }>(input.settings)) {
            const i = c.settings.findIndex((x) => x.name === s.name);
            if (i >= 0) c.settings[i] = s;
            else c.settings.push(s);
          }
          return { cluster: clusterView(c, ['SETTINGS']) };
        },
      },

      RegisterTaskDefinition: {
        mutating: true,
        handler: (input) => {
          const family = str(input.family);
          if (!family) throw client('Family must not be null or empty.');
          if (!NAME_RE.test(family)) {
            throw client(
              'Family name can have up to 255 characters, can contain letters (uppercase and lowercase), numbers, hyphens (-), and underscores (_).',
            );
          }
          const containers = arr<Json>(input.containerDefinitions);
          if (!containers.length) throw client('Container list cannot be empty.');
          const names = new Set<string>();
          for (const cd of containers) {
            if (!str(cd.name)) throw client('Container.name should not be null or empty.');
            if (!NAME_RE.test(String(cd.name)))
              throw client(
                'Container name can have up to 255 characters, can contain letters (uppercase and lowercase), numbers, hyphens (-), and underscores (_).',
              );
            if (names.has(String(cd.name))) throw client(`Duplicate container name: ${cd.name}`);
            names.add(String(cd.name));
            if (!str(cd.image)) throw client('Container.image should not be null or empty.');
          }
          const requires = arr<string>(input.requiresCompatibilities);
          const networkMode = str(input.networkMode);
          const fargate = requires.includes('FARGATE');
          if (fargate) {
            if (networkMode !== 'awsvpc') throw client("Fargate only supports network mode 'awsvpc'.");
            if (!input.cpu) throw client("Fargate requires that 'cpu' be defined at the task level.");
            if (!input.memory) throw client("Fargate requires that 'memory' be defined at the task level.");
            const awslogs = containers.some((cd) => (cd.logConfiguration as Json | undefined)?.logDriver === 'awslogs');
            if (awslogs && !input.executionRoleArn) throw client('Fargate requires task definition to have execution role ARN to support log driver awslogs.');
          }
          const tags = validateTags(input.tags);
          const revision = (revisionsByFamily.get(family) ?? 0) + 1;
          revisionsByFamily.set(family, revision);
          const body: Json = { ...input };
          delete body.tags;
          body.containerDefinitions = containers.map((cd) => ({
            essential: true,
            environment: [],
            mountPoints: [],
            volumesFrom: [],
            ...cd,
            portMappings: arr<Json>(cd.portMappings).map((p) => ({ protocol: 'tcp', hostPort: networkMode === 'awsvpc' ? p.containerPort : p.hostPort, ...p })),
          }));
          body.volumes = arr(input.volumes);
          body.placementConstraints = arr(input.placementConstraints);
          body.compatibilities = networkMode === 'awsvpc' && input.cpu && input.memory ? ['EC2', 'FARGATE'] : ['EC2'];
          body.requiresAttributes = requiredAttributes(body);
          if (networkMode) body.networkMode = networkMode;
          if (input.cpu !== undefined) body.cpu = String(input.cpu);
          if (input.memory !== undefined) body.memory = String(input.memory);
          const td: TaskDef = {
            arn: `${arnPrefix()}:task-definition/${family}:${revision}`,
            family,
            revision,
            status: 'ACTIVE',
            body,
            registeredAt: now(),
          };
          store.taskDefs.set(td.arn, td);
          if (tags.length) setTags(td.arn, tags);
          return { taskDefinition: taskDefView(td), tags: store.tags.get(td.arn) ?? [] };
        },
      },
      DescribeTaskDefinition: {
        mutating: false,
        handler: (input) => {
          const td = findTaskDef(requireString(input, 'taskDefinition'));
          if (!td) throw client('Unable to describe task definition.');
          const out: Json = { taskDefinition: taskDefView(td) };
          if (includes(input).includes('TAGS')) out.tags = store.tags.get(td.arn) ?? [];
          return out;
        },
      },
      ListTaskDefinitions: {
        mutating: false,
        handler: (input) => {
          const status = str(input.status) ?? 'ACTIVE';
          const prefix = str(input.familyPrefix);
          let list = [...store.taskDefs.values()].filter((t) => t.status === status && (!prefix || t.family === prefix));
          list = list.sort((a, b) => a.family.localeCompare(b.family) || a.revision - b.revision);
          if (input.sort === 'DESC') list.reverse();
          const { page, nextToken } = paginate(
            list.map((t) => t.arn),
            input,
          );
          return { taskDefinitionArns: page, nextToken };
        },
      },
      ListTaskDefinitionFamilies: {
        mutating: false,
        handler: (input) => {
          const status = str(input.status) ?? 'ACTIVE';
          const prefix = str(input.familyPrefix) ?? '';
          const families = new Set<string>();
          for (const t of store.taskDefs.values()) {
            if (!t.family.startsWith(prefix)) continue;
            if (status === 'ALL' || (status === 'ACTIVE' && t.status === 'ACTIVE')) families.add(t.family);
          }
          if (status === 'INACTIVE') {
            for (const t of store.taskDefs.values()) {
              if (t.family.startsWith(prefix) && ![...store.taskDefs.values()].some((o) => o.family === t.family && o.status === 'ACTIVE'))
                families.add(t.family);
            }
          }
          const { page, nextToken } = paginate([...families].sort(), input);
          return { families: page, nextToken };
        },
      },
      DeregisterTaskDefinition: {
        mutating: true,
        handler: (input) => {
          const ref = requireString(input, 'taskDefinition');
          if (!ref.includes(':') || (ref.startsWith('arn:') && !/:\d+$/.test(ref))) throw client('Invalid revision number. Number: ');
          const td = findTaskDef(ref);
          if (!td) throw client('The specified task definition does not exist.');
          if (td.status === 'ACTIVE') {
            td.status = 'INACTIVE';
            td.deregisteredAt = now();
          }
          return { taskDefinition: taskDefView(td) };
        },
      },
      DeleteTaskDefinitions: {
        mutating: true,
        handler: (input) => {
          const refs = arr<string>(input.taskDefinitions);
          if (!refs.length || refs.length > 10) throw invalid('taskDefinitions must contain between 1 and 10 items.');
          const taskDefinitions: Json[] = [];
          const failures: Json[] = [];
          for (const ref of refs) {
            const td = findTaskDef(ref);
            if (!td) failures.push({ arn: ref, reason: 'The specified task definition does not exist.' });
            else if (td.status === 'ACTIVE') {
              failures.push({ arn: td.arn, reason: 'The specified task definition is still in ACTIVE status. Please deregister the target and try again.' });
            } else {
              td.status = 'DELETE_IN_PROGRESS';
              td.deleteRequestedAt = now();
              taskDefinitions.push(taskDefView(td));
            }
          }
          return { taskDefinitions, failures };
        },
      },

      CreateService: {
        mutating: true,
        handler: (input) => {
          const c = clusterOf(input);
          if (!ctx.serviceLinkedRoles.has(ECS_PRINCIPAL))
            throw invalid('Unable to assume the service linked role. Please verify that the ECS service linked role exists.');
          const name = str(input.serviceName);
          if (!name) throw invalid('serviceName can not be blank.');
          if (!NAME_RE.test(name)) {
            throw invalid(
              'Service name can have up to 255 characters, and can only contain letters (uppercase and lowercase), numbers, hyphens (-), and underscores (_).',
            );
          }
          const tdRef = str(input.taskDefinition);
          if (!tdRef) throw invalid('TaskDefinition can not be blank.');
          const td = resolveTaskDefForUse(tdRef, 'InvalidParameterException');
          const desired = input.desiredCount === undefined ? 0 : Number(input.desiredCount);
          if (!Number.isInteger(desired) || desired < 0) throw invalid('desiredCount must be greater than or equal to 0.');
          if (input.schedulingStrategy === 'DAEMON') throw invalid('The emulator models the REPLICA scheduling strategy only.');
          const capacity = validateCapacity(input, c);
          if (capacity.launchType === 'FARGATE' && !arr<string>(td.body.compatibilities).includes('FARGATE')) {
            throw invalid('Task definition does not support launch_type FARGATE.');
          }
          const networkConfiguration = validateNetwork(input, td);
          const loadBalancers = validateLoadBalancers(input.loadBalancers, td);
          if (input.healthCheckGracePeriodSeconds !== undefined && !loadBalancers.length) {
            throw invalid('Health check grace period is only valid for services configured to use load balancers');
          }
          const propagateTags = str(input.propagateTags) ?? 'NONE';
          if (!['NONE', 'SERVICE', 'TASK_DEFINITION'].includes(propagateTags)) throw invalid(`Invalid value for propagateTags: ${propagateTags}`);
          const deploymentConfiguration = deploymentConfigurationOf(input.deploymentConfiguration);
          validateStrategy(deploymentConfiguration, loadBalancers);
          const tags = validateTags(input.tags);
          const existing = [...store.services.values()].find((s) => s.clusterArn === c.arn && s.name === name && s.status !== 'INACTIVE');
          if (existing) throw invalid('Creation of service was not idempotent.');
          const config: DeploymentConfig = { taskDefinition: td.arn, loadBalancers, ...capacity };
          if (networkConfiguration) config.networkConfiguration = networkConfiguration;
          if (str(input.platformVersion)) config.platformVersion = str(input.platformVersion);
          const svc: Service = {
            arn: `${arnPrefix()}:service/${c.name}/${name}`,
            name,
            clusterArn: c.arn,
            status: 'ACTIVE',
            desiredCount: desired,
            taskDefinition: td.arn,
            config,
            deploymentConfiguration,
            propagateTags,
            enableECSManagedTags: input.enableECSManagedTags === true,
            enableExecuteCommand: input.enableExecuteCommand === true,
            createdAt: now(),
            createdBy: `arn:aws:iam::${ctx.accountId}:root`,
            events: [],
            deployments: [],
            steady: false,
          };
          if (typeof input.healthCheckGracePeriodSeconds === 'number') svc.healthCheckGracePeriodSeconds = input.healthCheckGracePeriodSeconds;
          // A recreated service replaces the INACTIVE one of the same name.
          for (const [arn, s] of store.services) if (s.arn === svc.arn) store.services.delete(arn);
          store.services.set(svc.arn, svc);
          store.tags.delete(svc.arn);
          if (tags.length) setTags(svc.arn, tags);
          startDeployment(svc);
          return { service: serviceView(svc, []) };
        },
      },
      UpdateService: {
        mutating: true,
        handler: (input) => {
          const c = clusterOf(input);
          const svc = serviceOf(c, requireString(input, 'service'));
          if (svc.status !== 'ACTIVE') throw new AwsError('ServiceNotActiveException', 'Service was not ACTIVE.');
          let redeploy = input.forceNewDeployment === true;
          let td = store.taskDefs.get(svc.taskDefinition) as TaskDef;
          const next: DeploymentConfig = { ...svc.config };
          if (str(input.taskDefinition)) {
            td = resolveTaskDefForUse(String(input.taskDefinition), 'ClientException');
            if (td.arn !== svc.taskDefinition) redeploy = true;
            next.taskDefinition = td.arn;
          }
          if (input.desiredCount !== undefined) {
            const n = Number(input.desiredCount);
            if (!Number.isInteger(n) || n < 0) throw invalid('desiredCount must be greater than or equal to 0.');
          }
          if (input.networkConfiguration) {
            const nc = validateNetwork(input, td);
            if (nc) next.networkConfiguration = nc;
            redeploy = true;
          } else if (td.body.networkMode === 'awsvpc' && !next.networkConfiguration) {
            throw invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
          }
          if (input.loadBalancers) {
            next.loadBalancers = validateLoadBalancers(input.loadBalancers, td);
            redeploy = true;
          } else if (redeploy) {
            validateLoadBalancers(next.loadBalancers, td);
          }
          if (input.capacityProviderStrategy || input.launchType) {
            const cap = validateCapacity(input, c);
            delete next.launchType;
            delete next.capacityProviderStrategy;
            Object.assign(next, cap);
            redeploy = true;
          }
          if (input.healthCheckGracePeriodSeconds !== undefined) {
            if (!next.loadBalancers.length) throw invalid('Health check grace period is only valid for services configured to use load balancers');
            svc.healthCheckGracePeriodSeconds = Number(input.healthCheckGracePeriodSeconds);
          }
          const deploymentConfiguration = input.deploymentConfiguration
            ? deploymentConfigurationOf(input.deploymentConfiguration, svc.deploymentConfiguration)
            : svc.deploymentConfiguration;
          validateStrategy(deploymentConfiguration, next.loadBalancers);
          svc.deploymentConfiguration = deploymentConfiguration;
          if (input.propagateTags) svc.propagateTags = String(input.propagateTags);
          if (typeof input.enableECSManagedTags === 'boolean') svc.enableECSManagedTags = input.enableECSManagedTags;
          if (typeof input.enableExecuteCommand === 'boolean') svc.enableExecuteCommand = input.enableExecuteCommand;
          if (input.desiredCount !== undefined && Number(input.desiredCount) !== svc.desiredCount) {
            svc.desiredCount = Number(input.desiredCount);
            svc.steady = false;
          }
          svc.config = next;
          svc.taskDefinition = next.taskDefinition;
          if (redeploy) startDeployment(svc);
          else scheduler.scheduleReconcile(svc);
          return { service: serviceView(svc, []) };
        },
      },
      DeleteService: {
        mutating: true,
        handler: (input) => {
          const c = clusterOf(input);
          const svc = serviceOf(c, requireString(input, 'service'));
          if (svc.status !== 'ACTIVE') {
            if (svc.status === 'INACTIVE') throw new AwsError('ServiceNotFoundException', 'Service not found.');
            return { service: serviceView(svc, []) };
          }
          if (svc.desiredCount > 0 && input.force !== true) throw invalid('The service cannot be stopped while it is scaled above 0.');
          svc.status = 'DRAINING';
          svc.desiredCount = 0;
          for (const sd of store.serviceDeployments.values()) {
            if (sd.serviceArn === svc.arn && ['IN_PROGRESS', 'ROLLBACK_IN_PROGRESS'].includes(sd.status)) {
              sd.status = 'STOPPED';
              sd.stoppedAt = now();
              sd.updatedAt = now();
              sd.statusReason = 'The service was deleted.';
            }
          }
          scheduler.reconcile(svc);
          return { service: serviceView(svc, []) };
        },
      },
      DescribeServices: {
        mutating: false,
        handler: (input) => {
          const c = clusterOf(input);
          const refs = arr<string>(input.services);
          if (!refs.length) throw invalid('services can not be empty.');
          if (refs.length > 10) throw invalid('services can have at most 10 items.');
          const services: Json[] = [];
          const failures: Json[] = [];
          for (const ref of refs) {
            const s = findService(c, ref);
            if (s) services.push(serviceView(s, includes(input)));
            else failures.push({ arn: ref.startsWith('arn:') ? ref : `${arnPrefix()}:service/${c.name}/${ref}`, reason: 'MISSING' });
          }
          return { services, failures };
        },
      },
      ListServices: {
        mutating: false,
        handler: (input) => {
          const c = clusterOf(input);
          const launchType = str(input.launchType);
          const list = [...store.services.values()].filter(
            (s) => s.clusterArn === c.arn && s.status !== 'INACTIVE' && (!launchType || (s.config.launchType ?? 'FARGATE') === launchType),
          );
          const { page, nextToken } = paginate(
            list.map((s) => s.arn),
            input,
          );
          return { serviceArns: page, nextToken };
        },
      },
      ListServiceDeployments: {
        mutating: false,
        handler: (input) => {
          const c = clusterOf(input);
          const svc = serviceOf(c, requireString(input, 'service'));
          const statuses = arr<string>(input.status);
          const created = (input.createdAt ?? {}) as Json;
          const after = typeof created.after === 'number' ? created.after * 1000 : undefined;
          const before = typeof created.before === 'number' ? created.before * 1000 : undefined;
          const list = [...store.serviceDeployments.values()]
            .filter((sd) => sd.serviceArn === svc.arn)
            .filter((sd) => !statuses.length || statuses.includes(sd.status))
            .filter((sd) => (after === undefined || sd.createdAt.getTime() >= after) && (before === undefined || sd.createdAt.getTime() <= before))
            .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
          const { page, nextToken } = paginate(list, input, 100);
          return {
            serviceDeployments: page.map((sd) => {
              const brief: Json = {
                serviceDeploymentArn: sd.arn,
                serviceArn: sd.serviceArn,
                clusterArn: sd.clusterArn,
                startedAt: sd.startedAt,
                createdAt: sd.createdAt,
                targetServiceRevisionArn: sd.targetRevisionArn,
                status: sd.status,
              };
              if (sd.finishedAt) brief.finishedAt = sd.finishedAt;
              if (sd.statusReason) brief.statusReason = sd.statusReason;
              return brief;
            }),
            nextToken,
          };
        },
      },
      DescribeServiceDeployments: {
        mutating: false,
        handler: (input) => {
          const arns = arr<string>(input.serviceDeploymentArns);
          if (!arns.length) throw invalid('serviceDeploymentArns can not be empty.');
          if (arns.length > 20) throw invalid('serviceDeploymentArns can have at most 20 items.');
          const serviceDeployments: Json[] = [];
          const failures: Json[] = [];
          for (const arn of arns) {
            const sd = store.serviceDeployments.get(arn);
            if (sd) serviceDeployments.push(serviceDeploymentView(sd));
            else failures.push({ arn, reason: 'MISSING' });
          }
          return { serviceDeployments, failures };
        },
      },
      DescribeServiceRevisions: {
        mutating: false,
        handler: (input) => {
          const arns = arr<string>(input.serviceRevisionArns);
          if (!arns.length) throw invalid('serviceRevisionArns can not be empty.');
          if (arns.length > 20) throw invalid('serviceRevisionArns can have at most 20 items.');
          const serviceRevisions: Json[] = [];
          const failures: Json[] = [];
          for (const arn of arns) {
            const rev = store.revisions.get(arn);
            if (!rev) {
              failures.push({ arn, reason: 'MISSING' });
              continue;
            }
            const view: Json = {
              serviceRevisionArn: rev.arn,
              serviceArn: rev.serviceArn,
              clusterArn: rev.clusterArn,
              taskDefinition: rev.taskDefinition,
              loadBalancers: rev.loadBalancers,
              serviceRegistries: [],
              containerImages: rev.containerImages,
              createdAt: rev.createdAt,
            };
            if (rev.capacityProviderStrategy?.length) view.capacityProviderStrategy = rev.capacityProviderStrategy;
            else view.launchType = rev.launchType;
            if (rev.networkConfiguration) view.networkConfiguration = rev.networkConfiguration;
            if (rev.platformVersion) view.platformVersion = rev.platformVersion;
            serviceRevisions.push(view);
          }
          return { serviceRevisions, failures };
        },
      },

      RunTask: {
        mutating: true,
        handler: (input) => {
          const c = clusterOf(input);
          const td = resolveTaskDefForUse(requireString(input, 'taskDefinition'), 'InvalidParameterException');
          const count = input.count === undefined ? 1 : Number(input.count);
          if (!Number.isInteger(count) || count < 1 || count > 10) throw invalid('count must be between 1 and 10.');
          const capacity = validateCapacity(input, c);
          const networkConfiguration = validateNetwork(input, td);
          const overrides = (input.overrides ?? {}) as Json;
          for (const o of arr<Json>(overrides.containerOverrides)) {
            if (!arr<Json>(td.body.containerDefinitions).some((cd) => cd.name === o.name)) {
              throw invalid(`Override for container named ${o.name} is not a container in the TaskDefinition.`);
            }
          }
          const startedBy = str(input.startedBy);
          if (startedBy && startedBy.length > 128) throw invalid('startedBy must be at most 128 characters.');
          if (capacity.launchType && capacity.launchType !== 'FARGATE') {
            return { tasks: [], failures: [{ arn: c.arn, reason: 'No Container Instances were found in your cluster.' }] };
          }
          const tags = validateTags(input.tags);
          if (input.enableECSManagedTags === true) tags.push({ key: 'aws:ecs:clusterName', value: c.name });
          if (input.propagateTags === 'TASK_DEFINITION') for (const t of store.tags.get(td.arn) ?? []) if (!tags.some((x) => x.key === t.key)) tags.push(t);
          const config: DeploymentConfig = { taskDefinition: td.arn, loadBalancers: [], ...capacity };
          if (networkConfiguration) config.networkConfiguration = networkConfiguration;
          const tasks = Array.from({ length: count }, () => {
            const opts: Parameters<typeof scheduler.createTask>[0] = {
              clusterArn: c.arn,
              td,
              config,
              group: str(input.group) ?? `family:${td.family}`,
              overrides,
              tags,
            };
            if (startedBy) opts.startedBy = startedBy;
            if (input.enableExecuteCommand === true) opts.enableExecuteCommand = true;
            return scheduler.createTask(opts);
          });
          return { tasks: tasks.map((t) => taskView(t, [])), failures: [] };
        },
      },
      StopTask: {
        mutating: true,
        handler: (input) => {
          const c = clusterOf(input);
          const ref = requireString(input, 'task');
          const t = store.tasks.get(ref.startsWith('arn:') ? ref : `${arnPrefix()}:task/${c.name}/${ref}`);
          if (!t || t.clusterArn !== c.arn) throw invalid('The referenced task was not found.');
          const reason = str(input.reason);
          if (reason && reason.length > 255) throw invalid('reason must be at most 255 characters.');
          scheduler.stopTask(t, reason ?? 'Task stopped by user', 'UserInitiated', false);
          return { task: taskView(t, []) };
        },
      },
      ListTasks: {
        mutating: false,
        handler: (input) => {
          const c = clusterOf(input);
          const desiredStatus = str(input.desiredStatus) ?? 'RUNNING';
          const family = str(input.family);
          const serviceName = str(input.serviceName);
          const startedBy = str(input.startedBy);
          let svc: Service | undefined;
          if (serviceName) {
            svc = findService(c, serviceName);
            if (!svc) throw new AwsError('ServiceNotFoundException', 'Service not found.');
          }
          const list = [...store.tasks.values()].filter(
            (t) =>
              t.clusterArn === c.arn &&
              t.desiredStatus === desiredStatus &&
              (!family || t.family === family) &&
              (!svc || t.serviceArn === svc.arn) &&
              (!startedBy || t.startedBy === startedBy) &&
              (!input.launchType || t.launchType === input.launchType),
          );
          const { page, nextToken } = paginate(
            list.map((t) => t.arn),
            input,
          );
          return { taskArns: page, nextToken };
        },
      },
      DescribeTasks: {
        mutating: false,
        handler: (input) => {
          const c = clusterOf(input);
          const refs = arr<string>(input.tasks);
          if (!refs.length) throw invalid('Tasks cannot be empty.');
          if (refs.length > 100) throw invalid('tasks can have at most 100 items.');
          const tasks: Json[] = [];
          const failures: Json[] = [];
          for (const ref of refs) {
            const arn = ref.startsWith('arn:') ? ref : `${arnPrefix()}:task/${c.name}/${ref}`;
            const t = store.tasks.get(arn);
            if (t && t.clusterArn === c.arn) tasks.push(taskView(t, includes(input)));
            else failures.push({ arn, reason: 'MISSING' });
          }
          return { tasks, failures };
        },
      },

      TagResource: {
        mutating: true,
        handler: (input) => {
          const arn = requireString(input, 'resourceArn');
          taggable(arn);
          const tags = validateTags(input.tags);
          if (!tags.length) throw invalid('tags can not be empty.');
          setTags(arn, tags);
          return {};
        },
      },
      UntagResource: {
        mutating: true,
        handler: (input) => {
          const arn = requireString(input, 'resourceArn');
          taggable(arn);
          const keys = arr<string>(input.tagKeys);
          store.tags.set(
            arn,
            (store.tags.get(arn) ?? []).filter((t) => !keys.includes(t.key)),
          );
          return {};
        },
      },
      ListTagsForResource: {
        mutating: false,
        handler: (input) => {
          const arn = requireString(input, 'resourceArn');
          taggable(arn);
          return { tags: store.tags.get(arn) ?? [] };
        },
      },
    },

    resourceTags(arn) {
      const tags = arn.startsWith('arn:aws:ecs:') ? store.tags.get(arn) : undefined;
      return tags && Object.fromEntries(tags.map((t) => [t.key, t.value]));
    },

    state() {
      const withTags = (arn: string, view: Json): Json => ({ ...view, tags: store.tags.get(arn) ?? [] });
      return {
        clusters: [...clusters.values()].map((c) => withTags(c.arn, clusterView(c, ['SETTINGS']))),
        taskDefinitions: [...store.taskDefs.values()].map((td) => withTags(td.arn, taskDefView(td))),
        services: [...store.services.values()].map((s) => withTags(s.arn, serviceView(s, []))),
        serviceDeployments: [...store.serviceDeployments.values()].map(serviceDeploymentView),
        tasks: [...store.tasks.values()].map((t) => withTags(t.arn, taskView(t, []))),
      };
    },
    reset() {
      for (const t of store.tasks.values()) scheduler.clearTaskTimers(t);
      clusters = new Map();
      store.services.clear();
      store.tasks.clear();
      store.taskDefs.clear();
      store.serviceDeployments.clear();
      store.revisions.clear();
      store.tags.clear();
      revisionsByFamily = new Map();
    },
  };
}
