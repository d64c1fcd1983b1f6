// The policy generator, and the committed record (iam/observed.json) against the policies and the code.
import { describe, expect, it } from '@jest/globals';
import { allows } from '../../emulator/iam.ts';
import { codePermissions, readActions } from '../../scripts/catalog.ts';
import { documentedPolicies, generalise, observedLine, policyFor, readObserved } from '../../scripts/iam-policy.ts';

describe('generalising', () => {
  it('keeps the shape of each ARN and the prefixes the actions impose, not names, region or account', () => {
    expect(generalise('arn:aws:ecs:eu-west-1:123456789012:service/previews/pr-7')).toBe('arn:aws:ecs:*:*:service/*/*');
    expect(generalise('arn:aws:ecs:us-east-1:123456789012:task-definition/previews-pr-7:*')).toBe('arn:aws:ecs:*:*:task-definition/*:*');
    expect(generalise('arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/shared/0a/1b/2c')).toBe(
      'arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*/*',
    );
    expect(generalise('arn:aws:logs:us-east-1:123456789012:log-group:/ecs/previews/pr-7')).toBe('arn:aws:logs:*:*:log-group:/ecs/*');
    expect(generalise('arn:aws:logs:us-east-1:123456789012:log-group:/ecs/previews/pr-7:*')).toBe('arn:aws:logs:*:*:log-group:/ecs/*');
    expect(generalise('arn:aws:logs:us-east-1:123456789012:log-group:/aws/ecs/web:log-stream:app/app/1')).toBe('arn:aws:logs:*:*:log-group:*:log-stream:*');
    expect(generalise('arn:aws:iam::123456789012:role/ecsTaskExecutionRole')).toBe('arn:aws:iam::*:role/*');
    expect(() => generalise('arn:aws:s3:::bucket')).toThrow(/no pattern for the resource arn:aws:s3:::bucket/);
  });

  it('writes one line a permission, with the context it was asked with', () => {
    expect(
      observedLine({ action: 'iam:PassRole', resource: 'arn:aws:iam::123456789012:role/exec', context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } }),
    ).toBe('iam:PassRole arn:aws:iam::*:role/* iam:PassedToService=ecs-tasks.amazonaws.com');
  });
});

describe('the policy of a set of lines', () => {
  it('groups actions by resources and condition, drops patterns a broader one covers, merges condition values', () => {
    const policy = policyFor([
      'ecs:UpdateService arn:aws:ecs:*:*:service/*/*',
      'ecs:DescribeServices arn:aws:ecs:*:*:service/*/*',
      'ecs:DescribeTaskDefinition *',
      'logs:DescribeLogGroups arn:aws:logs:*:*:log-group:*',
      'logs:DescribeLogGroups *',
      'ecs:TagResource arn:aws:ecs:*:*:task/*/* ecs:CreateAction=RunTask',
      'ecs:TagResource arn:aws:ecs:*:*:task/*/* ecs:CreateAction=StartTask',
      'ecs:TagResource arn:aws:ecs:*:*:task-definition/*:* ecs:CreateAction=RegisterTaskDefinition',
      'elasticloadbalancing:AddTags arn:aws:elasticloadbalancing:*:*:targetgroup/*/* elasticloadbalancing:CreateAction=CreateTargetGroup',
      'elasticloadbalancing:AddTags arn:aws:elasticloadbalancing:*:*:targetgroup/*/*',
    ]);
    const tagOnCreate = (resource: string, values: string | string[]) => ({
      Effect: 'Allow',
      Action: ['ecs:TagResource'],
      Resource: resource,
      Condition: { StringEquals: { 'ecs:CreateAction': values } },
    });
    expect(policy.Statement).toEqual([
      { Effect: 'Allow', Action: ['ecs:DescribeTaskDefinition', 'logs:DescribeLogGroups'], Resource: '*' },
      { Effect: 'Allow', Action: ['ecs:DescribeServices', 'ecs:UpdateService'], Resource: 'arn:aws:ecs:*:*:service/*/*' },
      tagOnCreate('arn:aws:ecs:*:*:task-definition/*:*', 'RegisterTaskDefinition'),
      tagOnCreate('arn:aws:ecs:*:*:task/*/*', ['RunTask', 'StartTask']),
      { Effect: 'Allow', Action: ['elasticloadbalancing:AddTags'], Resource: 'arn:aws:elasticloadbalancing:*:*:targetgroup/*/*' },
    ]);
  });
});

// While `npm run iam` records, the committed record is the stale one it is about to replace.
const committed = process.env.ECS_DEPLOY_ACTIONS_IAM_RECORD ? describe.skip : describe;

committed('the committed record (iam/observed.json; `npm run iam` rewrites it)', () => {
  const observed = readObserved();
  const policies = documentedPolicies(observed);

  it('has every action, so none runs under an empty policy', () => {
    expect([...readActions().keys()].filter((action) => !observed[action]?.length)).toEqual([]);
  });

  it('is allowed, line by line, by the policy the catalog documents', () => {
    for (const [action, lines] of Object.entries(observed)) {
      for (const line of lines) {
        const [permission = '', resource = '', ...context] = line.split(' ');
        const request = { action: permission, resource, context: Object.fromEntries(context.map((pair) => pair.split('=', 2))) };
        expect({ action, line, allowed: allows(policies[action] ?? { Version: '2012-10-17', Statement: [] }, request) }).toEqual({
          action,
          line,
          allowed: true,
        });
      }
    }
  });

  // What AWS authorizes besides the call the code makes: registry requests, roles passed, tags on create.
  const besidesTheCall = new Set([
    'ecr:BatchCheckLayerAvailability',
    'ecr:InitiateLayerUpload',
    'ecr:UploadLayerPart',
    'ecr:CompleteLayerUpload',
    'ecr:PutImage',
    'ecr:BatchGetImage',
    'ecr:GetDownloadUrlForLayer',
    'ecr:TagResource',
    'iam:PassRole',
    'ecs:TagResource',
    'elasticloadbalancing:AddTags',
    'logs:TagResource',
    'application-autoscaling:TagResource',
  ]);

  it('names only permissions the code asks for, or that AWS asks for besides a call', () => {
    for (const [action, lines] of Object.entries(observed)) {
      const code = new Set(codePermissions(action));
      const unexplained = [...new Set(lines.map((line) => line.split(' ')[0] ?? ''))].filter((p) => !code.has(p) && !besidesTheCall.has(p));
      expect({ action, unexplained }).toEqual({ action, unexplained: [] });
    }
  });
});
