// Starts the emulator in-process: every service module on one HTTP server on 127.0.0.1.
import type { AddressInfo } from 'node:net';
import { createActionsCache } from './actions-cache.ts';
import { AlarmStore } from './core/alarms.ts';
import { BehaviourStore } from './core/behaviours.ts';
import { createClock } from './core/clock.ts';
import { FaultStore } from './core/faults.ts';
import { AwsError, type CallRecord, type EmulatorContext, type ImageResolver, type LogSink, type ServiceModule } from './core/types.ts';
import { createGithubApi } from './github.ts';
import { createIam, type Iam, type Permission, type PolicyDocument } from './iam.ts';
import { type RegistryHandle, startRegistry } from './registry.ts';
import { createServer } from './server.ts';
import { createAutoScalingService } from './services/application-autoscaling.ts';
import { createEc2Service } from './services/ec2.ts';
import { createEcrService } from './services/ecr.ts';
import { createEcsService } from './services/ecs.ts';
import { createElbv2Service } from './services/elbv2.ts';
import { createLogsService } from './services/logs.ts';
import { createRoute53Service } from './services/route53.ts';
import { createStsService } from './services/sts.ts';

export interface EmulatorOptions {
  port?: number;
  /** Emulated seconds per wall second (default 1). */
  timeScale?: number;
  /** Start the OCI registry behind ECR (default true; absent binary -> null with a message). */
  registry?: boolean;
  /** Wall milliseconds added to every AWS call, to make client-side latency visible. */
  callLatencyMs?: number;
  /** Region used when a request carries no signing scope (default us-east-1). */
  region?: string;
  /**
   * Identity policies by action name: calls an action makes (by its user agent) that its policy does not allow
   * are refused with AccessDenied. Without them every call is allowed; either way what each action needed is recorded.
   */
  iamPolicies?: Record<string, PolicyDocument>;
  /** Told of every refusal (the tests point at the policy to update). */
  onAccessDenied?: (action: string, denied: Permission) => void;
}

export interface RunningEmulator {
  endpoint: string;
  githubApiUrl: string;
  registry: RegistryHandle | null;
  context: EmulatorContext;
  /** The policies in force and the permissions each action needed. */
  iam: Iam;
  stop(): Promise<void>;
}

const MAX_CALLS = 20_000;

export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const defaultRegion = opts.region ?? 'us-east-1';
  const clock = createClock(opts.timeScale ?? 1);
  let calls: CallRecord[] = [];
  const behaviours = new BehaviourStore();
  const faults = new FaultStore();
  const alarms = new AlarmStore(() => clock.now());

  // Placeholders until the ECR and Logs modules below are created (they need the context first).
  const anyImage: ImageResolver = { resolve: async () => ({ found: true }) };
  const noLogs: LogSink = { write: () => false };
  const iam = createIam(opts.iamPolicies ?? null, opts.onAccessDenied);
  const context: EmulatorContext = {
    region: defaultRegion,
    accountId: '123456789012',
    clock,
    images: anyImage,
    logs: noLogs,
    ecsScaling: { desiredCount: () => undefined, setDesiredCount: () => {} },
    taskRoles: { taskDefinitionRoles: () => [] },
    iam,
    serviceLinkedRoles: new Set(),
    recordCall(call) {
      calls.push(call);
      if (calls.length > MAX_CALLS) calls = calls.slice(-MAX_CALLS);
    },
  };

  const registry = opts.registry === false ? null : await startRegistry();

  const ecr = createEcrService(context, registry);
  context.images = ecr;
  const logs = createLogsService(context);
  context.logs = logs;
  const ec2 = createEc2Service(context);
  const elbv2 = createElbv2Service(context, ec2);
  const ecs = createEcsService(context, { ec2, elb: elbv2, behaviours, alarms });
  context.ecsScaling = ecs;
  context.taskRoles = ecs;
  const route53 = createRoute53Service(context, elbv2);
  const modules: ServiceModule[] = [ecs, elbv2, ec2, ecr, logs, createStsService(context), createAutoScalingService(context), route53];
  const github = createGithubApi(context);
  const actionsCache = createActionsCache(context, faults);

  const server = createServer({
    context,
    defaultRegion,
    clock,
    modules,
    faults,
    behaviours,
    alarms,
    calls: () => calls,
    github,
    actionsCache,
    callLatencyMs: opts.callLatencyMs ?? 0,
    limits: {
      get: () => ({ elbv2: elbv2.limits() }),
      set(input) {
        const o = (input ?? {}) as Record<string, unknown>;
        const unknown = Object.keys(o).filter((k) => k !== 'elbv2');
        if (unknown.length) throw new AwsError('ValidationError', `no limits for ${unknown.join(', ')}; only elbv2 has settable limits`);
        if (o.elbv2 !== undefined) {
          if (!o.elbv2 || typeof o.elbv2 !== 'object' || Array.isArray(o.elbv2))
            throw new AwsError('ValidationError', 'elbv2 must be an object of limit names and maxima');
          elbv2.setLimits(o.elbv2 as Record<string, unknown>);
        }
        return { elbv2: elbv2.limits() };
      },
    },
    resolveName: (name) => route53.resolve(name),
    reset() {
      clock.clearAll();
      for (const m of modules) m.reset();
      context.serviceLinkedRoles.clear();
      github.reset();
      actionsCache.reset();
      faults.clear();
      behaviours.clear();
      alarms.clear();
      calls = [];
    },
    state: () => ({
      clock: { now: new Date(clock.now()).toISOString(), timeScale: clock.timeScale },
      accountId: context.accountId,
      serviceLinkedRoles: [...context.serviceLinkedRoles].sort(),
      services: Object.fromEntries(modules.map((m) => [m.name, m.state()])),
      github: github.state(),
      actionsCache: actionsCache.state(),
      behaviours: behaviours.list(),
      alarms: alarms.list().alarms,
      faults: faults.list(),
    }),
  });
  // Keep-alive sockets would hold the process (and jest) open after stop().
  server.keepAliveTimeout = 1000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (e) {
    // Port taken: leave nothing running behind.
    clock.stop();
    await registry?.stop();
    throw e;
  }
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;

  return {
    endpoint,
    githubApiUrl: `${endpoint}/github`,
    registry,
    context,
    iam,
    async stop() {
      clock.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      actionsCache.close();
      await registry?.stop();
    },
  };
}
