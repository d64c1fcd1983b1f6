// The ECS service scheduler and task lifecycle, driven by the emulated clock: rolling deployments,
// target registration and draining, the deployment circuit breaker with rollback, service events.
import { randomUUID } from 'node:crypto';
import type { AlarmStore } from '../core/alarms.ts';
import type { BehaviourStore } from '../core/behaviours.ts';
import { deploymentId, hex, taskId } from '../core/ids.ts';
import type { EmulatorContext, TaskBehaviour } from '../core/types.ts';
import type { Ec2Network } from './ec2.ts';
import {
  type Container,
  type Deployment,
  type DeploymentConfig,
  type Json,
  LATENCY,
  type LifecycleStage,
  type Revision,
  type Service,
  type ServiceDeploymentRec,
  type Task,
  type TaskDef,
} from './ecs-model.ts';
import type { ElbTargets } from './elbv2.ts';

export interface SchedulerDeps {
  ctx: EmulatorContext;
  ec2: Ec2Network;
  elb: ElbTargets;
  behaviours: BehaviourStore;
  alarms: AlarmStore;
}

export interface Store {
  services: Map<string, Service>;
  tasks: Map<string, Task>;
  taskDefs: Map<string, TaskDef>;
  serviceDeployments: Map<string, ServiceDeploymentRec>;
  revisions: Map<string, Revision>;
  tags: Map<string, { key: string; value: string }[]>;
}

const arr = <T = unknown>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const shortId = (arn: string): string => arn.split('/').pop() ?? arn;

/** ECS's default failure threshold: 50% of desired, at least 3, at most 200 (or a COUNT configuration). */
export function circuitBreakerThreshold(deploymentConfiguration: Json, desired: number): number {
  const cb = (deploymentConfiguration.deploymentCircuitBreaker ?? {}) as Json;
  const tc = (cb.thresholdConfiguration ?? {}) as Json;
  if (tc.type === 'COUNT' && typeof tc.value === 'number') return tc.value;
  const percent = typeof tc.value === 'number' ? tc.value : 50;
  return Math.min(200, Math.max(3, Math.ceil((desired * percent) / 100)));
}

export function createScheduler(deps: SchedulerDeps, store: Store) {
  const { ctx, elb } = deps;
  let placements = 0;

  const now = (): Date => new Date(ctx.clock.now());

  function event(svc: Service, message: string): void {
    svc.events.unshift({ id: randomUUID(), createdAt: now(), message: `(service ${svc.name}) ${message}` });
    if (svc.events.length > 100) svc.events.length = 100;
  }

  function later(task: Task, seconds: number, fn: () => void): void {
    const handle = ctx.clock.setTimer(seconds, () => {
      task.timers = task.timers.filter((t) => t.id !== handle.id);
      fn();
    });
    task.timers.push(handle);
  }

  function clearTaskTimers(task: Task): void {
    for (const t of task.timers) ctx.clock.clearTimer(t);
    task.timers = [];
  }

  const primary = (svc: Service): Deployment | undefined => svc.deployments.find((d) => d.status === 'PRIMARY');
  const serviceTasks = (svc: Service): Task[] => [...store.tasks.values()].filter((t) => t.serviceArn === svc.arn);
  const live = (t: Task): boolean => t.desiredStatus === 'RUNNING';
  const unstopped = (t: Task): boolean => t.lastStatus !== 'STOPPED';

  /** RUNNING and, when behind load balancers, healthy in every target group. */
  function healthy(t: Task): boolean {
    if (t.lastStatus !== 'RUNNING' || !live(t)) return false;
    if (t.healthStatus === 'UNHEALTHY') return false;
    if (t.containers.some((c) => c.hasHealthCheck) && t.healthStatus !== 'HEALTHY') return false;
    return t.targets.every((tg) => elb.health(tg.targetGroupArn, t.ip, tg.port)?.state === 'healthy');
  }

  function behaviourOf(c: Container, digest?: string): TaskBehaviour {
    return deps.behaviours.lookup(c.image, c.command, digest ?? c.imageDigest) ?? { kind: 'healthy' };
  }

  function scheduleReconcile(svc: Service, seconds = LATENCY.reconcile): void {
    if (svc.reconcileTimer) return;
    svc.reconcileTimer = ctx.clock.setTimer(seconds, () => {
      svc.reconcileTimer = undefined;
      reconcile(svc);
    });
  }

  // ---- task lifecycle ----

  /** Spreads tasks over the configured subnets and gives each a private IP from its subnet's /20. */
  function placeInSubnet(config: DeploymentConfig, n: number): { id: string; az: string; ip: string } {
    const aws = ((config.networkConfiguration ?? {}) as Json).awsvpcConfiguration as Json | undefined;
    const ids = arr<string>(aws?.subnets);
    const subnet = deps.ec2.subnet(ids[n % Math.max(ids.length, 1)] ?? 'subnet-0a1b2c3d4e5f60001');
    const [a, b, c] = (subnet?.cidr ?? '172.31.0.0/20').split(/[./]/).map(Number) as [number, number, number];
    const host = 4 + Math.floor(n / Math.max(ids.length, 1));
    return {
      id: subnet?.id ?? 'subnet-0a1b2c3d4e5f60001',
      az: subnet?.az ?? `${ctx.region}a`,
      ip: `${a}.${b}.${c + Math.floor(host / 256)}.${host % 256}`,
    };
  }

  function createTask(opts: {
    clusterArn: string;
    td: TaskDef;
    config: DeploymentConfig;
    group: string;
    startedBy?: string;
    svc?: Service;
    deployment?: Deployment;
    overrides?: Json;
    tags: { key: string; value: string }[];
    /** RunTask's; a service's tasks take the service's setting. */
    enableExecuteCommand?: boolean;
  }): Task {
    const id = taskId();
    const clusterName = shortId(opts.clusterArn);
    const subnet = placeInSubnet(opts.config, placements++);
    const ip = subnet.ip;
    const overrides = (opts.overrides ?? {}) as Json;
    const containerOverrides = arr<Json>(overrides.containerOverrides);
    const capacityProvider = (opts.config.capacityProviderStrategy?.[0] as Json | undefined)?.capacityProvider as string | undefined;
    const task: Task = {
      arn: `arn:aws:ecs:${ctx.region}:${ctx.accountId}:task/${clusterName}/${id}`,
      id,
      clusterArn: opts.clusterArn,
      taskDefinitionArn: opts.td.arn,
      family: opts.td.family,
      group: opts.group,
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      createdAt: now(),
      containers: arr<Json>(opts.td.body.containerDefinitions).map((cd) => {
        const o = containerOverrides.find((x) => x.name === cd.name);
        const command = arr<string>(o?.command ?? cd.command);
        const c: Container = {
          arn: `arn:aws:ecs:${ctx.region}:${ctx.accountId}:container/${clusterName}/${id}/${randomUUID()}`,
          name: String(cd.name),
          image: String(cd.image),
          essential: cd.essential !== false,
          lastStatus: 'PENDING',
          healthStatus: 'UNKNOWN',
          portMappings: arr<Json>(cd.portMappings).map((p) => ({ containerPort: Number(p.containerPort) })),
          hasHealthCheck: !!cd.healthCheck,
        };
        if (command.length) c.command = command;
        if (cd.logConfiguration) c.logConfiguration = cd.logConfiguration as Json;
        if (typeof cd.cpu === 'number') c.cpu = cd.cpu;
        if (typeof cd.memory === 'number') c.memory = cd.memory;
        return c;
      }),
      launchType: capacityProvider ? 'FARGATE' : (opts.config.launchType ?? 'FARGATE'),
      availabilityZone: subnet.az,
      subnetId: subnet.id,
      ip,
      eniId: `eni-${hex(17)}`,
      attachmentId: randomUUID(),
      overrides: { containerOverrides, inferenceAcceleratorOverrides: [] },
      healthStatus: 'UNKNOWN',
      version: 1,
      targets: [],
      timers: [],
      becameHealthy: false,
      enableExecuteCommand: opts.svc?.enableExecuteCommand ?? opts.enableExecuteCommand ?? false,
    };
    if (capacityProvider) task.capacityProviderName = capacityProvider;
    if (opts.startedBy) task.startedBy = opts.startedBy;
    if (opts.svc) task.serviceArn = opts.svc.arn;
    if (opts.deployment) task.deploymentId = opts.deployment.id;
    const cpu = (overrides.cpu as string | undefined) ?? opts.td.body.cpu;
    const memory = (overrides.memory as string | undefined) ?? opts.td.body.memory;
    if (cpu !== undefined) task.cpu = String(cpu);
    if (memory !== undefined) task.memory = String(memory);
    store.tasks.set(task.arn, task);
    if (opts.tags.length) store.tags.set(task.arn, opts.tags);
    later(task, LATENCY.provisioning, () => void pull(task));
    return task;
  }

  async function pull(task: Task): Promise<void> {
    if (!live(task)) return;
    task.lastStatus = 'PENDING';
    task.version++;
    task.pullStartedAt = now();
    const pullStarted = ctx.clock.now();
    // Resolve every image first (the ECR module may answer asynchronously), then continue on the clock.
    const resolutions = await Promise.all(task.containers.map((c) => ctx.images.resolve(c.image)));
    if (!live(task)) return;
    // The resolution may settle after the clock moved on: keep the emulated schedule anyway.
    const elapsed = (): number => (ctx.clock.now() - pullStarted) / 1000;
    const failedAt = resolutions.findIndex((r, i) => !r.found || behaviourOf(task.containers[i] as Container, r.digest).kind === 'pull-error');
    let startSeconds = LATENCY.pending;
    task.containers.forEach((c, i) => {
      const r = resolutions[i];
      if (r?.digest) c.imageDigest = r.digest;
      const label = r?.labels?.['ecs-emulator.behaviour'];
      // An image label sets the behaviour unless a test set one for this image explicitly.
      if (label && !deps.behaviours.lookup(c.image, c.command, r?.digest)) {
        try {
          deps.behaviours.set({ image: r?.digest ?? c.image, ...(JSON.parse(label) as Json) });
        } catch (e) {
          console.error(`emulator: ignoring bad ecs-emulator.behaviour label on ${c.image}:`, e);
        }
      }
      const b = behaviourOf(c);
      if (b.kind === 'slow-start') startSeconds = Math.max(startSeconds, LATENCY.pending + (b.startSeconds ?? LATENCY.slowStart));
      else if (b.startSeconds !== undefined) startSeconds = Math.max(startSeconds, LATENCY.pending + b.startSeconds);
    });
    if (failedAt >= 0) {
      const c = task.containers[failedAt] as Container;
      const image = c.image.includes('/') ? c.image : `docker.io/library/${c.image}`;
      const reason =
        resolutions[failedAt]?.reason ??
        `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${image}: ${image}: not found`;
      later(task, LATENCY.pending - elapsed(), () => {
        task.pullStoppedAt = now();
        c.reason = reason;
        stopTask(task, reason, 'TaskFailedToStart', true);
      });
      return;
    }
    later(task, startSeconds - elapsed(), () => {
      const missing = missingLogGroup(task);
      if (missing) {
        const reason = `ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1`;
        for (const c of task.containers) c.reason = reason;
        stopTask(task, reason, 'TaskFailedToStart', true);
        return;
      }
      run(task);
    });
  }

  /** The awslogs driver creates the task's streams before start; a missing group fails the task (unless awslogs-create-group). */
  function missingLogGroup(task: Task): string | undefined {
    for (const c of task.containers) {
      const lc = c.logConfiguration;
      if (lc?.logDriver !== 'awslogs') continue;
      const options = (lc.options ?? {}) as Record<string, string>;
      const group = options['awslogs-group'];
      if (!group || options['awslogs-create-group'] === 'true') continue;
      if (!ctx.logs.write(group, streamName(task, c), [], ctx.clock.now())) return group;
    }
    return undefined;
  }

  function streamName(task: Task, c: Container): string {
    const prefix = ((c.logConfiguration?.options ?? {}) as Record<string, string>)['awslogs-stream-prefix'];
    return prefix ? `${prefix}/${c.name}/${task.id}` : task.id;
  }

  function writeLogs(task: Task, c: Container, lines: string[]): void {
    const lc = c.logConfiguration;
    if (lc?.logDriver !== 'awslogs' || !lines.length) return;
    const group = ((lc.options ?? {}) as Record<string, string>)['awslogs-group'];
    if (group) ctx.logs.write(group, streamName(task, c), lines, ctx.clock.now());
  }

  function run(task: Task): void {
    if (!live(task)) return;
    task.pullStoppedAt = now();
    task.lastStatus = 'RUNNING';
    task.startedAt = now();
    task.version++;
    const svc = task.serviceArn ? store.services.get(task.serviceArn) : undefined;
    for (const c of task.containers) {
      c.lastStatus = 'RUNNING';
      const b = behaviourOf(c);
      const defaultLines: Record<TaskBehaviour['kind'], string[]> = {
        healthy: [`${c.name} started`, 'listening'],
        'slow-start': [`${c.name} starting (slow)`, 'listening'],
        unhealthy: [`${c.name} started`, 'health check endpoint returning 502'],
        crash: [`${c.name} started`, `fatal: exiting with code ${b.exitCode ?? 1}`],
        oom: [`${c.name} started`, 'allocating memory'],
        exit: [`${c.name} running command`, `done (exit ${b.exitCode ?? 0})`],
        'pull-error': [],
      };
      writeLogs(task, c, b.logLines ?? defaultLines[b.kind]);
      if (b.kind === 'crash' || b.kind === 'oom' || b.kind === 'exit') {
        const seconds = b.kind === 'exit' ? LATENCY.exitAfter : LATENCY.crashAfter;
        later(task, seconds, () => containerExited(task, c, b));
      }
      if (c.hasHealthCheck) {
        later(task, LATENCY.containerHealthCheck, () => {
          if (!live(task) || task.lastStatus !== 'RUNNING') return;
          c.healthStatus = b.kind === 'unhealthy' ? 'UNHEALTHY' : 'HEALTHY';
          task.healthStatus = task.containers.some((x) => x.healthStatus === 'UNHEALTHY') ? 'UNHEALTHY' : 'HEALTHY';
          if (task.healthStatus === 'UNHEALTHY') {
            if (svc) event(svc, `(task ${task.id}) failed container health checks.`);
            stopTask(task, `Task failed container health checks`, task.serviceArn ? 'ServiceSchedulerInitiated' : 'TaskFailedToStart', true);
          } else if (svc) {
            markHealthyIfSo(task);
            scheduleReconcile(svc);
          }
        });
      }
    }
    if (svc) {
      const registered = new Map<string, number>();
      const d = svc.deployments.find((x) => x.id === task.deploymentId);
      for (const lb of d?.registerIn ?? svc.config.loadBalancers) {
        if (!lb.targetGroupArn || !lb.containerPort) continue;
        elb.register(lb.targetGroupArn, task.ip, lb.containerPort, task.availabilityZone);
        task.targets.push({ targetGroupArn: lb.targetGroupArn, port: lb.containerPort });
        registered.set(lb.targetGroupArn, (registered.get(lb.targetGroupArn) ?? 0) + 1);
      }
      for (const [tg, n] of registered) event(svc, `registered ${n} targets in (target-group ${tg})`);
      markHealthyIfSo(task);
      scheduleReconcile(svc);
    }
  }

  function markHealthyIfSo(task: Task): void {
    if (healthy(task)) task.becameHealthy = true;
  }

  function containerExited(task: Task, c: Container, b: TaskBehaviour): void {
    if (!live(task)) return;
    c.lastStatus = 'STOPPED';
    if (b.kind === 'oom') {
      c.exitCode = b.exitCode ?? 137;
      c.reason = 'OutOfMemoryError: Container killed due to memory usage';
    } else {
      c.exitCode = b.exitCode ?? (b.kind === 'exit' ? 0 : 1);
    }
    if (!c.essential && task.containers.some((x) => x.essential && x.lastStatus !== 'STOPPED')) return;
    // A service task that exits never became what the service needs: a failure, even with exit code 0.
    const failed = !!task.serviceArn || c.exitCode !== 0;
    stopTask(task, 'Essential container in task exited', 'EssentialContainerExited', failed && !task.becameHealthy);
  }

  /** Stops a task: deregisters and drains its targets, then STOPPING -> DEPROVISIONING -> STOPPED. */
  function stopTask(task: Task, reason: string, stopCode: string, failed: boolean): void {
    if (!live(task)) return;
    task.desiredStatus = 'STOPPED';
    task.stoppingAt = now();
    task.stoppedReason = reason;
    task.stopCode = stopCode;
    task.version++;
    clearTaskTimers(task);
    const svc = task.serviceArn ? store.services.get(task.serviceArn) : undefined;
    if (svc && failed) taskFailed(svc, task);

    const wasRunning = task.lastStatus === 'RUNNING';
    const finish = (): void => {
      task.lastStatus = 'STOPPING';
      task.version++;
      later(task, wasRunning ? LATENCY.stopping : 0, () => {
        task.executionStoppedAt = now();
        for (const c of task.containers) {
          if (c.lastStatus === 'RUNNING' && c.exitCode === undefined) c.exitCode = 0;
          c.lastStatus = 'STOPPED';
        }
        task.lastStatus = 'DEPROVISIONING';
        later(task, LATENCY.deprovisioning, () => {
          task.lastStatus = 'STOPPED';
          task.stoppedAt = now();
          task.version++;
          later(task, LATENCY.stoppedRetention, () => store.tasks.delete(task.arn));
          if (svc) scheduleReconcile(svc);
        });
      });
    };

    if (task.targets.length) {
      task.lastStatus = 'DEACTIVATING';
      if (svc) {
        event(svc, 'has begun draining connections on 1 tasks.');
        for (const tg of new Set(task.targets.map((t) => t.targetGroupArn))) event(svc, `deregistered 1 targets in (target-group ${tg})`);
      }
      let remaining = task.targets.length;
      for (const tg of task.targets) {
        elb.deregister(tg.targetGroupArn, task.ip, tg.port, () => {
          remaining--;
          if (remaining === 0) finish();
        });
      }
    } else {
      finish();
    }
    if (svc) scheduleReconcile(svc);
  }

  // ---- service scheduler ----

  function taskFailed(svc: Service, task: Task): void {
    const d = svc.deployments.find((x) => x.id === task.deploymentId);
    if (!d) return;
    d.failedTasks++;
    d.updatedAt = now();
    const sd = store.serviceDeployments.get(d.serviceDeploymentArn);
    const cb = (svc.deploymentConfiguration.deploymentCircuitBreaker ?? {}) as Json;
    if (d.status !== 'PRIMARY' || d.rolloutState !== 'IN_PROGRESS') return;
    if (sd && sd.targetRevisionArn === d.revisionArn) sd.circuitBreaker.failureCount = d.failedTasks;
    if (cb.enable === true && d.failedTasks >= circuitBreakerThreshold(svc.deploymentConfiguration, d.desiredCount)) trip(svc, d, cb.rollback === true);
  }

  function trip(svc: Service, d: Deployment, rollback: boolean): void {
    d.rolloutState = 'FAILED';
    d.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
    d.updatedAt = now();
    event(svc, `(deployment ${d.id}) deployment failed: tasks failed to start.`);
    const sd = store.serviceDeployments.get(d.serviceDeploymentArn);
    if (sd) {
      sd.circuitBreaker.status = 'TRIGGERED';
      sd.updatedAt = now();
    }
    fail(svc, d, rollback, {
      statusReason: 'ECS deployment circuit breaker: tasks failed to start.',
      rollbackReason: 'Service deployment rolled back because the circuit breaker threshold was exceeded.',
      rollbackNote: `ECS deployment circuit breaker: rolling back to deploymentId`,
    });
  }

  /** A failed deployment rolls back to the last completed one when asked and possible, else stops. */
  function fail(svc: Service, d: Deployment, rollback: boolean, why: { statusReason: string; rollbackReason: string; rollbackNote: string }): void {
    const sd = store.serviceDeployments.get(d.serviceDeploymentArn);
    if (d.shift?.timer) ctx.clock.clearTimer(d.shift.timer);
    const target = svc.lastCompleted;
    if (!rollback || !target) {
      if (sd) {
        sd.status = 'STOPPED';
        sd.stoppedAt = now();
        sd.statusReason = rollback ? `${why.statusReason} No previous completed deployment to roll back to.` : why.statusReason;
      }
      return;
    }
    // Production (and test) traffic goes back to blue at once, before green is scaled in.
    if (d.shift) {
      const back = [
        { targetGroupArn: d.shift.blue, weight: 100 },
        { targetGroupArn: d.shift.green, weight: 0 },
      ];
      elb.setRuleForward(d.shift.productionRule, back);
      if (d.shift.testRule) elb.setRuleForward(d.shift.testRule, back);
    }
    // Roll back: the last completed deployment becomes primary again (a new deployment when it is gone).
    let r = svc.deployments.find((x) => x.id === target.id);
    if (!r) {
      r = { ...target, id: deploymentId(), createdAt: now(), failedTasks: 0, desiredCount: svc.desiredCount } as Deployment;
      svc.deployments.unshift(r);
    }
    Object.assign(r, {
      status: 'PRIMARY',
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: `ECS deployment ${r.id} in progress.`,
      updatedAt: now(),
      serviceDeploymentArn: d.serviceDeploymentArn,
    });
    d.status = 'ACTIVE';
    d.rolloutStateReason = `${why.rollbackNote} ${r.id}.`;
    svc.deployments = [r, ...svc.deployments.filter((x) => x !== r)];
    // The service takes back the rolled-back-to configuration, not only its task definition.
    svc.taskDefinition = r.taskDefinition;
    svc.config = { taskDefinition: r.taskDefinition, loadBalancers: r.loadBalancers };
    for (const k of ['launchType', 'capacityProviderStrategy', 'networkConfiguration', 'platformVersion'] as const) {
      if (r[k] !== undefined) Object.assign(svc.config, { [k]: r[k] });
    }
    event(svc, `rolling back to deployment ${r.id}.`);
    if (sd) {
      sd.status = 'ROLLBACK_IN_PROGRESS';
      sd.statusReason = why.statusReason;
      sd.rollback = { reason: why.rollbackReason, startedAt: now(), serviceRevisionArn: r.revisionArn };
    }
    svc.steady = false;
    scheduleReconcile(svc);
  }

  // ---- blue/green, canary and linear deployments ----

  function setStage(d: Deployment, stage: LifecycleStage): void {
    if (!d.shift) return;
    d.shift.stage = stage;
    const sd = store.serviceDeployments.get(d.serviceDeploymentArn);
    if (sd) {
      sd.lifecycleStage = stage;
      sd.updatedAt = now();
    }
  }

  /** Runs fn after the given emulated seconds unless the deployment has stopped being the one in progress. */
  function afterStage(svc: Service, d: Deployment, seconds: number, fn: () => void): void {
    const shift = d.shift;
    if (!shift) return;
    if (shift.timer) ctx.clock.clearTimer(shift.timer);
    shift.timer = ctx.clock.setTimer(seconds, () => {
      shift.timer = undefined;
      if (d.status !== 'PRIMARY' || d.rolloutState !== 'IN_PROGRESS' || !svc.deployments.includes(d)) return;
      fn();
    });
  }

  /** Weights for a green share in percent: whole percentages as they are, tenths scaled by 10 (ALB weights are 0-999 integers). */
  function weights(blue: string, green: string, percent: number): { targetGroupArn: string; weight: number }[] {
    const scale = Number.isInteger(percent) ? 1 : 10;
    return [
      { targetGroupArn: blue, weight: Math.round((100 - percent) * scale) },
      { targetGroupArn: green, weight: Math.round(percent * scale) },
    ];
  }

  /** Starts a deployment's lifecycle: nothing launches until SCALE_UP, the scheduler's next pass. */
  function beginShift(svc: Service, d: Deployment): void {
    const shift = d.shift;
    if (!shift) return;
    // Both target groups sit on the rule from the start (green at 0), so green's targets are health-checked.
    elb.setRuleForward(shift.productionRule, weights(shift.blue, shift.green, 0));
    setStage(d, 'PRE_SCALE_UP');
    afterStage(svc, d, LATENCY.reconcile, () => {
      setStage(d, 'SCALE_UP');
      scheduleReconcile(svc);
    });
  }

  /** From POST_SCALE_UP (green healthy at full size) through the traffic shifts and bake time to CLEAN_UP. */
  function afterScaleUp(svc: Service, d: Deployment): void {
    const shift = d.shift;
    if (!shift) return;
    const step = (stage: LifecycleStage, seconds: number, next: () => void): void => {
      setStage(d, stage);
      if (alarmCheck(svc, d)) return;
      afterStage(svc, d, seconds, next);
    };
    const production = (i: number): void => {
      const percent = shift.steps[i] as number;
      elb.setRuleForward(shift.productionRule, weights(shift.blue, shift.green, percent));
      event(svc, `(deployment ${d.id}) shifted ${percent}% of production traffic to (target-group ${shift.green}).`);
      const last = i === shift.steps.length - 1;
      step('PRODUCTION_TRAFFIC_SHIFT', last ? LATENCY.reconcile : shift.stepMinutes * 60, () =>
        last ? step('POST_PRODUCTION_TRAFFIC_SHIFT', LATENCY.reconcile, bake) : production(i + 1),
      );
    };
    const bake = (): void =>
      step('BAKE_TIME', shift.bakeMinutes * 60, () => {
        setStage(d, 'CLEAN_UP');
        scheduleReconcile(svc);
      });
    step('POST_SCALE_UP', LATENCY.reconcile, () => {
      if (shift.testRule) elb.setRuleForward(shift.testRule, weights(shift.blue, shift.green, 100));
      step('TEST_TRAFFIC_SHIFT', LATENCY.reconcile, () => step('POST_TEST_TRAFFIC_SHIFT', LATENCY.reconcile, () => production(0)));
    });
  }

  // ---- CloudWatch alarms ----

  /** Fails the deployment when one of its alarms is in ALARM; true when it did. */
  function alarmCheck(svc: Service, d: Deployment): boolean {
    const sd = store.serviceDeployments.get(d.serviceDeploymentArn);
    if (sd?.alarms.status !== 'MONITORING' || d.status !== 'PRIMARY' || d.rolloutState !== 'IN_PROGRESS') return false;
    const triggered = (sd.alarms.alarmNames ?? []).filter((n) => deps.alarms.state(n) === 'ALARM');
    if (!triggered.length) return false;
    const names = triggered.join(', ');
    sd.alarms.status = 'TRIGGERED';
    sd.alarms.triggeredAlarmNames = triggered;
    sd.updatedAt = now();
    d.rolloutState = 'FAILED';
    d.rolloutStateReason = `ECS deployment ${d.id} failed: alarm(s) in ALARM state: ${names}.`;
    d.updatedAt = now();
    event(svc, `(deployment ${d.id}) deployment failed: alarm(s) detected: ${names}.`);
    const alarms = (svc.deploymentConfiguration.alarms ?? {}) as Json;
    fail(svc, d, alarms.rollback === true, {
      statusReason: `Service deployment failed: alarm(s) in ALARM state: ${names}.`,
      rollbackReason: `Service deployment rolled back because of alarm(s) in ALARM state: ${names}.`,
      rollbackNote: 'ECS deployment alarms: rolling back to deploymentId',
    });
    return true;
  }

  deps.alarms.onChange((_name, state) => {
    if (state !== 'ALARM') return;
    for (const svc of store.services.values()) {
      const p = primary(svc);
      if (p) alarmCheck(svc, p);
    }
  });

  function complete(svc: Service, d: Deployment): void {
    d.rolloutState = 'COMPLETED';
    d.rolloutStateReason = `ECS deployment ${d.id} completed.`;
    d.updatedAt = now();
    svc.lastCompleted = { ...d };
    event(svc, `(deployment ${d.id}) deployment completed.`);
    const sd = store.serviceDeployments.get(d.serviceDeploymentArn);
    if (sd && !sd.finishedAt && !sd.stoppedAt) {
      sd.status = sd.status === 'ROLLBACK_IN_PROGRESS' ? 'ROLLBACK_SUCCESSFUL' : 'SUCCESSFUL';
      sd.finishedAt = now();
      sd.updatedAt = now();
      if (sd.circuitBreaker.status === 'MONITORING') sd.circuitBreaker.status = 'MONITORING_COMPLETE';
      if (sd.alarms.status === 'MONITORING') sd.alarms.status = 'MONITORING_COMPLETE';
    }
  }

  function reconcile(svc: Service): void {
    if (svc.status === 'INACTIVE') return;
    const p = primary(svc);
    if (!p) return;
    const desired = svc.status === 'DRAINING' ? 0 : svc.desiredCount;
    p.desiredCount = desired;
    const dc = svc.deploymentConfiguration;
    const maxTotal = Math.floor((desired * Number(dc.maximumPercent ?? 200)) / 100);
    const minHealthy = Math.ceil((desired * Number(dc.minimumHealthyPercent ?? 100)) / 100);
    const tasks = serviceTasks(svc);
    const liveTasks = tasks.filter(live);
    const primaryLive = liveTasks.filter((t) => t.deploymentId === p.id);
    const old = liveTasks.filter((t) => t.deploymentId !== p.id);
    let changed = false;

    // Launch the primary's missing tasks within maximumPercent (a failed deployment launches no more).
    // Green launches nothing before SCALE_UP, then scales to full size beside blue whatever maximumPercent says.
    const shifting = !!p.shift && p.shift.stage !== 'CLEAN_UP';
    const halted = p.rolloutState === 'FAILED' || p.shift?.stage === 'PRE_SCALE_UP';
    const need = desired - primaryLive.length;
    if (need > 0 && !halted) {
      const room = shifting ? need : Math.max(0, maxTotal - liveTasks.length);
      const count = Math.min(need, room);
      if (count > 0) {
        const launchType = p.capacityProviderStrategy?.length ? 'FARGATE' : (p.launchType ?? 'FARGATE');
        if (launchType !== 'FARGATE') {
          const reason = 'No Container Instances were found in your cluster.';
          if (svc.placementReported !== reason) {
            event(svc, `was unable to place a task because no container instance met all of its requirements. Reason: ${reason}`);
            svc.placementReported = reason;
          }
        } else {
          const td = store.taskDefs.get(p.taskDefinition);
          if (td) {
            const started = Array.from({ length: count }, () =>
              createTask({
                clusterArn: svc.clusterArn,
                td,
                config: p,
                group: `service:${svc.name}`,
                startedBy: p.id,
                svc,
                deployment: p,
                tags: taskTags(svc, td),
              }),
            );
            event(svc, `has started ${started.length} tasks: ${started.map((t) => `(task ${t.id})`).join(' ')}.`);
            changed = true;
          }
        }
      }
    }
    // Scale in the primary beyond desired: newest and least healthy first.
    if (need < 0) {
      const extra = [...primaryLive].sort((a, b) => Number(healthy(a)) - Number(healthy(b)) || b.createdAt.getTime() - a.createdAt.getTime()).slice(0, -need);
      stopMany(svc, extra, `Scaling activity initiated by (deployment ${p.id})`);
      changed ||= extra.length > 0;
    }
    // Stop old tasks while the healthy count stays at or above minimumHealthyPercent (blue stays until CLEAN_UP).
    let healthyCount = serviceTasks(svc).filter((t) => live(t) && healthy(t)).length;
    const toStop: Task[] = [];
    for (const t of shifting ? [] : [...old].sort((a, b) => Number(healthy(a)) - Number(healthy(b)))) {
      if (!healthy(t)) toStop.push(t);
      else if (healthyCount - 1 >= minHealthy) {
        toStop.push(t);
        healthyCount--;
      }
    }
    if (toStop.length) {
      stopMany(svc, toStop, `Scaling activity initiated by (deployment ${p.id})`);
      changed = true;
    }

    // Old deployments disappear once every task of theirs has stopped.
    svc.deployments = svc.deployments.filter((d) => d === p || tasks.some((t) => t.deploymentId === d.id && unstopped(t)));
    for (const d of svc.deployments) d.updatedAt = d.updatedAt ?? now();

    const primaryHealthy = serviceTasks(svc).filter((t) => t.deploymentId === p.id && live(t) && healthy(t));
    for (const t of primaryHealthy) t.becameHealthy = true;
    const settled =
      primaryHealthy.length === desired &&
      serviceTasks(svc).filter(live).length === desired &&
      svc.deployments.length === 1 &&
      !serviceTasks(svc).some((t) => !live(t) && unstopped(t));
    if (changed) svc.steady = false;
    if (settled && svc.status === 'DRAINING') {
      svc.status = 'INACTIVE';
      for (const d of svc.deployments) d.status = 'INACTIVE';
      return;
    }
    if (p.shift?.stage === 'SCALE_UP' && p.rolloutState === 'IN_PROGRESS' && primaryHealthy.length === desired) afterScaleUp(svc, p);
    if (settled && p.rolloutState === 'IN_PROGRESS' && !shifting) complete(svc, p);
    if (settled && !svc.steady && p.rolloutState === 'COMPLETED') {
      svc.steady = true;
      event(svc, 'has reached a steady state.');
    }
  }

  function stopMany(svc: Service, tasks: Task[], reason: string): void {
    if (!tasks.length) return;
    const running = tasks.filter((t) => t.lastStatus === 'RUNNING');
    const pending = tasks.filter((t) => t.lastStatus !== 'RUNNING');
    if (running.length) event(svc, `has stopped ${running.length} running tasks: ${running.map((t) => `(task ${t.id})`).join(' ')}.`);
    if (pending.length) event(svc, `stopped ${pending.length} pending tasks.`);
    for (const t of tasks) stopTask(t, reason, 'ServiceSchedulerInitiated', false);
  }

  function taskTags(svc: Service, td: TaskDef): { key: string; value: string }[] {
    const out: { key: string; value: string }[] = [];
    if (svc.enableECSManagedTags) {
      out.push({ key: 'aws:ecs:clusterName', value: shortId(svc.clusterArn) }, { key: 'aws:ecs:serviceName', value: svc.name });
    }
    const source = svc.propagateTags === 'SERVICE' ? store.tags.get(svc.arn) : svc.propagateTags === 'TASK_DEFINITION' ? store.tags.get(td.arn) : undefined;
    for (const t of source ?? []) if (!out.some((o) => o.key === t.key)) out.push(t);
    return out;
  }

  // ELB reports target health changes; ECS replaces tasks that fail their checks after the grace period.
  elb.onHealthChange((tgArn, ip, port, state) => {
    const task = [...store.tasks.values()].find((t) => t.ip === ip && live(t) && t.targets.some((x) => x.targetGroupArn === tgArn && x.port === port));
    if (!task) return;
    const svc = task.serviceArn ? store.services.get(task.serviceArn) : undefined;
    if (!svc) return;
    if (state === 'healthy') {
      markHealthyIfSo(task);
      scheduleReconcile(svc);
      return;
    }
    if (state !== 'unhealthy') return;
    const check = (): void => {
      if (!live(task) || elb.health(tgArn, ip, port)?.state !== 'unhealthy') return;
      const graceEnds = (task.startedAt?.getTime() ?? 0) + (svc.healthCheckGracePeriodSeconds ?? 0) * 1000;
      if (ctx.clock.now() < graceEnds) {
        later(task, (graceEnds - ctx.clock.now()) / 1000, check);
        return;
      }
      event(svc, `(task ${task.id}) (port ${port}) is unhealthy in (target-group ${tgArn}) due to (reason Health checks failed with these codes: [502]).`);
      event(svc, `has stopped 1 running tasks: (task ${task.id}).`);
      stopTask(task, `Task failed ELB health checks in (target-group ${tgArn})`, 'ServiceSchedulerInitiated', !task.becameHealthy);
    };
    // The scheduler notices on its next pass, not at the instant of the failed check.
    later(task, LATENCY.reconcile, check);
  });

  elb.setProbe((_tgArn, ip) => {
    const task = [...store.tasks.values()].find((t) => t.ip === ip && t.lastStatus === 'RUNNING');
    if (!task) return undefined;
    return !task.containers.some((c) => behaviourOf(c).kind === 'unhealthy');
  });

  return { createTask, stopTask, reconcile, scheduleReconcile, event, healthy, clearTaskTimers, beginShift };
}

export type Scheduler = ReturnType<typeof createScheduler>;
