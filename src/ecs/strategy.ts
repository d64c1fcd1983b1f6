// ECS-native deployment strategies (rolling, blue/green, canary, linear): the deployment configuration a
// step asks for, checked against the service before anything changes, and the traffic a shift moves.
import type { DeploymentConfiguration, DeploymentStrategy, Service } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, type ElasticLoadBalancingV2Client, type Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall } from '../aws.ts';
import type { InputProblem } from '../errors.ts';
import { chunk } from '../list.ts';

export const strategies = ['rolling', 'blue-green', 'canary', 'linear'] as const;
export type Strategy = (typeof strategies)[number];

const ecsNames: Record<Strategy, DeploymentStrategy> = { rolling: 'ROLLING', 'blue-green': 'BLUE_GREEN', canary: 'CANARY', linear: 'LINEAR' };

/** What a step asks of the deployment; anything left out keeps the service's own setting. */
export interface StrategyRequest {
  strategy?: Strategy | undefined;
  bakeMinutes?: number | undefined;
  canaryPercent?: number | undefined;
  canaryIntervalMinutes?: number | undefined;
  linearStepPercent?: number | undefined;
  linearIntervalMinutes?: number | undefined;
  /** CloudWatch alarms that fail the deployment (and roll it back) when they go into ALARM. */
  alarms?: string[] | undefined;
}

/** The strategy a deployment will run with: the one asked for, else the service's. */
export function effectiveStrategy(service: Service, request: StrategyRequest = {}): Strategy {
  if (request.strategy) return request.strategy;
  const ecsName = service.deploymentConfiguration?.strategy ?? 'ROLLING';
  return strategies.find((strategy) => ecsNames[strategy] === ecsName) ?? 'rolling';
}

/** A strategy that moves traffic between two target groups on a listener rule. */
export function shiftsTraffic(strategy: Strategy): boolean {
  return strategy !== 'rolling';
}

/** The service's deployment configuration with the circuit breaker on and the step's strategy settings applied. */
export function deploymentConfiguration(service: Service, request: StrategyRequest = {}): DeploymentConfiguration {
  const current = service.deploymentConfiguration;
  const configuration: DeploymentConfiguration = { ...current, deploymentCircuitBreaker: { enable: true, rollback: true } };
  if (request.strategy) configuration.strategy = ecsNames[request.strategy];
  if (request.bakeMinutes !== undefined) configuration.bakeTimeInMinutes = request.bakeMinutes;
  if (request.canaryPercent !== undefined || request.canaryIntervalMinutes !== undefined) {
    configuration.canaryConfiguration = {
      ...current?.canaryConfiguration,
      ...(request.canaryPercent !== undefined && { canaryPercent: request.canaryPercent }),
      ...(request.canaryIntervalMinutes !== undefined && { canaryBakeTimeInMinutes: request.canaryIntervalMinutes }),
    };
  }
  if (request.linearStepPercent !== undefined || request.linearIntervalMinutes !== undefined) {
    configuration.linearConfiguration = {
      ...current?.linearConfiguration,
      ...(request.linearStepPercent !== undefined && { stepPercent: request.linearStepPercent }),
      ...(request.linearIntervalMinutes !== undefined && { stepBakeTimeInMinutes: request.linearIntervalMinutes }),
    };
  }
  if (request.alarms) configuration.alarms = { alarmNames: request.alarms, enable: true, rollback: true };
  return configuration;
}

/** The strategy of a configuration in a few words, for the log: "canary 10% for 5m, bake 10m, alarms a, b". */
export function describeStrategy(configuration: DeploymentConfiguration): string {
  const bake = configuration.bakeTimeInMinutes === undefined ? '' : `, bake ${configuration.bakeTimeInMinutes}m`;
  const alarms = configuration.alarms?.enable ? `, alarms ${configuration.alarms.alarmNames?.join(', ')}` : '';
  switch (configuration.strategy) {
    case 'CANARY': {
      const canary = configuration.canaryConfiguration;
      return `canary ${canary?.canaryPercent ?? 5}% for ${canary?.canaryBakeTimeInMinutes ?? 10}m${bake}${alarms}`;
    }
    case 'LINEAR': {
      const linear = configuration.linearConfiguration;
      return `linear ${linear?.stepPercent ?? 10}% every ${linear?.stepBakeTimeInMinutes ?? 6}m${bake}${alarms}`;
    }
    case 'BLUE_GREEN':
      return `blue/green${bake}${alarms}`;
    default:
      return `rolling with the circuit breaker${alarms}`;
  }
}

/**
 * The least time a deployment with this configuration takes in ECS, in minutes: the waits between traffic
 * steps and the bake time (ECS's defaults where unset), before any task has even started.
 */
export function leastMinutes(configuration: DeploymentConfiguration): number {
  const bake = configuration.bakeTimeInMinutes ?? 0;
  switch (configuration.strategy) {
    case 'CANARY':
      return (configuration.canaryConfiguration?.canaryBakeTimeInMinutes ?? 10) + bake;
    case 'LINEAR': {
      const steps = Math.ceil(100 / (configuration.linearConfiguration?.stepPercent ?? 10));
      return (steps - 1) * (configuration.linearConfiguration?.stepBakeTimeInMinutes ?? 6) + bake;
    }
    case 'BLUE_GREEN':
      return bake;
    default:
      return 0;
  }
}

/**
 * Why this service cannot deploy as asked, each problem naming the input to change. Empty when it can.
 * With a timeout (seconds), also when the step would stop waiting before ECS could finish.
 */
export function strategyProblems(service: Service, request: StrategyRequest, timeoutSeconds?: number): InputProblem[] {
  const name = service.serviceName ?? '';
  const strategy = effectiveStrategy(service, request);
  const source = request.strategy ? `strategy ${strategy}` : `service ${name}'s strategy (${strategy})`;
  const problems: InputProblem[] = [];
  const onlyFor = (input: string, wanted: Strategy[]) => {
    if (!wanted.includes(strategy)) {
      problems.push({
        input,
        problem: `applies to ${wanted.slice(0, -1).join(', ')}${wanted.length > 1 ? ' and ' : ''}${wanted.at(-1)} deployments, not to ${source}.`,
        fix: `set strategy: ${wanted[0]}, or remove ${input}.`,
      });
    }
  };
  if (request.canaryPercent !== undefined) onlyFor('canary-percent', ['canary']);
  if (request.canaryIntervalMinutes !== undefined) onlyFor('canary-interval', ['canary']);
  if (request.linearStepPercent !== undefined) onlyFor('linear-step-percent', ['linear']);
  if (request.linearIntervalMinutes !== undefined) onlyFor('linear-interval', ['linear']);
  if (request.bakeMinutes !== undefined) onlyFor('bake-time', ['blue-green', 'canary', 'linear']);
  if (shiftsTraffic(strategy) && !service.loadBalancers?.some((lb) => lb.advancedConfiguration?.productionListenerRule)) {
    problems.push({
      input: 'strategy',
      problem: `${strategy} needs service ${name} behind a load balancer with a second target group and its production listener rule, and it has none.`,
      fix: 'give the service loadBalancers[].advancedConfiguration (alternateTargetGroupArn, productionListenerRule, roleArn), or use strategy: rolling.',
    });
  }
  const least = leastMinutes(deploymentConfiguration(service, request));
  if (timeoutSeconds !== undefined && least * 60 >= timeoutSeconds) {
    problems.push({
      input: 'timeout',
      problem: `ends before service ${name}'s ${strategy} deployment can: its traffic steps and bake time alone take ${least} minutes.`,
      fix: `set timeout to more than ${least}m, with time for the new tasks to start and pass health checks.`,
    });
  }
  return problems;
}

/** The two target groups of a traffic shift: blue serves production now, green gets the new revision. */
export interface TrafficShift {
  productionRule: string;
  blue: string;
  green: string;
}

/** Forward targets of a rule with their weights; a plain forward is one group at 100. */
function forwardWeights(rule: Rule | undefined): Map<string, number> {
  const forward = rule?.Actions?.find((action) => action.Type === 'forward');
  const groups = forward?.ForwardConfig?.TargetGroups;
  if (groups && groups.length > 0) return new Map(groups.map((group) => [group.TargetGroupArn ?? '', group.Weight ?? 1]));
  return new Map(forward?.TargetGroupArn ? [[forward.TargetGroupArn, 1]] : []);
}

async function describeRules(elb: ElasticLoadBalancingV2Client, ruleArns: string[]): Promise<Map<string, Rule>> {
  const answers = await Promise.all(
    chunk(ruleArns, 20).map((batch) => awsCall('DescribeRules', batch.join(', '), () => elb.send(new DescribeRulesCommand({ RuleArns: batch })))),
  );
  return new Map(answers.flatMap((answer) => answer.Rules ?? []).map((rule) => [rule.RuleArn ?? '', rule]));
}

/**
 * Before the deployment starts: the production rule sends its traffic to blue, so green is the service's
 * other target group. Undefined for services that do not shift traffic.
 */
export async function plannedShift(elb: ElasticLoadBalancingV2Client, service: Service): Promise<TrafficShift | undefined> {
  const balanced = service.loadBalancers?.find((lb) => lb.advancedConfiguration?.productionListenerRule);
  const advanced = balanced?.advancedConfiguration;
  if (!balanced?.targetGroupArn || !advanced?.productionListenerRule || !advanced.alternateTargetGroupArn) return undefined;
  const rule = (await describeRules(elb, [advanced.productionListenerRule])).get(advanced.productionListenerRule);
  const weights = forwardWeights(rule);
  const pair = [balanced.targetGroupArn, advanced.alternateTargetGroupArn];
  const blue = pair.find((group) => (weights.get(group) ?? 0) > 0 && [...weights.values()].every((weight) => (weights.get(group) ?? 0) >= weight));
  const live = blue ?? balanced.targetGroupArn;
  return { productionRule: advanced.productionListenerRule, blue: live, green: pair.find((group) => group !== live) ?? advanced.alternateTargetGroupArn };
}

/** Each shift's share of production traffic on green, in percent, read from the rules' weights. */
export async function greenShares(elb: ElasticLoadBalancingV2Client, shifts: TrafficShift[]): Promise<Map<TrafficShift, number>> {
  if (shifts.length === 0) return new Map();
  const rules = await describeRules(elb, [...new Set(shifts.map((shift) => shift.productionRule))]);
  return new Map(
    shifts.map((shift) => {
      const weights = forwardWeights(rules.get(shift.productionRule));
      const total = [...weights.values()].reduce((sum, weight) => sum + weight, 0);
      const share = total === 0 ? 0 : ((weights.get(shift.green) ?? 0) / total) * 100;
      return [shift, Math.round(share * 10) / 10];
    }),
  );
}
