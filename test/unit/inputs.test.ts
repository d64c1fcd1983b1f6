import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { InputError } from '../../src/errors.ts';
import {
  arn,
  boolean,
  choice,
  duration,
  ecsName,
  ecsResource,
  environmentName,
  environmentPattern,
  formatSeconds,
  imageReference,
  integer,
  keyValue,
  list,
  optional,
  type Parser,
  percent,
  pullRequestReference,
  readInputs,
  repositoryName,
  required,
  runnerFile,
  secret,
  text,
  wholeMinutes,
  withDefault,
  workspacePath,
} from '../../src/inputs.ts';

const context = { input: 'the-input', region: 'us-east-1' };

function problemOf<T>(parse: Parser<T>, raw: string): string {
  try {
    parse(raw, context);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.input).toBe('the-input');
    expect(error.problems[0]?.fix).not.toBe('');
    return `${error.problems[0]?.problem} ${error.problems[0]?.fix}`;
  }
  throw new Error(`${JSON.stringify(raw)} was accepted`);
}

describe('duration', () => {
  const parse = duration({ min: 30, max: 6 * 3600 });
  test.each([
    ['90s', 90],
    ['10m', 600],
    ['1h30m', 5400],
    ['2h', 7200],
    ['1h0m30s', 3630],
  ])('%s is %i seconds', (raw, seconds) => expect(parse(raw, context)).toBe(seconds));
  test.each(['10', '10 minutes', '1.5h', '-5m', 'm', '10m1h', '1d', '10M', ' 5m'])('%j is refused with an example of the format', (raw) => {
    expect(problemOf(parse, raw)).toMatch(/90s, 10m or 1h30m/);
  });
  test('days, for time-to-live values', () => {
    const ttl = duration({ min: 600, max: 90 * 86400 });
    expect(ttl('7d', context)).toBe(7 * 86400);
    expect(ttl('1d12h', context)).toBe(36 * 3600);
    expect(problemOf(ttl, '91d')).toMatch(/out of range/);
  });
  test('out of range is refused with the range', () => {
    expect(problemOf(parse, '10s')).toMatch(/between 30s and 6h/);
    expect(problemOf(parse, '7h')).toMatch(/out of range/);
  });
  test('formats back', () => {
    expect(formatSeconds(5400)).toBe('1h30m');
    expect(formatSeconds(0)).toBe('0s');
  });
});

describe('boolean', () => {
  test.each(['true', 'True', 'TRUE'])('%s is true', (raw) => expect(boolean()(raw, context)).toBe(true));
  test.each(['false', 'False', 'FALSE'])('%s is false', (raw) => expect(boolean()(raw, context)).toBe(false));
  test.each(['yes', 'on', '1', 'tRuE', 'no', 'enabled'])('%j is refused', (raw) => expect(problemOf(boolean(), raw)).toMatch(/true or false/));
});

describe('list', () => {
  const subnets = list(text({ pattern: /^subnet-[0-9a-f]+$/ }));
  test('comma-separated, newline-separated and mixed, blanks and duplicates dropped', () => {
    expect(subnets('subnet-1a, subnet-2b', context)).toEqual(['subnet-1a', 'subnet-2b']);
    expect(subnets('subnet-1a\nsubnet-2b\n\nsubnet-1a\n', context)).toEqual(['subnet-1a', 'subnet-2b']);
    expect(subnets('subnet-1a\nsubnet-2b,subnet-3c', context)).toEqual(['subnet-1a', 'subnet-2b', 'subnet-3c']);
  });
  test('an item that is wrong is named', () => expect(problemOf(subnets, 'subnet-1a,sg-123')).toMatch(/"sg-123"/));
  test('only separators is an empty list', () => expect(problemOf(subnets, ' , \n ,')).toMatch(/empty list/));
  test('too many items', () => expect(problemOf(list(text(), { maxItems: 2 }), 'a,b,c')).toMatch(/3 items; at most 2/));
});

describe('names', () => {
  test('an over-long ECS name is refused with the limit', () => {
    expect(problemOf(ecsName('cluster'), 'c'.repeat(256))).toMatch(/256 characters long; at most 255/);
    expect(ecsName('cluster')('c'.repeat(255), context)).toHaveLength(255);
  });
  test.each(['my cluster', 'prod/blue', 'clüster', 'a.b', 'x;rm -rf /', '$(id)'])('ECS name %j with characters AWS rejects', (raw) => {
    expect(problemOf(ecsName('cluster'), raw)).toMatch(/letters, digits, hyphens and underscores/);
  });
  test.each(['pr-1', 'staging', 'a', 'pr-123-feature-x'])('environment %j is accepted', (raw) => expect(environmentName()(raw, context)).toBe(raw));
  test.each(['PR-1', 'pr_1', '1pr', 'pr-', '-pr', 'pr.1', 'prévu', 'pr 1', 'e'.repeat(64)])('environment %j is refused', (raw) => {
    problemOf(environmentName(), raw);
  });
  test('environment globs', () => {
    expect(environmentPattern()('pr-*', context)).toBe('pr-*');
    problemOf(environmentPattern(), 'pr-[0-9]');
  });
  test.each(['web', 'team/web', 'a.b_c-d/e', 'ab'])('repository %j is accepted', (raw) => expect(repositoryName()(raw, context)).toBe(raw));
  test.each(['Web', 'a', 'team//web', '/web', 'web/', 'we b', 'web:latest', 'r'.repeat(257)])('repository %j is refused', (raw) => {
    problemOf(repositoryName(), raw);
  });
  test.each(['nginx:1.27', '123456789012.dkr.ecr.us-east-1.amazonaws.com/web:sha-abc', `web@sha256:${'a'.repeat(64)}`, '127.0.0.1:5000/web:pr-1'])(
    'image %j is accepted',
    (raw) => expect(imageReference()(raw, context)).toBe(raw),
  );
  test.each(['nginx:', 'Nginx', 'web@sha256:xyz', 'web:tag with space'])('image %j is refused', (raw) => {
    problemOf(imageReference(), raw);
  });
});

describe('ARNs', () => {
  const listener = arn('elasticloadbalancing', 'listener/app/', 'an ALB listener');
  const good = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2';
  test('a listener ARN in the region is accepted', () => expect(listener(good, context)).toBe(good));
  test('not an ARN', () => expect(problemOf(listener, 'listener/app/shared')).toMatch(/is not an ARN/));
  test('an ARN of another service', () => expect(problemOf(listener, 'arn:aws:ecs:us-east-1:123456789012:cluster/x')).toMatch(/names ecs:cluster/));
  test('a target group ARN is not a listener ARN', () => {
    expect(problemOf(listener, 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/abc')).toMatch(/names elasticloadbalancing:targetgroup/);
  });
  test('an ARN in another region names both regions', () => {
    expect(problemOf(listener, good.replace('us-east-1', 'eu-west-1'))).toMatch(/in eu-west-1, but this step runs in us-east-1/);
  });
  test('the partition must be that of the region', () => {
    expect(problemOf(listener, good.replace('arn:aws:', 'arn:aws-cn:'))).toMatch(/partition aws-cn, but this step runs in us-east-1 \(partition aws\)/);
    const china = 'arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2';
    expect(listener(china, { ...context, region: 'cn-north-1' })).toBe(china);
  });
  test('an account, a region (none for IAM) and a resource of ARN characters', () => {
    const role = arn('iam', 'role/', 'an IAM role');
    expect(role('arn:aws:iam::123456789012:role/path/app+x=y,z.a@b_c-d', context)).toBe('arn:aws:iam::123456789012:role/path/app+x=y,z.a@b_c-d');
    expect(problemOf(listener, good.replace('123456789012', ''))).toMatch(/names no account/);
    expect(problemOf(listener, good.replace('us-east-1', ''))).toMatch(/names no region/);
    expect(problemOf(role, 'arn:aws:iam:us-east-1:123456789012:role/app')).toMatch(/names a region; IAM ARNs name none/);
    expect(problemOf(listener, `${good}/$(id)`)).toMatch(/has characters no ARN of an ALB listener has/);
    expect(problemOf(listener, `${good}\u200b`)).toMatch(/has characters/);
    expect(problemOf(listener, `${good}${'a'.repeat(3000)}`)).toMatch(/at most 2048/);
  });
});

describe('tokens', () => {
  const token = secret();
  test('visible ASCII is a token', () => expect(token('ghs_abc123', context)).toBe('ghs_abc123'));
  test.each(['a b', 'ghs_\u00e9', 'x\n::error::y', 'x\u0007', 'a'.repeat(1025)])('%j is refused without showing it', (raw) => {
    expect(problemOf(token, raw)).not.toContain(raw);
  });
});

describe('other parsers', () => {
  test('integer bounds and junk', () => {
    const count = integer({ min: 0, max: 5000 });
    expect(count('0', context)).toBe(0);
    expect(problemOf(count, '1.5')).toMatch(/whole number/);
    expect(problemOf(count, '5001')).toMatch(/out of range/);
    expect(problemOf(count, '1e3')).toMatch(/whole number/);
  });
  test('choice is case-insensitive and returns the canonical spelling', () => {
    expect(choice(['MUTABLE', 'IMMUTABLE'] as const)('immutable', context)).toBe('IMMUTABLE');
    expect(problemOf(choice(['off', 'warn', 'fail'] as const), 'strict')).toMatch(/off, warn, fail/);
  });
  test('NAME=value pairs keep = in values', () => {
    expect(keyValue()('DATABASE_URL=postgres://h/db?a=b', context)).toEqual(['DATABASE_URL', 'postgres://h/db?a=b']);
    expect(problemOf(keyValue(), '=value')).toMatch(/NAME=value/);
    expect(problemOf(keyValue(), 'no equals sign')).toMatch(/NAME=value/);
  });
  test('pull requests as 12, #12 or owner/repo#12', () => {
    expect(pullRequestReference()('12', context)).toEqual({ owner: undefined, repo: undefined, number: 12 });
    expect(pullRequestReference()('#12', context)).toEqual({ owner: undefined, repo: undefined, number: 12 });
    expect(pullRequestReference()('acme/web.site#12', context)).toEqual({ owner: 'acme', repo: 'web.site', number: 12 });
    expect(problemOf(pullRequestReference(), 'acme/web')).toMatch(/owner\/repo#123/);
    problemOf(pullRequestReference(), '0');
  });
  test('paths stay inside the workspace', () => {
    expect(workspacePath()('services/web', context)).toBe('services/web');
    problemOf(workspacePath(), '/etc/passwd');
    problemOf(workspacePath(), 'a/../../b');
  });
});

describe('paths on the runner', () => {
  // A runner's layout: the checkout, RUNNER_TEMP beside it, and a secret elsewhere.
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'inputs-paths-')));
  const env = { GITHUB_WORKSPACE: join(base, 'work'), RUNNER_TEMP: join(base, 'temp') };
  for (const dir of ['work/app', 'temp', 'elsewhere']) mkdirSync(join(base, dir), { recursive: true });
  writeFileSync(join(base, 'work/app/task-definition.json'), '{}');
  writeFileSync(join(base, 'temp/task-definition-x1.json'), '{}');
  writeFileSync(join(base, 'elsewhere/secret.json'), '{}');
  symlinkSync(join(base, 'elsewhere'), join(base, 'work/app/linked'));
  symlinkSync(join(base, 'elsewhere/secret.json'), join(base, 'work/app/td.json'));
  symlinkSync(join(base, 'temp'), join(base, 'work/app/temp'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  test('a symlink in the workspace that leads outside it is refused, for a file and for a directory on the way', () => {
    expect(problemOf(runnerFile(env), 'app/td.json')).toContain(
      `"app/td.json" is outside the workspace and RUNNER_TEMP (it leads to "${base}/elsewhere/secret.json")`,
    );
    expect(problemOf(runnerFile(env), 'app/linked/secret.json')).toContain('is outside the workspace and RUNNER_TEMP');
    expect(problemOf(workspacePath(env), 'app/linked')).toContain(
      `"app/linked" leads through a symlink to "${base}/elsewhere", outside the workspace and RUNNER_TEMP`,
    );
    expect(problemOf(workspacePath(env), 'app/linked/not-yet-there')).toContain('outside the workspace and RUNNER_TEMP');
  });
  test('a file in the workspace or under RUNNER_TEMP is taken, as its real absolute path', () => {
    expect(runnerFile(env)('app/task-definition.json', context)).toBe(join(base, 'work/app/task-definition.json'));
    expect(runnerFile(env)(join(base, 'temp/task-definition-x1.json'), context)).toBe(join(base, 'temp/task-definition-x1.json'));
    expect(runnerFile(env)('app/temp/task-definition-x1.json', context)).toBe(join(base, 'temp/task-definition-x1.json'));
    expect(workspacePath(env)('app', context)).toBe('app');
  });
  test('anywhere else is refused, naming the input and where files may be', () => {
    const problem = problemOf(runnerFile(env), join(base, 'elsewhere/secret.json'));
    expect(problem).toBe(
      `"${base}/elsewhere/secret.json" is outside the workspace and RUNNER_TEMP. give a file in the workspace (relative to the repository root) or under RUNNER_TEMP, such as the output of amazon-ecs-render-task-definition.`,
    );
    problemOf(runnerFile(env), '/etc/passwd');
    problemOf(runnerFile(env), `${base}/temp/../elsewhere/secret.json`);
    expect(problemOf(runnerFile(env), 'app/missing.json')).toContain('"app/missing.json" is not a file.');
    expect(problemOf(runnerFile(env), 'app')).toContain('"app" is not a file.');
  });
});

describe('readInputs', () => {
  const spec = {
    cluster: required(ecsName('cluster')),
    'dry-run': withDefault('false', boolean()),
    'desired-count': optional(integer({ min: 0, max: 10 })),
  };
  const reader = (values: Record<string, string>) => (name: string) => values[name] ?? '';

  test('types, defaults and camelCase names', () => {
    const config = readInputs(spec, reader({ cluster: 'previews', 'desired-count': '0' }), 'us-east-1');
    expect(config).toEqual({ cluster: 'previews', dryRun: false, desiredCount: 0 });
  });
  test('whitespace-only counts as not given', () => {
    expect(() => readInputs(spec, reader({ cluster: '  \n ' }), 'us-east-1')).toThrow(/Input "cluster": is required/);
  });
  test('every bad input is reported at once', () => {
    try {
      readInputs(spec, reader({ 'dry-run': 'maybe', 'desired-count': '11' }), 'us-east-1');
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).problems.map((p) => p.input)).toEqual(['cluster', 'dry-run', 'desired-count']);
    }
  });
  test('ARNs of one step in two accounts: the inputs outside the account most name are refused', () => {
    const roles = { a: optional(arn('iam', 'role/', 'an IAM role')), b: optional(arn('iam', 'role/', 'an IAM role')), c: optional(ecsResource('cluster')) };
    const mine = 'arn:aws:iam::123456789012:role/x';
    const theirs = 'arn:aws:iam::999999999999:role/x';
    expect(readInputs(roles, reader({ a: mine, b: mine, c: 'arn:aws:ecs:us-east-1:123456789012:cluster/previews' }), 'us-east-1').c).toBe('previews');
    expect(() => readInputs(roles, reader({ a: mine, b: theirs, c: 'arn:aws:ecs:us-east-1:123456789012:cluster/previews' }), 'us-east-1')).toThrow(
      /^Input "b": names account 999999999999, but the ARNs of this step are not all in one account \(a, c in 123456789012; b in 999999999999\)\.$/,
    );
    // A tie names both sides.
    expect(() => readInputs(roles, reader({ a: mine, b: theirs }), 'us-east-1')).toThrow(
      /Input "a": names account 123456789012.*\nInput "b": names account 999999999999/s,
    );
  });
});

describe('clusters and services by name or ARN', () => {
  test('an ARN gives the name; long and old service ARN forms', () => {
    expect(ecsResource('cluster')('arn:aws:ecs:us-east-1:123456789012:cluster/previews', context)).toBe('previews');
    expect(ecsResource('service')('arn:aws:ecs:us-east-1:123456789012:service/previews/web', context)).toBe('web');
    expect(ecsResource('service')('arn:aws:ecs:us-east-1:123456789012:service/web', context)).toBe('web');
    expect(ecsResource('cluster')('previews', context)).toBe('previews');
  });
  test('an ARN of another resource or region is refused', () => {
    expect(problemOf(ecsResource('cluster'), 'arn:aws:ecs:us-east-1:123456789012:service/previews/web')).toMatch(/not the ARN of an ECS cluster/);
    expect(problemOf(ecsResource('cluster'), 'arn:aws:ecs:eu-west-1:123456789012:cluster/previews')).toMatch(/in eu-west-1/);
  });
});

describe('deployment strategy settings', () => {
  test('bake times are whole minutes, as ECS counts them', () => {
    expect(wholeMinutes({ max: 1440 })('10m', context)).toBe(10);
    expect(wholeMinutes({ max: 1440 })('1h30m', context)).toBe(90);
    expect(wholeMinutes({ max: 1440 })('0m', context)).toBe(0);
    expect(problemOf(wholeMinutes({ max: 1440 }), '90s')).toMatch(/not a whole number of minutes/);
    expect(problemOf(wholeMinutes({ max: 1440 }), '2d')).toMatch(/out of range/);
    // A bare number is minutes, as ECS's bakeTimeInMinutes reads.
    expect(wholeMinutes({ max: 1440 })('10', context)).toBe(10);
    expect(problemOf(wholeMinutes({ max: 1440 }), '1441')).toMatch(/out of range/);
    expect(problemOf(wholeMinutes({ max: 1440 }), '1.5')).toMatch(/not a duration/);
  });
  test('traffic shares in tenths of a percent, with or without %', () => {
    expect(percent({ min: 0.1, max: 100 })('10', context)).toBe(10);
    expect(percent({ min: 0.1, max: 100 })('12.5%', context)).toBe(12.5);
    expect(problemOf(percent({ min: 3, max: 100 }), '2')).toMatch(/out of range/);
    expect(problemOf(percent({ min: 0.1, max: 100 }), '0.05')).toMatch(/not a percentage/);
    expect(problemOf(percent({ min: 0.1, max: 100 }), 'ten')).toMatch(/not a percentage/);
    expect(problemOf(percent({ min: 0.1, max: 100 }), '101')).toMatch(/out of range/);
  });
});
