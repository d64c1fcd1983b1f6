// Elastic Load Balancing v2 (Query/XML, 2015-12-01): application load balancers, listeners, rules,
// target groups, and target health as a state machine driven by the emulated clock.
import { digits, hex } from '../core/ids.ts';
import { AwsError, type EmulatorContext, type ServiceModule, type TimerHandle } from '../core/types.ts';
import type { Ec2Network } from './ec2.ts';

type Tag = { Key: string; Value?: string };
type Action = Record<string, unknown> & { Type?: string; Order?: number };
type Condition = Record<string, unknown> & { Field?: string };

interface LoadBalancer {
  arn: string;
  name: string;
  dnsName: string;
  canonicalHostedZoneId: string;
  scheme: string;
  type: string;
  vpcId: string;
  subnets: { id: string; az: string }[];
  securityGroups: string[];
  ipAddressType: string;
  createdAt: Date;
  state: 'provisioning' | 'active';
  timer?: TimerHandle;
}

interface Listener {
  arn: string;
  lbArn: string;
  port: number;
  protocol: string;
  certificates: { CertificateArn: string }[];
  sslPolicy?: string;
  defaultActions: Action[];
  /** The listener's default rule: its actions are the listener's default actions. */
  defaultRuleArn: string;
}

interface Rule {
  arn: string;
  listenerArn: string;
  priority: string;
  conditions: Condition[];
  actions: Action[];
  isDefault: boolean;
}

interface Target {
  id: string;
  port: number;
  az?: string;
  state: 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';
  reason?: string;
  description?: string;
  passes: number;
  fails: number;
  timer?: TimerHandle;
  onDrained: (() => void)[];
}

interface TargetGroup {
  arn: string;
  name: string;
  protocol?: string;
  protocolVersion?: string;
  port?: number;
  vpcId?: string;
  targetType: string;
  healthCheck: {
    protocol: string;
    port: string;
    enabled: boolean;
    interval: number;
    timeout: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
    path: string;
    matcher: string;
  };
  attributes: Map<string, string>;
  targets: Map<string, Target>;
}

export interface TargetGroupView {
  arn: string;
  name: string;
  port?: number;
  targetType: string;
  loadBalancerArns: string[];
}

/** A load balancer as Route 53 sees an alias target. */
export interface AliasableLoadBalancer {
  arn: string;
  dnsName: string;
  canonicalHostedZoneId: string;
}

/** What other modules and the control endpoint need of ELB besides target health: alias targets and quotas. */
export interface ElbAccount {
  /** The load balancer with this DNS name (case-insensitive, with or without `dualstack.` and a final dot). */
  loadBalancerByDnsName(dnsName: string): AliasableLoadBalancer | undefined;
  /** The region whose load balancers use this canonical hosted zone ID, if it is one. */
  regionOfCanonicalZone(zoneId: string): string | undefined;
  /** Every quota DescribeAccountLimits reports, with overrides applied. */
  limits(): Record<string, number>;
  /** Overrides enforced quotas ({name: max}; null restores AWS's default); throws on an unknown name or a bad value. */
  setLimits(values: Record<string, unknown>): void;
}

/** What ECS needs of ELB: register its tasks, learn their health, wait for draining. */
export interface ElbTargets {
  targetGroup(arn: string): TargetGroupView | undefined;
  register(tgArn: string, id: string, port: number, az?: string): void;
  /** Starts draining; onDrained runs when the deregistration delay has passed (at once when not in use). */
  deregister(tgArn: string, id: string, port: number, onDrained: () => void): void;
  health(tgArn: string, id: string, port: number): { state: string; reason?: string; description?: string } | undefined;
  /** Decides whether a health check of this target passes (ECS answers for its tasks). */
  setProbe(probe: (tgArn: string, id: string, port: number) => boolean | undefined): void;
  onHealthChange(fn: (tgArn: string, id: string, port: number, state: string) => void): void;
  /** Another module (ECS) reports target groups its services use. */
  setUsage(fn: (tgArn: string) => boolean): void;
  /** The target groups and weights of a rule's forward action (default rules too); undefined without a forward. */
  ruleForward(ruleArn: string): WeightedTargetGroup[] | undefined;
  /** Sets the weights of a rule's forward action: ECS shifting traffic between a service's two target groups. */
  setRuleForward(ruleArn: string, groups: WeightedTargetGroup[]): void;
}

export interface WeightedTargetGroup {
  targetGroupArn: string;
  weight: number;
}

const ATTRIBUTE_DEFAULTS: Record<string, string> = {
  'deregistration_delay.timeout_seconds': '300',
  'stickiness.enabled': 'false',
  'stickiness.type': 'lb_cookie',
  'stickiness.lb_cookie.duration_seconds': '86400',
  'load_balancing.algorithm.type': 'round_robin',
  'slow_start.duration_seconds': '0',
};

// Seconds an ALB stays in "provisioning" (AWS: typically a few minutes; docs do not state a figure).
const LB_PROVISIONING_SECONDS = 180;

// Route 53 hosted zone of application load balancers per region (AWS General Reference, "Elastic Load
// Balancing endpoints and quotas"): DescribeLoadBalancers' CanonicalHostedZoneId, the alias target zone.
const ALB_HOSTED_ZONES: Record<string, string> = {
  'af-south-1': 'Z268VQBMOI5EKX',
  'ap-east-1': 'Z3DQVH9N71FHZ0',
  'ap-northeast-1': 'Z14GRHDCWA56QT',
  'ap-northeast-2': 'ZWKZPGTI48KDX',
  'ap-northeast-3': 'Z5LXEXXYW11ES',
  'ap-south-1': 'ZP97RAFLXTNZK',
  'ap-south-2': 'Z0173938T07WNTVAEPZN',
  'ap-southeast-1': 'Z1LMS91P8CMLE5',
  'ap-southeast-2': 'Z1GM3OXH4ZPM65',
  'ap-southeast-3': 'Z08888821HLRG5A9ZRTER',
  'ca-central-1': 'ZQSVJUPU6J1EY',
  'eu-central-1': 'Z215JYRZR1TBD5',
  'eu-central-2': 'Z06391101F2ZOEP8P5EB3',
  'eu-north-1': 'Z23TAZ6LKFMNIO',
  'eu-south-1': 'Z3ULH7SSC9OV64',
  'eu-south-2': 'Z0956581394HF5D5LXGAP',
  'eu-west-1': 'Z32O12XQLNTSW2',
  'eu-west-2': 'ZHURV8PSTC4K8',
  'eu-west-3': 'Z3Q77PNBQS71R4',
  'me-central-1': 'Z08230872XQRWHG2XF6I',
  'me-south-1': 'ZS929ML54UICD',
  'sa-east-1': 'Z2P70J7HTTTPLU',
  'us-east-1': 'Z35SXDOTRQ7X7K',
  'us-east-2': 'Z3AADJGX6KTTL2',
  'us-west-1': 'Z368ELLRRE2KJ0',
  'us-west-2': 'Z1H1FL5HABSF5',
};

// DescribeAccountLimits' names and defaults, in the order AWS lists them (AWS CLI reference example).
const LIMIT_DEFAULTS: [string, number][] = [
  ['target-groups', 3000],
  ['targets-per-application-load-balancer', 1000],
  ['listeners-per-application-load-balancer', 50],
  ['rules-per-application-load-balancer', 100],
  ['network-load-balancers', 50],
  ['targets-per-network-load-balancer', 3000],
  ['targets-per-availability-zone-per-network-load-balancer', 500],
  ['listeners-per-network-load-balancer', 50],
  ['condition-values-per-alb-rule', 5],
  ['condition-wildcards-per-alb-rule', 5],
  ['target-groups-per-application-load-balancer', 100],
  ['target-groups-per-action-on-application-load-balancer', 5],
  ['target-groups-per-action-on-network-load-balancer', 1],
  ['certificates-per-application-load-balancer', 25],
  ['certificates-per-network-load-balancer', 25],
  ['targets-per-target-group', 1000],
  ['target-id-registrations-per-application-load-balancer', 1000],
  ['network-load-balancer-enis-per-vpc', 1200],
  ['application-load-balancers', 50],
  ['gateway-load-balancers', 100],
  ['gateway-load-balancers-per-vpc', 100],
  ['geneve-target-groups', 100],
  ['targets-per-availability-zone-per-gateway-load-balancer', 300],
];
// The quotas the emulator enforces, so the only ones the control endpoint may change.
const ENFORCED_LIMITS = [
  'application-load-balancers',
  'listeners-per-application-load-balancer',
  'rules-per-application-load-balancer',
  'target-groups',
  'target-groups-per-application-load-balancer',
];

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
const num = (v: unknown): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
const arr = <T = unknown>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

function required(input: Record<string, unknown>, key: string): string {
  const v = str(input[key]);
  if (v === undefined || v === '') {
    throw new AwsError(
      'ValidationError',
      `1 validation error detected: Value null at '${key.charAt(0).toLowerCase()}${key.slice(1)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return v;
}

function validateName(kind: 'Load balancer' | 'Target group', name: string): void {
  if (name.length > 32) throw new AwsError('ValidationError', `${kind} name '${name}' cannot be longer than '32' characters`);
  if (!/^[a-zA-Z0-9-]+$/.test(name)) {
    throw new AwsError('ValidationError', `${kind} name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`);
  }
  if (name.startsWith('-') || name.endsWith('-')) throw new AwsError('ValidationError', `${kind} name '${name}' cannot begin or end with '-'`);
  if (kind === 'Load balancer' && name.startsWith('internal-')) {
    throw new AwsError('ValidationError', `Load balancer name '${name}' cannot begin with 'internal-'`);
  }
}

export function createElbv2Service(ctx: EmulatorContext, ec2: Ec2Network): ServiceModule & ElbTargets & ElbAccount {
  let limitOverrides = new Map<string, number>();
  let lbs = new Map<string, LoadBalancer>();
  let listeners = new Map<string, Listener>();
  let rules = new Map<string, Rule>();
  let tgs = new Map<string, TargetGroup>();
  let tags = new Map<string, Tag[]>();
  let probe: (tgArn: string, id: string, port: number) => boolean | undefined = () => undefined;
  let usage: (tgArn: string) => boolean = () => false;
  const healthListeners: ((tgArn: string, id: string, port: number, state: string) => void)[] = [];

  const arnBase = (): string => `arn:aws:elasticloadbalancing:${ctx.region}:${ctx.accountId}`;
  const targetKey = (id: string, port: number): string => `${id}:${port}`;

  function setTags(arn: string, add: Tag[]): void {
    const current = tags.get(arn) ?? [];
    for (const t of add) {
      if (!t.Key) throw new AwsError('ValidationError', 'A tag key must be specified');
      const i = current.findIndex((c) => c.Key === t.Key);
      const tag = { Key: String(t.Key), Value: String(t.Value ?? '') };
      if (i >= 0) current[i] = tag;
      else current.push(tag);
    }
    if (current.length > 50) throw new AwsError('TooManyTags', 'You have reached the limit on the number of tags that can be assigned to a resource');
    tags.set(arn, current);
  }

  const actionTargetGroups = (actions: Action[]): string[] =>
    actions.flatMap((a) => [
      ...(a.TargetGroupArn ? [String(a.TargetGroupArn)] : []),
      ...arr<Record<string, unknown>>((a.ForwardConfig as Record<string, unknown> | undefined)?.TargetGroups).map((t) => String(t.TargetGroupArn)),
    ]);

  /** The load balancers a target group receives traffic from, through listener default actions and rules. */
  function lbsOf(tgArn: string): string[] {
    const out = new Set<string>();
    for (const l of listeners.values()) if (actionTargetGroups(l.defaultActions).includes(tgArn)) out.add(l.lbArn);
    for (const r of rules.values()) {
      const l = listeners.get(r.listenerArn);
      if (l && actionTargetGroups(r.actions).includes(tgArn)) out.add(l.lbArn);
    }
    return [...out];
  }

  // ---- quotas ----

  const limit = (name: string): number => limitOverrides.get(name) ?? (LIMIT_DEFAULTS.find(([n]) => n === name)?.[1] as number);

  /**
   * The distinct target groups a load balancer forwards to, through listener default actions and rules, with
   * `change.actions` in place of those of the listener or rule `change.arn` (added when it is new).
   */
  function lbTargetGroups(lbArn: string, change?: { arn: string; actions: Action[] }): Set<string> {
    const out = new Set<string>(change ? actionTargetGroups(change.actions) : []);
    const actionsOf = (arn: string, actions: Action[]): Action[] => (arn === change?.arn ? [] : actions);
    for (const l of listeners.values()) {
      if (l.lbArn !== lbArn) continue;
      for (const tg of actionTargetGroups(actionsOf(l.arn, l.defaultActions))) out.add(tg);
      for (const r of rules.values()) if (r.listenerArn === l.arn) for (const tg of actionTargetGroups(actionsOf(r.arn, r.actions))) out.add(tg);
    }
    return out;
  }

  /** TooManyUniqueTargetGroupsPerLoadBalancer when the change would attach more distinct target groups than allowed. */
  function checkTargetGroupsPerLb(lbArn: string, change: { arn: string; actions: Action[] }): void {
    const max = limit('target-groups-per-application-load-balancer');
    const after = lbTargetGroups(lbArn, change).size;
    // A change that adds no target group passes even above a quota lowered after the fact.
    if (after > max && after > lbTargetGroups(lbArn).size) {
      throw new AwsError(
        'TooManyUniqueTargetGroupsPerLoadBalancer',
        `You have reached the maximum number of unique target groups that you can associate with a load balancer of type 'application': [${max}]`,
      );
    }
  }

  function getLb(arn: string): LoadBalancer {
    const lb = lbs.get(arn);
    if (!lb) throw new AwsError('LoadBalancerNotFound', `Load balancer '${arn}' not found`);
    return lb;
  }
  function getListener(arn: string): Listener {
    const l = listeners.get(arn);
    if (!l) throw new AwsError('ListenerNotFound', `Listener '${arn}' not found`);
    return l;
  }
  function getTg(arn: string): TargetGroup {
    const tg = tgs.get(arn);
    if (!tg) throw new AwsError('TargetGroupNotFound', `Target groups '${arn}' not found`);
    return tg;
  }

  /** Validates actions and normalizes numbers; every forward target group must exist and be ip/instance reachable. */
  function normalizeActions(input: unknown, listenerProtocol: string): Action[] {
    const actions = arr<Action>(input);
    if (!actions.length) throw new AwsError('ValidationError', 'At least one action must be specified');
    return actions.map((a, i) => {
      const type = str(a.Type);
      const out: Action = { ...a, Type: type };
      out.Order = num(a.Order) ?? i + 1;
      if (type === 'forward') {
        if (a.ForwardConfig) {
          const fc = a.ForwardConfig as Record<string, unknown>;
          const groups = arr<Record<string, unknown>>(fc.TargetGroups).map((t) => ({
            TargetGroupArn: String(t.TargetGroupArn),
            Weight: num(t.Weight) ?? 1,
          }));
          if (!groups.length) throw new AwsError('ValidationError', 'A target group ARN must be specified');
          for (const g of groups) getTg(g.TargetGroupArn);
          if (groups.some((g) => g.Weight < 0 || g.Weight > 999)) throw new AwsError('ValidationError', 'Target group weight must be between 0 and 999');
          out.ForwardConfig = { TargetGroups: groups };
          if (groups.length === 1 && !a.TargetGroupArn) out.TargetGroupArn = groups[0]?.TargetGroupArn;
        } else if (a.TargetGroupArn) {
          getTg(String(a.TargetGroupArn));
          out.ForwardConfig = { TargetGroups: [{ TargetGroupArn: String(a.TargetGroupArn), Weight: 1 }] };
        } else {
          throw new AwsError('ValidationError', 'A target group ARN must be specified');
        }
      } else if (type === 'redirect') {
        const rc = (a.RedirectConfig ?? {}) as Record<string, unknown>;
        if (!rc.StatusCode || !['HTTP_301', 'HTTP_302'].includes(String(rc.StatusCode))) {
          throw new AwsError('ValidationError', "Redirect status code must be 'HTTP_301' or 'HTTP_302'");
        }
        out.RedirectConfig = {
          Protocol: rc.Protocol ?? '#{protocol}',
          Port: rc.Port ?? '#{port}',
          Host: rc.Host ?? '#{host}',
          Path: rc.Path ?? '/#{path}',
          Query: rc.Query ?? '#{query}',
          StatusCode: rc.StatusCode,
        };
      } else if (type === 'fixed-response') {
        const fr = (a.FixedResponseConfig ?? {}) as Record<string, unknown>;
        if (!fr.StatusCode) throw new AwsError('ValidationError', 'A status code must be specified for fixed-response actions');
        out.FixedResponseConfig = fr;
      } else if (type === 'authenticate-oidc' || type === 'authenticate-cognito') {
        if (listenerProtocol !== 'HTTPS') throw new AwsError('InvalidLoadBalancerAction', 'Authenticate actions are only supported on HTTPS listeners');
      } else {
        throw new AwsError('ValidationError', `Action type '${type}' must be one of 'redirect,fixed-response,forward,authenticate-cognito,authenticate-oidc'`);
      }
      return out;
    });
  }

  function normalizeConditions(input: unknown): Condition[] {
    const conditions = arr<Condition>(input);
    if (!conditions.length) throw new AwsError('ValidationError', 'A condition must be specified');
    return conditions.map((c) => {
      const field = str(c.Field);
      const values = arr<string>(c.Values);
      if (field === 'host-header') {
        const v = [...values, ...arr<string>((c.HostHeaderConfig as Record<string, unknown> | undefined)?.Values)];
        if (!v.length) throw new AwsError('ValidationError', "A 'HostHeaderConfig' must be specified with a 'host-header' condition");
        return { Field: field, Values: v, HostHeaderConfig: { Values: v } };
      }
      if (field === 'path-pattern') {
        const v = [...values, ...arr<string>((c.PathPatternConfig as Record<string, unknown> | undefined)?.Values)];
        if (!v.length) throw new AwsError('ValidationError', "A 'PathPatternConfig' must be specified with a 'path-pattern' condition");
        return { Field: field, Values: v, PathPatternConfig: { Values: v } };
      }
      if (['http-header', 'http-request-method', 'query-string', 'source-ip'].includes(field ?? '')) return { ...c, Field: field };
      throw new AwsError(
        'ValidationError',
        `Condition field '${field}' must be one of '[http-header, http-request-method, host-header, path-pattern, query-string, source-ip]'`,
      );
    });
  }

  function validatePriority(listenerArn: string, raw: unknown, exceptRule?: string): string {
    const p = num(raw);
    if (p === undefined || !Number.isInteger(p) || p < 1 || p > 50000) {
      throw new AwsError('ValidationError', 'Priority must be between 1 and 50000');
    }
    for (const r of rules.values()) {
      if (r.listenerArn === listenerArn && r.priority === String(p) && r.arn !== exceptRule) {
        throw new AwsError('PriorityInUse', `Priority '${p}' is currently in use`);
      }
    }
    return String(p);
  }

  // ---- target health ----

  function setState(tg: TargetGroup, t: Target, state: Target['state'], reason?: string, description?: string): void {
    const changed = t.state !== state;
    t.state = state;
    t.reason = reason;
    t.description = description;
    if (changed) for (const fn of healthListeners) fn(tg.arn, t.id, t.port, state);
  }

  function scheduleCheck(tg: TargetGroup, t: Target): void {
    if (t.timer) ctx.clock.clearTimer(t.timer);
    t.timer = ctx.clock.setTimer(tg.healthCheck.interval, () => {
      t.timer = undefined;
      if (!tgs.has(tg.arn) || tg.targets.get(targetKey(t.id, t.port)) !== t || t.state === 'draining') return;
      if (!lbsOf(tg.arn).length) {
        setState(tg, t, 'unused', 'Target.NotInUse', 'Target group is not configured to receive traffic from the load balancer');
        return;
      }
      const pass = probe(tg.arn, t.id, t.port) ?? true;
      if (pass) {
        t.passes++;
        t.fails = 0;
        if (t.state !== 'healthy' && t.passes >= tg.healthCheck.healthyThreshold) setState(tg, t, 'healthy');
      } else {
        t.fails++;
        t.passes = 0;
        if (t.state !== 'unhealthy' && t.fails >= tg.healthCheck.unhealthyThreshold) {
          setState(tg, t, 'unhealthy', 'Target.ResponseCodeMismatch', 'Health checks failed with these codes: [502]');
        }
      }
      scheduleCheck(tg, t);
    });
  }

  function startChecking(tg: TargetGroup, t: Target): void {
    if (lbsOf(tg.arn).length) {
      t.passes = 0;
      t.fails = 0;
      setState(tg, t, 'initial', 'Elb.RegistrationInProgress', 'Target registration is in progress');
      scheduleCheck(tg, t);
    } else {
      setState(tg, t, 'unused', 'Target.NotInUse', 'Target group is not configured to receive traffic from the load balancer');
    }
  }

  /** A listener or rule started sending traffic to these groups: their idle targets begin health checks. */
  function activate(tgArns: string[]): void {
    for (const arn of tgArns) {
      const tg = tgs.get(arn);
      if (!tg) continue;
      for (const t of tg.targets.values()) if (t.state === 'unused') startChecking(tg, t);
    }
  }

  function register(tgArn: string, id: string, port: number, az?: string): void {
    const tg = getTg(tgArn);
    const key = targetKey(id, port);
    const existing = tg.targets.get(key);
    if (existing && existing.state !== 'draining') return;
    if (existing?.timer) ctx.clock.clearTimer(existing.timer);
    const t: Target = { id, port, state: 'initial', passes: 0, fails: 0, onDrained: [] };
    if (az) t.az = az;
    tg.targets.set(key, t);
    startChecking(tg, t);
  }

  function deregister(tgArn: string, id: string, port: number, onDrained: () => void): void {
    const tg = tgs.get(tgArn);
    const t = tg?.targets.get(targetKey(id, port));
    if (!tg || !t) {
      onDrained();
      return;
    }
    t.onDrained.push(onDrained);
    if (t.state === 'draining') return;
    if (t.timer) ctx.clock.clearTimer(t.timer);
    const finish = (): void => {
      if (tg.targets.get(targetKey(id, port)) === t) tg.targets.delete(targetKey(id, port));
      for (const fn of t.onDrained.splice(0)) fn();
    };
    // Targets that receive no traffic are removed at once; others drain for the deregistration delay.
    if (t.state === 'unused' || !lbsOf(tg.arn).length) {
      finish();
      return;
    }
    setState(tg, t, 'draining', 'Target.DeregistrationInProgress', 'Target deregistration is in progress');
    t.timer = ctx.clock.setTimer(Number(tg.attributes.get('deregistration_delay.timeout_seconds')), finish);
  }

  // ---- views ----

  const lbView = (lb: LoadBalancer): Record<string, unknown> => ({
    LoadBalancerArn: lb.arn,
    DNSName: lb.dnsName,
    CanonicalHostedZoneId: lb.canonicalHostedZoneId,
    CreatedTime: lb.createdAt,
    LoadBalancerName: lb.name,
    Scheme: lb.scheme,
    VpcId: lb.vpcId,
    State: { Code: lb.state },
    Type: lb.type,
    AvailabilityZones: lb.subnets.map((s) => ({ ZoneName: s.az, SubnetId: s.id, LoadBalancerAddresses: [] })),
    SecurityGroups: lb.securityGroups,
    IpAddressType: lb.ipAddressType,
  });

  const listenerView = (l: Listener): Record<string, unknown> => ({
    ListenerArn: l.arn,
    LoadBalancerArn: l.lbArn,
    Port: l.port,
    Protocol: l.protocol,
    Certificates: l.certificates.length ? l.certificates : undefined,
    SslPolicy: l.sslPolicy,
    DefaultActions: l.defaultActions,
  });

  const ruleView = (r: Rule): Record<string, unknown> => ({
    RuleArn: r.arn,
    Priority: r.priority,
    Conditions: r.conditions,
    Actions: r.actions,
    IsDefault: r.isDefault,
  });

  const defaultRuleOwner = (arn: string): Listener | undefined => [...listeners.values()].find((l) => l.defaultRuleArn === arn);
  const ruleActions = (arn: string): Action[] | undefined => rules.get(arn)?.actions ?? defaultRuleOwner(arn)?.defaultActions;
  const defaultRuleView = (l: Listener): Record<string, unknown> => ({
    RuleArn: l.defaultRuleArn,
    Priority: 'default',
    Conditions: [],
    Actions: l.defaultActions,
    IsDefault: true,
  });

  const tgView = (tg: TargetGroup): Record<string, unknown> => ({
    TargetGroupArn: tg.arn,
    TargetGroupName: tg.name,
    Protocol: tg.protocol,
    Port: tg.port,
    VpcId: tg.vpcId,
    HealthCheckProtocol: tg.healthCheck.protocol,
    HealthCheckPort: tg.healthCheck.port,
    HealthCheckEnabled: tg.healthCheck.enabled,
    HealthCheckIntervalSeconds: tg.healthCheck.interval,
    HealthCheckTimeoutSeconds: tg.healthCheck.timeout,
    HealthyThresholdCount: tg.healthCheck.healthyThreshold,
    UnhealthyThresholdCount: tg.healthCheck.unhealthyThreshold,
    HealthCheckPath: tg.healthCheck.path,
    Matcher: { HttpCode: tg.healthCheck.matcher },
    LoadBalancerArns: lbsOf(tg.arn),
    TargetType: tg.targetType,
    ProtocolVersion: tg.protocolVersion,
    IpAddressType: 'ipv4',
  });

  function applyHealthCheck(tg: TargetGroup, input: Record<string, unknown>): void {
    const hc = tg.healthCheck;
    const interval = num(input.HealthCheckIntervalSeconds);
    const timeout = num(input.HealthCheckTimeoutSeconds);
    const healthy = num(input.HealthyThresholdCount);
    const unhealthy = num(input.UnhealthyThresholdCount);
    if (interval !== undefined && (interval < 5 || interval > 300))
      throw new AwsError('ValidationError', 'Health check interval must be between 5 and 300 seconds');
    if (timeout !== undefined && (timeout < 2 || timeout > 120))
      throw new AwsError('ValidationError', 'Health check timeout must be between 2 and 120 seconds');
    if (healthy !== undefined && (healthy < 2 || healthy > 10)) throw new AwsError('ValidationError', 'Healthy threshold count must be between 2 and 10');
    if (unhealthy !== undefined && (unhealthy < 2 || unhealthy > 10))
      throw new AwsError('ValidationError', 'Unhealthy threshold count must be between 2 and 10');
    const next = {
      ...hc,
      protocol: str(input.HealthCheckProtocol) ?? hc.protocol,
      port: str(input.HealthCheckPort) ?? hc.port,
      enabled: input.HealthCheckEnabled === undefined ? hc.enabled : String(input.HealthCheckEnabled) === 'true',
      interval: interval ?? hc.interval,
      timeout: timeout ?? hc.timeout,
      healthyThreshold: healthy ?? hc.healthyThreshold,
      unhealthyThreshold: unhealthy ?? hc.unhealthyThreshold,
      path: str(input.HealthCheckPath) ?? hc.path,
      matcher: str((input.Matcher as Record<string, unknown> | undefined)?.HttpCode) ?? hc.matcher,
    };
    if (next.timeout >= next.interval) {
      throw new AwsError('ValidationError', 'Health check timeout must be smaller than the interval');
    }
    tg.healthCheck = next;
  }

  function deleteListenerCascade(arn: string): void {
    listeners.delete(arn);
    tags.delete(arn);
    for (const r of [...rules.values()])
      if (r.listenerArn === arn) {
        rules.delete(r.arn);
        tags.delete(r.arn);
      }
  }

  const byArnsOrAll = <T>(map: Map<string, T>, arns: string[], notFound: (arn: string) => AwsError): T[] => {
    if (!arns.length) return [...map.values()];
    return arns.map((a) => {
      const v = map.get(a);
      if (!v) throw notFound(a);
      return v;
    });
  };

  const taggable = (arn: string): boolean => lbs.has(arn) || tgs.has(arn) || listeners.has(arn) || rules.has(arn) || !!defaultRuleOwner(arn);
  const checkTaggable = (arn: string): void => {
    if (taggable(arn)) return;
    if (arn.includes(':targetgroup/')) throw new AwsError('TargetGroupNotFound', `Target groups '${arn}' not found`);
    if (arn.includes(':listener-rule/')) throw new AwsError('RuleNotFound', `One or more rules not found`);
    if (arn.includes(':listener/')) throw new AwsError('ListenerNotFound', `One or more listeners not found`);
    throw new AwsError('LoadBalancerNotFound', `Load balancer '${arn}' not found`);
  };

  return {
    name: 'elbv2',
    protocol: 'query',
    apiVersion: '2015-12-01',
    xmlNamespace: 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/',

    targetGroup(arn) {
      const tg = tgs.get(arn);
      if (!tg) return undefined;
      const view: TargetGroupView = { arn: tg.arn, name: tg.name, targetType: tg.targetType, loadBalancerArns: lbsOf(tg.arn) };
      if (tg.port !== undefined) view.port = tg.port;
      return view;
    },
    register,
    deregister,
    health(tgArn, id, port) {
      const t = tgs.get(tgArn)?.targets.get(targetKey(id, port));
      if (!t) return undefined;
      const out: { state: string; reason?: string; description?: string } = { state: t.state };
      if (t.reason) out.reason = t.reason;
      if (t.description) out.description = t.description;
      return out;
    },
    setProbe(fn) {
      probe = fn;
    },
    onHealthChange(fn) {
      healthListeners.push(fn);
    },
    setUsage(fn) {
      usage = fn;
    },
    ruleForward(ruleArn) {
      const forward = ruleActions(ruleArn)?.find((a) => a.Type === 'forward');
      if (!forward) return undefined;
      return arr<Record<string, unknown>>((forward.ForwardConfig as Record<string, unknown> | undefined)?.TargetGroups).map((t) => ({
        targetGroupArn: String(t.TargetGroupArn),
        weight: Number(t.Weight ?? 1),
      }));
    },
    setRuleForward(ruleArn, groups) {
      const forward = ruleActions(ruleArn)?.find((a) => a.Type === 'forward');
      if (!forward) return;
      forward.ForwardConfig = {
        ...(forward.ForwardConfig as Record<string, unknown>),
        TargetGroups: groups.map((g) => ({ TargetGroupArn: g.targetGroupArn, Weight: g.weight })),
      };
      // DescribeRules names TargetGroupArn only for a single-group forward.
      if (groups.length === 1) forward.TargetGroupArn = groups[0]?.targetGroupArn;
      else delete forward.TargetGroupArn;
      activate(groups.map((g) => g.targetGroupArn));
    },
    loadBalancerByDnsName(dnsName) {
      const wanted = dnsName
        .toLowerCase()
        .replace(/\.$/, '')
        .replace(/^dualstack\./, '');
      const lb = [...lbs.values()].find((l) => l.dnsName.toLowerCase() === wanted);
      return lb && { arn: lb.arn, dnsName: lb.dnsName, canonicalHostedZoneId: lb.canonicalHostedZoneId };
    },
    regionOfCanonicalZone(zoneId) {
      return Object.entries(ALB_HOSTED_ZONES).find(([, z]) => z === zoneId)?.[0];
    },
    limits() {
      return Object.fromEntries(LIMIT_DEFAULTS.map(([name]) => [name, limit(name)]));
    },
    setLimits(values) {
      const next = new Map(limitOverrides);
      for (const [name, value] of Object.entries(values)) {
        if (!ENFORCED_LIMITS.includes(name)) {
          throw new AwsError('ValidationError', `elbv2 limit '${name}' is not enforced; settable: ${ENFORCED_LIMITS.join(', ')}`);
        }
        if (value === null) next.delete(name);
        else if (typeof value === 'number' && Number.isInteger(value) && value >= 0) next.set(name, value);
        else throw new AwsError('ValidationError', `elbv2 limit '${name}' must be an integer >= 0 or null`);
      }
      limitOverrides = next;
    },

    operations: {
      CreateLoadBalancer: {
        mutating: true,
        handler: (input) => {
          // The first load balancer or target group creates ELB's service-linked role (authorized with the call).
          ctx.serviceLinkedRoles.add('elasticloadbalancing.amazonaws.com');
          const name = required(input, 'Name');
          validateName('Load balancer', name);
          const type = str(input.Type) ?? 'application';
          if (type !== 'application') throw new AwsError('ValidationError', `The emulator models application load balancers only, not '${type}'`);
          const subnetIds = [...arr<string>(input.Subnets), ...arr<Record<string, unknown>>(input.SubnetMappings).map((m) => String(m.SubnetId))];
          const subnets = subnetIds.map((id) => {
            const s = ec2.subnet(id);
            if (!s) throw new AwsError('SubnetNotFound', `The subnet ID '${id}' is not valid`);
            return { id: s.id, az: s.az, vpcId: s.vpcId };
          });
          if (new Set(subnets.map((s) => s.az)).size < 2) {
            throw new AwsError('ValidationError', 'At least two subnets in two different Availability Zones must be specified');
          }
          const vpcId = subnets[0]?.vpcId as string;
          const sgs = arr<string>(input.SecurityGroups);
          for (const sg of sgs) {
            if (!ec2.securityGroup(sg)) throw new AwsError('InvalidSecurityGroup', `Security group '${sg}' does not exist`);
          }
          const scheme = str(input.Scheme) ?? 'internet-facing';
          const existing = [...lbs.values()].find((lb) => lb.name === name);
          if (existing) {
            // CreateLoadBalancer is idempotent for the same settings.
            if (existing.scheme === scheme && existing.subnets.map((s) => s.id).join() === subnets.map((s) => s.id).join()) {
              return { LoadBalancers: [lbView(existing)] };
            }
            throw new AwsError('DuplicateLoadBalancerName', `A load balancer with the same name '${name}' exists, but with different settings`);
          }
          const inRegion = [...lbs.values()].filter((l) => l.arn.split(':')[3] === ctx.region).length;
          if (inRegion >= limit('application-load-balancers'))
            throw new AwsError('TooManyLoadBalancers', 'The maximum number of load balancers has been reached');
          const lb: LoadBalancer = {
            arn: `${arnBase()}:loadbalancer/app/${name}/${hex(16)}`,
            name,
            dnsName: `${scheme === 'internal' ? 'internal-' : ''}${name}-${digits(10)}.${ctx.region}.elb.amazonaws.com`,
            // A region missing from the table (a newer one) answers with us-east-1's zone.
            canonicalHostedZoneId: ALB_HOSTED_ZONES[ctx.region] ?? 'Z35SXDOTRQ7X7K',
            scheme,
            type,
            vpcId,
            subnets: subnets.map(({ id, az }) => ({ id, az })),
            securityGroups: sgs.length ? sgs : [ec2.securityGroup('sg-0a1b2c3d4e5f60001')?.id ?? ''].filter(Boolean),
            ipAddressType: str(input.IpAddressType) ?? 'ipv4',
            createdAt: new Date(ctx.clock.now()),
            state: 'provisioning',
          };
          lbs.set(lb.arn, lb);
          setTags(lb.arn, arr<Tag>(input.Tags));
          lb.timer = ctx.clock.setTimer(LB_PROVISIONING_SECONDS, () => {
            lb.state = 'active';
          });
          return { LoadBalancers: [lbView(lb)] };
        },
      },
      DescribeLoadBalancers: {
        mutating: false,
        handler: (input) => {
          const arns = arr<string>(input.LoadBalancerArns);
          const names = arr<string>(input.Names);
          let found = byArnsOrAll(lbs, arns, (a) => new AwsError('LoadBalancerNotFound', `Load balancers '[${a}]' not found`));
          if (names.length) {
            const missing = names.filter((n) => !found.some((lb) => lb.name === n));
            if (missing.length) throw new AwsError('LoadBalancerNotFound', `Load balancers '[${missing.join(', ')}]' not found`);
            found = found.filter((lb) => names.includes(lb.name));
          }
          return { LoadBalancers: found.map(lbView) };
        },
      },
      DeleteLoadBalancer: {
        mutating: true,
        handler: (input) => {
          const arn = required(input, 'LoadBalancerArn');
          const lb = lbs.get(arn);
          // Deleting a load balancer that does not exist succeeds, as on AWS.
          if (!lb) return {};
          if (lb.timer) ctx.clock.clearTimer(lb.timer);
          for (const l of [...listeners.values()]) if (l.lbArn === arn) deleteListenerCascade(l.arn);
          lbs.delete(arn);
          tags.delete(arn);
          return {};
        },
      },
      DescribeLoadBalancerAttributes: {
        mutating: false,
        handler: (input) => {
          getLb(required(input, 'LoadBalancerArn'));
          return {
            Attributes: [
              { Key: 'deletion_protection.enabled', Value: 'false' },
              { Key: 'idle_timeout.timeout_seconds', Value: '60' },
              { Key: 'routing.http2.enabled', Value: 'true' },
            ],
          };
        },
      },

      CreateTargetGroup: {
        mutating: true,
        handler: (input) => {
          // The first load balancer or target group creates ELB's service-linked role (authorized with the call).
          ctx.serviceLinkedRoles.add('elasticloadbalancing.amazonaws.com');
          const name = required(input, 'Name');
          validateName('Target group', name);
          const targetType = str(input.TargetType) ?? 'instance';
          if (!['instance', 'ip', 'lambda', 'alb'].includes(targetType)) {
            throw new AwsError('ValidationError', `Target type '${targetType}' must be one of 'instance, ip, lambda, alb'`);
          }
          const protocol = str(input.Protocol);
          const port = num(input.Port);
          const vpcId = str(input.VpcId);
          if (targetType !== 'lambda') {
            if (!protocol) throw new AwsError('ValidationError', 'A protocol must be specified');
            if (port === undefined) throw new AwsError('ValidationError', 'A port must be specified');
            if (!vpcId) throw new AwsError('ValidationError', 'A VPC ID must be specified');
            if (port < 1 || port > 65535) throw new AwsError('ValidationError', 'Port must be between 1 and 65535');
            if (!['HTTP', 'HTTPS'].includes(protocol)) {
              throw new AwsError('ValidationError', `The emulator models HTTP and HTTPS target groups only, not '${protocol}'`);
            }
            if (vpcId !== 'vpc-0e1a2b3c4d5e6f701') throw new AwsError('ValidationError', `The VPC ID '${vpcId}' is not found`);
          }
          const tg: TargetGroup = {
            arn: `${arnBase()}:targetgroup/${name}/${hex(16)}`,
            name,
            targetType,
            healthCheck: {
              protocol: protocol ?? 'HTTP',
              port: 'traffic-port',
              enabled: true,
              interval: 30,
              timeout: 5,
              healthyThreshold: 5,
              unhealthyThreshold: 2,
              path: '/',
              matcher: '200',
            },
            attributes: new Map(Object.entries(ATTRIBUTE_DEFAULTS)),
            targets: new Map(),
          };
          if (protocol) tg.protocol = protocol;
          if (port !== undefined) tg.port = port;
          if (vpcId) tg.vpcId = vpcId;
          tg.protocolVersion = str(input.ProtocolVersion) ?? 'HTTP1';
          applyHealthCheck(tg, input);
          const existing = [...tgs.values()].find((t) => t.name === name);
          if (existing) {
            // Same name and settings returns the existing group, as on AWS.
            const a = tgView(existing);
            const b = tgView(tg);
            const same = ['Protocol', 'Port', 'VpcId', 'TargetType', 'HealthCheckPath', 'HealthCheckIntervalSeconds', 'HealthyThresholdCount'].every(
              (k) => a[k] === b[k],
            );
            if (same) return { TargetGroups: [a] };
            throw new AwsError('DuplicateTargetGroupName', `A target group with the same name '${name}' exists, but with different settings`);
          }
          const max = limit('target-groups');
          if ([...tgs.values()].filter((t) => t.arn.split(':')[3] === ctx.region).length >= max) {
            throw new AwsError('TooManyTargetGroups', `The maximum number of target groups '${max}' has been reached`);
          }
          tgs.set(tg.arn, tg);
          setTags(tg.arn, arr<Tag>(input.Tags));
          return { TargetGroups: [tgView(tg)] };
        },
      },
      DescribeTargetGroups: {
        mutating: false,
        handler: (input) => {
          const arns = arr<string>(input.TargetGroupArns);
          const names = arr<string>(input.Names);
          const lbArn = str(input.LoadBalancerArn);
          let found = byArnsOrAll(tgs, arns, (a) => new AwsError('TargetGroupNotFound', `Target groups '[${a}]' not found`));
          if (names.length) {
            const missing = names.filter((n) => !found.some((t) => t.name === n));
            if (missing.length) throw new AwsError('TargetGroupNotFound', `Target groups '[${missing.join(', ')}]' not found`);
            found = found.filter((t) => names.includes(t.name));
          }
          if (lbArn) {
            getLb(lbArn);
            found = found.filter((t) => lbsOf(t.arn).includes(lbArn));
          }
          return { TargetGroups: found.map(tgView) };
        },
      },
      ModifyTargetGroup: {
        mutating: true,
        handler: (input) => {
          const tg = getTg(required(input, 'TargetGroupArn'));
          applyHealthCheck(tg, input);
          return { TargetGroups: [tgView(tg)] };
        },
      },
      DeleteTargetGroup: {
        mutating: true,
        handler: (input) => {
          const arn = required(input, 'TargetGroupArn');
          const tg = tgs.get(arn);
          if (!tg) return {};
          if (lbsOf(arn).length || usage(arn)) {
            throw new AwsError('ResourceInUse', `Target group '${arn}' is currently in use by a listener or a rule`);
          }
          for (const t of tg.targets.values()) if (t.timer) ctx.clock.clearTimer(t.timer);
          tgs.delete(arn);
          tags.delete(arn);
          return {};
        },
      },
      DescribeTargetGroupAttributes: {
        mutating: false,
        handler: (input) => {
          const tg = getTg(required(input, 'TargetGroupArn'));
          return { Attributes: [...tg.attributes].map(([Key, Value]) => ({ Key, Value })) };
        },
      },
      ModifyTargetGroupAttributes: {
        mutating: true,
        handler: (input) => {
          const tg = getTg(required(input, 'TargetGroupArn'));
          const attrs = arr<Record<string, unknown>>(input.Attributes);
          for (const a of attrs) {
            const key = String(a.Key);
            const value = String(a.Value ?? '');
            if (!(key in ATTRIBUTE_DEFAULTS)) throw new AwsError('InvalidConfigurationRequest', `Target group attribute key '${key}' is not recognized`);
            if (key === 'deregistration_delay.timeout_seconds') {
              const n = Number(value);
              if (!Number.isInteger(n) || n < 0 || n > 3600) {
                throw new AwsError('InvalidConfigurationRequest', `'${value}' must be an integer between 0 and 3600`);
              }
            }
          }
          for (const a of attrs) tg.attributes.set(String(a.Key), String(a.Value ?? ''));
          return { Attributes: [...tg.attributes].map(([Key, Value]) => ({ Key, Value })) };
        },
      },
      RegisterTargets: {
        mutating: true,
        handler: (input) => {
          const tg = getTg(required(input, 'TargetGroupArn'));
          const targets = arr<Record<string, unknown>>(input.Targets);
          if (!targets.length) throw new AwsError('ValidationError', 'At least one target must be specified');
          for (const t of targets) {
            const port = num(t.Port) ?? tg.port;
            if (port === undefined) throw new AwsError('ValidationError', 'A port must be specified');
            if (tg.targetType === 'ip' && !/^\d+\.\d+\.\d+\.\d+$/.test(String(t.Id))) {
              throw new AwsError('ValidationError', `The IP address '${t.Id}' is not a valid IPv4 address`);
            }
          }
          for (const t of targets) register(tg.arn, String(t.Id), (num(t.Port) ?? tg.port) as number, str(t.AvailabilityZone));
          return {};
        },
      },
      DeregisterTargets: {
        mutating: true,
        handler: (input) => {
          const tg = getTg(required(input, 'TargetGroupArn'));
          const targets = arr<Record<string, unknown>>(input.Targets);
          if (!targets.length) throw new AwsError('ValidationError', 'At least one target must be specified');
          // Targets that are not registered are ignored without an error, as ELB does.
          for (const t of targets) deregister(tg.arn, String(t.Id), (num(t.Port) ?? tg.port) as number, () => {});
          return {};
        },
      },
      DescribeTargetHealth: {
        mutating: false,
        handler: (input) => {
          const tg = getTg(required(input, 'TargetGroupArn'));
          const asked = arr<Record<string, unknown>>(input.Targets);
          const describe = (t: Target): Record<string, unknown> => ({
            Target: { Id: t.id, Port: t.port, AvailabilityZone: t.az },
            HealthCheckPort: tg.healthCheck.port === 'traffic-port' ? String(t.port) : tg.healthCheck.port,
            TargetHealth: { State: t.state, Reason: t.reason, Description: t.description },
          });
          if (!asked.length) return { TargetHealthDescriptions: [...tg.targets.values()].map(describe) };
          return {
            TargetHealthDescriptions: asked.map((a) => {
              const port = num(a.Port) ?? tg.port ?? 0;
              const t = tg.targets.get(targetKey(String(a.Id), port));
              if (t) return describe(t);
              return {
                Target: { Id: String(a.Id), Port: port },
                HealthCheckPort: String(port),
                TargetHealth: { State: 'unused', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' },
              };
            }),
          };
        },
      },

      CreateListener: {
        mutating: true,
        handler: (input) => {
          const lb = getLb(required(input, 'LoadBalancerArn'));
          const protocol = str(input.Protocol) ?? 'HTTP';
          if (!['HTTP', 'HTTPS'].includes(protocol)) {
            throw new AwsError('ValidationError', `Listener protocol '${protocol}' must be one of 'HTTPS, HTTP'`);
          }
          const port = num(input.Port) ?? (protocol === 'HTTPS' ? 443 : 80);
          if (port < 1 || port > 65535) throw new AwsError('ValidationError', 'Port must be between 1 and 65535');
          const certificates = arr<Record<string, unknown>>(input.Certificates).map((c) => ({ CertificateArn: String(c.CertificateArn) }));
          if (protocol === 'HTTPS' && !certificates.length) {
            throw new AwsError('ValidationError', 'A certificate must be specified for HTTPS listeners');
          }
          const actions = normalizeActions(input.DefaultActions, protocol);
          const clash = [...listeners.values()].find((l) => l.lbArn === lb.arn && l.port === port);
          if (clash) throw new AwsError('DuplicateListener', `A listener already exists on this port for this load balancer '${lb.arn}'`);
          const max = limit('listeners-per-application-load-balancer');
          if ([...listeners.values()].filter((l) => l.lbArn === lb.arn).length >= max) {
            throw new AwsError('TooManyListeners', `The maximum number of listeners per load balancer '${max}' has been reached on load balancer '${lb.arn}'`);
          }
          const lbPath = lb.arn.split(':loadbalancer/')[1];
          const listenerPath = `${lbPath}/${hex(16)}`;
          const listenerArn = `${arnBase()}:listener/${listenerPath}`;
          checkTargetGroupsPerLb(lb.arn, { arn: listenerArn, actions });
          const l: Listener = {
            arn: listenerArn,
            defaultRuleArn: `${arnBase()}:listener-rule/${listenerPath}/${hex(16)}`,
            lbArn: lb.arn,
            port,
            protocol,
            certificates,
            defaultActions: actions,
          };
          if (protocol === 'HTTPS') l.sslPolicy = str(input.SslPolicy) ?? 'ELBSecurityPolicy-2016-08';
          listeners.set(l.arn, l);
          setTags(l.arn, arr<Tag>(input.Tags));
          activate(actionTargetGroups(actions));
          return { Listeners: [listenerView(l)] };
        },
      },
      DescribeListeners: {
        mutating: false,
        handler: (input) => {
          const lbArn = str(input.LoadBalancerArn);
          const arns = arr<string>(input.ListenerArns);
          if (!lbArn && !arns.length) throw new AwsError('ValidationError', 'You must specify either listener ARNs or a load balancer ARN');
          if (lbArn) getLb(lbArn);
          const found = byArnsOrAll(listeners, arns, (a) => new AwsError('ListenerNotFound', `Listeners '[${a}]' not found`)).filter(
            (l) => !lbArn || l.lbArn === lbArn,
          );
          return { Listeners: found.map(listenerView) };
        },
      },
      ModifyListener: {
        mutating: true,
        handler: (input) => {
          const l = getListener(required(input, 'ListenerArn'));
          const protocol = str(input.Protocol) ?? l.protocol;
          const port = num(input.Port) ?? l.port;
          const certificates = input.Certificates
            ? arr<Record<string, unknown>>(input.Certificates).map((c) => ({ CertificateArn: String(c.CertificateArn) }))
            : l.certificates;
          if (protocol === 'HTTPS' && !certificates.length) throw new AwsError('ValidationError', 'A certificate must be specified for HTTPS listeners');
          if ([...listeners.values()].some((o) => o.lbArn === l.lbArn && o.port === port && o.arn !== l.arn)) {
            throw new AwsError('DuplicateListener', `A listener already exists on this port for this load balancer '${l.lbArn}'`);
          }
          const actions = input.DefaultActions ? normalizeActions(input.DefaultActions, protocol) : l.defaultActions;
          checkTargetGroupsPerLb(l.lbArn, { arn: l.arn, actions });
          Object.assign(l, { protocol, port, certificates, defaultActions: actions });
          activate(actionTargetGroups(actions));
          return { Listeners: [listenerView(l)] };
        },
      },
      DeleteListener: {
        mutating: true,
        handler: (input) => {
          const arn = required(input, 'ListenerArn');
          getListener(arn);
          deleteListenerCascade(arn);
          return {};
        },
      },

      CreateRule: {
        mutating: true,
        handler: (input) => {
          const l = getListener(required(input, 'ListenerArn'));
          const conditions = normalizeConditions(input.Conditions);
          const actions = normalizeActions(input.Actions, l.protocol);
          const priority = validatePriority(l.arn, input.Priority);
          const lbRules = [...rules.values()].filter((r) => listeners.get(r.listenerArn)?.lbArn === l.lbArn).length;
          if (lbRules >= limit('rules-per-application-load-balancer')) {
            throw new AwsError('TooManyRules', `The maximum number of rules on load balancer ${l.lbArn} has been reached`);
          }
          const listenerPath = l.arn.split(':listener/')[1];
          const ruleArn = `${arnBase()}:listener-rule/${listenerPath}/${hex(16)}`;
          checkTargetGroupsPerLb(l.lbArn, { arn: ruleArn, actions });
          const r: Rule = {
            arn: ruleArn,
            listenerArn: l.arn,
            priority,
            conditions,
            actions,
            isDefault: false,
          };
          rules.set(r.arn, r);
          setTags(r.arn, arr<Tag>(input.Tags));
          activate(actionTargetGroups(actions));
          return { Rules: [ruleView(r)] };
        },
      },
      DescribeRules: {
        mutating: false,
        handler: (input) => {
          const listenerArn = str(input.ListenerArn);
          const arns = arr<string>(input.RuleArns);
          if (!listenerArn && !arns.length) throw new AwsError('ValidationError', 'You must specify either listener rule ARNs or a listener ARN');
          if (listenerArn) {
            const l = getListener(listenerArn);
            const own = [...rules.values()].filter((r) => r.listenerArn === l.arn).sort((a, b) => Number(a.priority) - Number(b.priority));
            // The listener's default rule comes last.
            return { Rules: [...own.map(ruleView), defaultRuleView(l)] };
          }
          return {
            Rules: arns.map((a) => {
              const r = rules.get(a);
              const l = defaultRuleOwner(a);
              if (r) return ruleView(r);
              if (l) return defaultRuleView(l);
              throw new AwsError('RuleNotFound', 'One or more rules not found');
            }),
          };
        },
      },
      ModifyRule: {
        mutating: true,
        handler: (input) => {
          const arn = required(input, 'RuleArn');
          const owner = defaultRuleOwner(arn);
          if (owner) {
            // A default rule takes new actions (they are the listener's default actions) but never conditions.
            if (input.Conditions) throw new AwsError('ValidationError', 'Conditions cannot be specified for a default rule');
            if (input.Actions) {
              const actions = normalizeActions(input.Actions, owner.protocol);
              checkTargetGroupsPerLb(owner.lbArn, { arn: owner.arn, actions });
              owner.defaultActions = actions;
            }
            activate(actionTargetGroups(owner.defaultActions));
            return { Rules: [defaultRuleView(owner)] };
          }
          const r = rules.get(arn);
          if (!r) throw new AwsError('RuleNotFound', 'One or more rules not found');
          const l = getListener(r.listenerArn);
          const conditions = input.Conditions ? normalizeConditions(input.Conditions) : r.conditions;
          const actions = input.Actions ? normalizeActions(input.Actions, l.protocol) : r.actions;
          checkTargetGroupsPerLb(l.lbArn, { arn: r.arn, actions });
          r.conditions = conditions;
          r.actions = actions;
          activate(actionTargetGroups(r.actions));
          return { Rules: [ruleView(r)] };
        },
      },
      SetRulePriorities: {
        mutating: true,
        handler: (input) => {
          const changes = arr<Record<string, unknown>>(input.RulePriorities).map((c) => {
            if (defaultRuleOwner(String(c.RuleArn))) throw new AwsError('OperationNotPermitted', 'The priority of a default rule cannot be changed');
            const r = rules.get(String(c.RuleArn));
            if (!r) throw new AwsError('RuleNotFound', 'One or more rules not found');
            return { r, priority: num(c.Priority) };
          });
          // Priorities are checked against the listener as it will be after the whole change.
          const moving = new Set(changes.map((c) => c.r.arn));
          const seen = new Set<string>();
          for (const { r, priority } of changes) {
            if (priority === undefined || !Number.isInteger(priority) || priority < 1 || priority > 50000) {
              throw new AwsError('ValidationError', 'Priority must be between 1 and 50000');
            }
            const key = `${r.listenerArn} ${priority}`;
            const taken = [...rules.values()].some((o) => o.listenerArn === r.listenerArn && !moving.has(o.arn) && o.priority === String(priority));
            if (taken || seen.has(key)) throw new AwsError('PriorityInUse', `Priority '${priority}' is currently in use`);
            seen.add(key);
          }
          for (const { r, priority } of changes) r.priority = String(priority);
          return { Rules: changes.map(({ r }) => ruleView(r)) };
        },
      },
      DeleteRule: {
        mutating: true,
        handler: (input) => {
          const arn = required(input, 'RuleArn');
          if (defaultRuleOwner(arn)) throw new AwsError('OperationNotPermitted', `Default rule '${arn}' cannot be deleted`);
          if (!rules.has(arn)) throw new AwsError('RuleNotFound', 'One or more rules not found');
          rules.delete(arn);
          tags.delete(arn);
          return {};
        },
      },

      DescribeAccountLimits: {
        mutating: false,
        handler: (input) => {
          const pageSize = num(input.PageSize) ?? 400;
          if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 400) {
            throw new AwsError(
              'ValidationError',
              `1 validation error detected: Value '${input.PageSize}' at 'pageSize' failed to satisfy constraint: Member must have value less than or equal to 400`,
            );
          }
          const start = Number(str(input.Marker) ?? 0);
          if (!Number.isInteger(start) || start < 0) throw new AwsError('ValidationError', 'The marker is not valid');
          const all = LIMIT_DEFAULTS.map(([Name]) => ({ Name, Max: String(limit(Name)) }));
          const page = all.slice(start, start + pageSize);
          return { Limits: page, NextMarker: start + pageSize < all.length ? String(start + pageSize) : undefined };
        },
      },

      AddTags: {
        mutating: true,
        handler: (input) => {
          const arns = arr<string>(input.ResourceArns);
          arns.forEach(checkTaggable);
          for (const a of arns) setTags(a, arr<Tag>(input.Tags));
          return {};
        },
      },
      RemoveTags: {
        mutating: true,
        handler: (input) => {
          const arns = arr<string>(input.ResourceArns);
          arns.forEach(checkTaggable);
          const keys = arr<string>(input.TagKeys);
          for (const a of arns)
            tags.set(
              a,
              (tags.get(a) ?? []).filter((t) => !keys.includes(t.Key)),
            );
          return {};
        },
      },
      DescribeTags: {
        mutating: false,
        handler: (input) => {
          const arns = arr<string>(input.ResourceArns);
          if (arns.length > 20) throw new AwsError('ValidationError', 'A maximum of 20 resource ARNs can be described at once');
          arns.forEach(checkTaggable);
          return { TagDescriptions: arns.map((a) => ({ ResourceArn: a, Tags: tags.get(a) ?? [] })) };
        },
      },
    },

    resourceTags(arn) {
      const found = arn.startsWith('arn:aws:elasticloadbalancing:') ? tags.get(arn) : undefined;
      return found && Object.fromEntries(found.map((t) => [t.Key, t.Value ?? '']));
    },

    state() {
      const withTags = (arn: string, view: Record<string, unknown>) => ({ ...view, Tags: tags.get(arn) ?? [] });
      return {
        loadBalancers: [...lbs.values()].map((lb) => withTags(lb.arn, lbView(lb))),
        listeners: [...listeners.values()].map((l) => withTags(l.arn, listenerView(l))),
        rules: [...rules.values()].map((r) => withTags(r.arn, { ...ruleView(r), ListenerArn: r.listenerArn })),
        targetGroups: [...tgs.values()].map((tg) =>
          withTags(tg.arn, {
            ...tgView(tg),
            Attributes: Object.fromEntries(tg.attributes),
            Targets: [...tg.targets.values()].map((t) => ({ Id: t.id, Port: t.port, State: t.state, Reason: t.reason })),
          }),
        ),
      };
    },
    reset() {
      limitOverrides = new Map();
      lbs = new Map();
      listeners = new Map();
      rules = new Map();
      tgs = new Map();
      tags = new Map();
    },
  };
}
