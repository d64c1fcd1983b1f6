import { describe, expect, test } from '@jest/globals';
import {
  currentRepository,
  environmentNames,
  fitName,
  identityOf,
  isOwnedBy,
  isProtected,
  MANAGED_BY,
  matchesPattern,
  ownership,
  ownershipTags,
  parsePullRequestTag,
  pullRequestTag,
  repositoryAllowed,
  runUrl,
  TAG_CLUSTER,
  TAG_ENVIRONMENT,
  TAG_MANAGED_BY,
  TAG_REPOSITORY,
} from '../../src/environment.ts';
import { prng } from '../helpers/prng.ts';

describe('names', () => {
  test('names read as cluster and environment, with a stable hash where names are region-wide', () => {
    expect(environmentNames('previews', 'pr-7')).toEqual({
      service: 'pr-7',
      family: 'previews_pr-7',
      targetGroup: expect.stringMatching(/^previews-pr-7-[0-9a-f]{6}$/),
      alternateTargetGroup: expect.stringMatching(/^previews-pr-7-alt-[0-9a-f]{6}$/),
      logGroup: '/ecs/previews/pr-7',
    });
  });
  test('team-c/pr-2 and team/c-pr-2 get names of their own, though their parts join alike', () => {
    const a = environmentNames('team-c', 'pr-2');
    const b = environmentNames('team', 'c-pr-2');
    expect(a.family).not.toBe(b.family);
    expect(a.targetGroup).not.toBe(b.targetGroup);
    expect(a.alternateTargetGroup).not.toBe(b.alternateTargetGroup);
    expect(a.logGroup).not.toBe(b.logGroup);
  });
  test('target group names fit 32 characters, stay distinct and stable, and never end in a hyphen', () => {
    const names = ['pr-1234-very-long-feature-branch-a', 'pr-1234-very-long-feature-branch-b'].flatMap((env) => {
      const { targetGroup, alternateTargetGroup } = environmentNames('team_previews-cluster', env);
      return [targetGroup, alternateTargetGroup];
    });
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(32);
      expect(name).toMatch(/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/);
    }
    expect(new Set(names).size).toBe(4);
    expect(environmentNames('team_previews-cluster', 'pr-1234-very-long-feature-branch-a').targetGroup).toBe(names[0]);
  });
  test('fitName keeps the start readable', () => {
    const fitted = fitName('abcdefghijklmnopqrstuvwxyz-abcdefghijklmnop', 20);
    expect(fitted).toHaveLength(20);
    expect(fitted.startsWith('abcdefghijkl')).toBe(true);
  });
});

describe('ownership', () => {
  const shop = { repository: 'acme/shop', cluster: 'team-d', environment: 'pr-2' };
  test('tags carry the whole identity, the manager and the creating run', () => {
    expect(ownershipTags(shop, 'https://github.com/acme/shop/actions/runs/1')).toEqual({
      [TAG_ENVIRONMENT]: 'pr-2',
      [TAG_CLUSTER]: 'team-d',
      [TAG_REPOSITORY]: 'acme/shop',
      [TAG_MANAGED_BY]: MANAGED_BY,
      'ecs-deploy-actions:created-by-run': 'https://github.com/acme/shop/actions/runs/1',
    });
    expect(identityOf(ownershipTags(shop, undefined))).toEqual(shop);
  });
  test('an environment owns only what carries all three parts of its identity', () => {
    const tagsOf = (identity: typeof shop) => ownershipTags(identity, undefined);
    expect(isOwnedBy(tagsOf(shop), shop)).toBe(true);
    expect(isOwnedBy(tagsOf({ ...shop, environment: 'pr-20' }), shop)).toBe(false);
    expect(isOwnedBy(tagsOf({ ...shop, cluster: 'team-c' }), shop)).toBe(false);
    expect(ownership(tagsOf({ ...shop, repository: 'acme/blog' }), shop)).toBe('other-repository');
    expect(ownership(tagsOf({ ...shop, cluster: 'team-c', repository: 'acme/blog' }), shop)).toBe('not-ours');
    // Only the environment tag, or another manager's: nobody's of ours.
    expect(ownership({ [TAG_ENVIRONMENT]: 'pr-2', [TAG_MANAGED_BY]: MANAGED_BY }, shop)).toBe('not-ours');
    expect(ownership({ ...tagsOf(shop), [TAG_MANAGED_BY]: 'terraform' }, shop)).toBe('not-ours');
  });
  test('the repository comes from GITHUB_REPOSITORY, and its absence is an error that says so', () => {
    expect(currentRepository({ GITHUB_REPOSITORY: 'acme/shop' })).toBe('acme/shop');
    expect(() => currentRepository({})).toThrow(/GITHUB_REPOSITORY is not set/);
    expect(() => currentRepository({ GITHUB_REPOSITORY: 'shop' })).toThrow(/not owner\/name/);
  });
  test('other repositories only when listed, or with *', () => {
    expect(repositoryAllowed('acme/shop', ['acme/blog'])).toBe(false);
    expect(repositoryAllowed('acme/shop', ['acme/blog', 'Acme/Shop'])).toBe(true);
    expect(repositoryAllowed('acme/shop', ['*'])).toBe(true);
  });
  test('run URL from the runner environment', () => {
    expect(runUrl({ GITHUB_SERVER_URL: 'https://ghe.example.com', GITHUB_REPOSITORY: 'acme/web', GITHUB_RUN_ID: '9' })).toBe(
      'https://ghe.example.com/acme/web/actions/runs/9',
    );
    expect(runUrl({})).toBeUndefined();
  });
});

describe('patterns', () => {
  test('globs match whole names only', () => {
    expect(matchesPattern('pr-12', 'pr-*')).toBe(true);
    expect(matchesPattern('xpr-12', 'pr-*')).toBe(false);
    expect(matchesPattern('pr-1', 'pr-?')).toBe(true);
    expect(matchesPattern('pr-10', 'pr-?')).toBe(false);
    expect(matchesPattern('prod', 'pr.d')).toBe(false);
  });
  test('protected environments', () => {
    expect(isProtected('prod', ['prod', 'production', 'staging'])).toBe(true);
    expect(isProtected('prod-eu', ['prod-*'])).toBe(true);
    expect(isProtected('pr-7', ['prod', 'production', 'staging'])).toBe(false);
    expect(isProtected('production-2', ['prod*', 'live'])).toBe(true);
    expect(isProtected('live', ['prod*', 'live'])).toBe(true);
    expect(isProtected('live-2', ['prod*', 'live'])).toBe(false);
    expect(isProtected('pr-7', ['prod*', 'live'])).toBe(false);
  });
  test('stars between repeated letters: answered at once, where a RegExp backtracks for minutes', () => {
    // A regression to a backtracking matcher hangs here (about 10 s at 34 letters, 20 times more per 5 letters).
    const pattern = '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b';
    expect(matchesPattern('a'.repeat(34), pattern)).toBe(false);
    expect(matchesPattern('a'.repeat(63), pattern)).toBe(false);
    expect(matchesPattern(`${'a'.repeat(62)}b`, pattern)).toBe(true);
    expect(matchesPattern(`${'a'.repeat(13)}b`, pattern)).toBe(false);
  });
  test('agrees with a RegExp glob on short names and patterns', () => {
    const random = prng(18);
    const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 5000; i++) {
      const name = pick('ab-', Math.floor(random() * 9));
      const pattern = pick('ab-*?', Math.floor(random() * 7));
      const reference = new RegExp(`^${pattern.replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      expect([name, pattern, matchesPattern(name, pattern)]).toEqual([name, pattern, reference.test(name)]);
    }
  });
});

describe('the pull-request tag', () => {
  test('round-trips, using only characters AWS allows in tag values', () => {
    const tag = pullRequestTag({ owner: 'acme', repo: 'web.site', number: 42 });
    expect(tag).toBe('acme/web.site/pull/42');
    expect(tag).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u);
    expect(parsePullRequestTag(tag)).toEqual({ owner: 'acme', repo: 'web.site', number: 42 });
  });
  test('anything else is no pull request: a sweep then goes by ttl only', () => {
    for (const value of [undefined, '', 'acme/web#42', 'acme/web/pull/0', 'acme/web/pull/x', 'pr-42']) expect(parsePullRequestTag(value)).toBeUndefined();
  });
});
