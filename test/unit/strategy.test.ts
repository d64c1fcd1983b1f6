// The deployment configuration a rollout sends: the service's own, the circuit breaker, and the strategy asked for.
import type { Service } from '@aws-sdk/client-ecs';
import { expect, test } from '@jest/globals';
import { deploymentConfiguration, effectiveStrategy, strategyProblems } from '../../src/ecs/strategy.ts';

const canaryService: Service = {
  serviceName: 'web',
  deploymentConfiguration: { strategy: 'CANARY', maximumPercent: 200, canaryConfiguration: { canaryPercent: 5, canaryBakeTimeInMinutes: 10 } },
  loadBalancers: [{ targetGroupArn: 'tg-a', advancedConfiguration: { alternateTargetGroupArn: 'tg-b', productionListenerRule: 'rule', roleArn: 'role' } }],
};

test('settings left out keep the service’s; those given replace them one by one', () => {
  expect(deploymentConfiguration(canaryService, { canaryPercent: 20 })).toEqual({
    strategy: 'CANARY',
    maximumPercent: 200,
    canaryConfiguration: { canaryPercent: 20, canaryBakeTimeInMinutes: 10 },
    deploymentCircuitBreaker: { enable: true, rollback: true },
  });
  expect(deploymentConfiguration(canaryService, { strategy: 'linear', linearStepPercent: 25, bakeMinutes: 0, alarms: ['web-5xx'] })).toMatchObject({
    strategy: 'LINEAR',
    bakeTimeInMinutes: 0,
    linearConfiguration: { stepPercent: 25 },
    alarms: { alarmNames: ['web-5xx'], enable: true, rollback: true },
  });
});

test('the strategy is the one asked for, else the service’s, else rolling', () => {
  expect(effectiveStrategy(canaryService)).toBe('canary');
  expect(effectiveStrategy(canaryService, { strategy: 'blue-green' })).toBe('blue-green');
  expect(effectiveStrategy({ serviceName: 'plain' })).toBe('rolling');
});

test('settings of another strategy, and traffic shifting without a second target group, are problems naming the input', () => {
  expect(strategyProblems(canaryService, { canaryPercent: 10 })).toEqual([]);
  expect(strategyProblems(canaryService, { linearStepPercent: 10 }).map((p) => p.input)).toEqual(['linear-step-percent']);
  expect(strategyProblems({ serviceName: 'plain' }, { strategy: 'canary', bakeMinutes: 5 }).map((p) => p.input)).toEqual(['strategy']);
  expect(strategyProblems({ serviceName: 'plain' }, { bakeMinutes: 5 }).map((p) => p.input)).toEqual(['bake-time']);
});

test('a timeout shorter than the traffic steps and bake time is a problem naming timeout', () => {
  // Linear 25%: three waits of 2 minutes before 100%, then 5 minutes of bake: 11 minutes at least.
  const request = { strategy: 'linear', linearStepPercent: 25, linearIntervalMinutes: 2, bakeMinutes: 5 } as const;
  expect(strategyProblems(canaryService, request, 15 * 60)).toEqual([]);
  const [problem] = strategyProblems(canaryService, request, 10 * 60);
  expect(problem?.input).toBe('timeout');
  expect(problem?.problem).toContain('take 11 minutes');
  // The service's canary settings: 10 minutes of canary, no bake time.
  expect(strategyProblems(canaryService, {}, 10 * 60).map((p) => p.input)).toEqual(['timeout']);
});
