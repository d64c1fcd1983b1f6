// scale-schedule's decisions, from what AWS returned: which environments, and per service what to do.
import type { Service } from '@aws-sdk/client-ecs';
import { describe, expect, test } from '@jest/globals';
import { ownershipTags } from '../../src/environment.ts';
import { ActionError } from '../../src/errors.ts';
import { planService, selectEnvironments } from '../../src/scale/plan.ts';

const DESIRED = 'ecs-deploy-actions:asleep-desired-count';
const MIN = 'ecs-deploy-actions:asleep-min-capacity';
const MAX = 'ecs-deploy-actions:asleep-max-capacity';

function service(name: string, desiredCount: number, extraTags: Record<string, string> = {}, owned = true): Service {
  const tags = { ...(owned ? ownershipTags({ repository: 'acme/web', cluster: 'previews', environment: name }, undefined) : {}), ...extraTags };
  return {
    serviceName: name,
    serviceArn: `arn:aws:ecs:us-east-1:123456789012:service/previews/${name}`,
    desiredCount,
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
  };
}

describe('selecting environments', () => {
  const services = ['pr-1', 'pr-2', 'pr-10', 'staging', 'prod'].map((name) => service(name, 1)).concat(service('pr-3', 1, {}, false));
  const select = (patterns: string[], exclude: string[] = []) =>
    selectEnvironments(services, {
      cluster: 'previews',
      repository: 'acme/web',
      repositories: ['acme/web'],
      patterns,
      exclude,
      protectedPatterns: ['prod', 'production', 'staging'],
    });

  test('by glob, only through our tags', () => {
    const selection = select(['pr-*']);
    expect([...selection.environments.keys()]).toEqual(['pr-1', 'pr-10', 'pr-2']);
    expect(selection.notFound).toEqual([]);
  });
  test('protected environments only when named exactly', () => {
    expect(select(['*']).protectedSkipped).toEqual(['prod', 'staging']);
    expect([...select(['*']).environments.keys()]).not.toContain('staging');
    expect([...select(['staging', 'pr-*']).environments.keys()]).toContain('staging');
    expect(select(['staging', 'pr-*']).protectedSkipped).toEqual([]);
    expect(select(['stag*']).protectedSkipped).toEqual(['staging']);
  });
  test('exclude wins, and exact names nobody carries are reported', () => {
    const selection = select(['pr-*', 'pr-3', 'pr-99'], ['pr-1?']);
    expect([...selection.environments.keys()]).toEqual(['pr-1', 'pr-2']);
    expect(selection.excluded).toEqual(['pr-10']);
    // pr-3 exists, but is not ours.
    expect(selection.notFound).toEqual(['pr-3', 'pr-99']);
  });
});

describe('planning sleep', () => {
  test('records the counts and limits, then everything goes to 0', () => {
    const plan = planService('sleep', 'pr-1', service('pr-1', 3), { min: 2, max: 5 });
    expect(plan).toMatchObject({ action: 'sleep', from: { desired: 3, min: 2, max: 5 }, to: { desired: 0, min: 0, max: 0 }, tasks: 3 });
    expect(plan.record).toEqual({ [DESIRED]: '3', [MIN]: '2', [MAX]: '5' });
  });
  test('without a scalable target only the desired count is recorded', () => {
    const plan = planService('sleep', 'pr-1', service('pr-1', 2), undefined);
    expect(plan.record).toEqual({ [DESIRED]: '2' });
    expect(plan.to).toEqual({ desired: 0 });
  });
  test('asleep already: nothing to do', () => {
    const plan = planService('sleep', 'pr-1', service('pr-1', 0, { [DESIRED]: '2', [MIN]: '1', [MAX]: '4' }), { min: 0, max: 0 });
    expect(plan).toMatchObject({ action: 'none', note: 'already asleep', tasks: 0 });
  });
  test('at 0 without a record (scaled down by hand): nothing to do, nothing recorded', () => {
    expect(planService('sleep', 'pr-1', service('pr-1', 0), undefined)).toMatchObject({ action: 'none', record: undefined });
  });
  test('half asleep: the recorded counts are kept, never overwritten with zeros', () => {
    // Tags written, limits set to 0, and auto scaling already took the service to 0 before UpdateService.
    const recorded = { [DESIRED]: '3', [MIN]: '2', [MAX]: '5' };
    const plan = planService('sleep', 'pr-1', service('pr-1', 3, recorded), { min: 2, max: 5 });
    expect(plan).toMatchObject({ action: 'sleep', note: 'finishing an interrupted sleep', record: undefined, to: { desired: 0, min: 0, max: 0 }, tasks: 3 });
    expect(planService('sleep', 'pr-1', service('pr-1', 0, recorded), { min: 0, max: 0 }).action).toBe('none');
  });
  test('a scalable target added while asleep has its limits recorded before they go to 0', () => {
    const plan = planService('sleep', 'pr-1', service('pr-1', 1, { [DESIRED]: '2' }), { min: 1, max: 4 });
    expect(plan.record).toEqual({ [MIN]: '1', [MAX]: '4' });
    expect(plan.from).toEqual({ desired: 2, min: 1, max: 4 });
  });
  test('an unreadable record fails this service with the tag and the fix', () => {
    expect(() => planService('sleep', 'pr-1', service('pr-1', 2, { [DESIRED]: 'two' }), undefined)).toThrow(ActionError);
    expect(() => planService('wake', 'pr-1', service('pr-1', 0, { [DESIRED]: '-1' }), undefined)).toThrow(/asleep-desired-count="-1"/);
  });
});

describe('planning wake', () => {
  test('restores exactly what was recorded and forgets it', () => {
    const plan = planService('wake', 'pr-1', service('pr-1', 0, { [DESIRED]: '3', [MIN]: '2', [MAX]: '5' }), { min: 0, max: 0 });
    expect(plan).toMatchObject({ action: 'wake', from: { desired: 0, min: 0, max: 0 }, to: { desired: 3, min: 2, max: 5 }, tasks: 3 });
    expect(plan.forget.sort()).toEqual([DESIRED, MAX, MIN]);
  });
  test('awake (nothing recorded): nothing to do, even at 0', () => {
    expect(planService('wake', 'pr-1', service('pr-1', 2), { min: 1, max: 4 })).toMatchObject({ action: 'none', forget: [] });
    expect(planService('wake', 'pr-1', service('pr-1', 0), undefined).action).toBe('none');
  });
  test('a scalable target gone while asleep: the desired count comes back, the target is not recreated', () => {
    const plan = planService('wake', 'pr-1', service('pr-1', 0, { [DESIRED]: '2', [MIN]: '1', [MAX]: '4' }), undefined);
    expect(plan).toMatchObject({ action: 'wake', to: { desired: 2 }, note: 'scalable target gone: desired count restored only' });
  });
});
