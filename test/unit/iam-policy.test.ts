// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the policies' placeholders are written ${Name}, as in Fn::Sub
// The policy generator, the condition evaluator, and the committed record (iam/observed.json) against the
// policies and the code.
import { describe, expect, it } from '@jest/globals';
import { allows, conditionHolds, type PolicyDocument, validatePolicy } from '../../emulator/iam.ts';
import { codePermissions, readActions } from '../../scripts/catalog.ts';
import {
  catalogPolicies,
  generalise,
  instantiate,
  observedLine,
  permissionOfLine,
  policyFor,
  readObserved,
  TAG_PREFIX,
  WILDCARDS,
} from '../../scripts/iam-policy.ts';

const OURS = {
  [`aws:ResourceTag/${TAG_PREFIX}managed-by`]: 'ecs-deploy-actions',
  [`aws:ResourceTag/${TAG_PREFIX}cluster`]: 'previews',
  [`aws:ResourceTag/${TAG_PREFIX}repository`]: 'acme/web',
  [`aws:ResourceTag/${TAG_PREFIX}environment`]: 'pr-7',
  [`aws:ResourceTag/${TAG_PREFIX}created-by-run`]: 'https://github.com/acme/web/actions/runs/1',
};

describe('the condition evaluator, operator by operator', () => {
  it('StringEquals and StringNotEquals: exact and case-sensitive; a missing key fails the first and passes the second', () => {
    expect(conditionHolds('StringEquals', ['a', 'b'], 'b')).toBe(true);
    expect(conditionHolds('StringEquals', 'a', 'A')).toBe(false);
    expect(conditionHolds('StringEquals', 'a', undefined)).toBe(false);
    expect(conditionHolds('StringNotEquals', 'a', 'b')).toBe(true);
    expect(conditionHolds('StringNotEquals', 'a', 'a')).toBe(false);
    expect(conditionHolds('StringNotEquals', 'a', undefined)).toBe(true);
  });

  it('StringLike: * and ? wildcards, across dots and slashes; IfExists passes a missing key', () => {
    expect(conditionHolds('StringLike', 'pr-*', 'pr-12')).toBe(true);
    expect(conditionHolds('StringLike', 'pr-?', 'pr-12')).toBe(false);
    expect(conditionHolds('StringLike', '*.preview.example.com', 'a.b.preview.example.com')).toBe(true);
    expect(conditionHolds('StringLike', 'pr-*', 'production')).toBe(false);
    expect(conditionHolds('StringLike', 'pr-*', undefined)).toBe(false);
    expect(conditionHolds('StringLikeIfExists', 'pr-*', undefined)).toBe(true);
    expect(conditionHolds('StringLikeIfExists', 'pr-*', 'production')).toBe(false);
    expect(conditionHolds('StringNotLike', 'pr-*', 'production')).toBe(true);
  });

  it('ArnLike and ArnEquals: each of the six ARN parts on its own, wildcards within a part', () => {
    const arn = 'arn:aws:ecs:us-east-1:123456789012:cluster/previews';
    expect(conditionHolds('ArnLike', 'arn:aws:ecs:*:*:cluster/previews', arn)).toBe(true);
    expect(conditionHolds('ArnEquals', 'arn:aws:ecs:*:*:cluster/previews', arn)).toBe(true);
    expect(conditionHolds('ArnLike', 'arn:aws:ecs:*:*:cluster/production', arn)).toBe(false);
    // A * stays within its part: it cannot swallow the region and the account.
    expect(conditionHolds('ArnLike', 'arn:aws:ecs:*:cluster/previews', arn)).toBe(false);
    expect(conditionHolds('ArnLike', 'arn:aws:ecs:*:*:cluster/*', 'not-an-arn')).toBe(false);
  });

  it('ForAllValues: every value of the list allowed, and true over no values; ForAnyValue: one is enough, none is not', () => {
    const names = ['pr-7.preview.example.com', 'pr-8.preview.example.com'];
    expect(conditionHolds('ForAllValues:StringLike', '*.preview.example.com', names)).toBe(true);
    expect(conditionHolds('ForAllValues:StringLike', '*.preview.example.com', [...names, 'www.example.com'])).toBe(false);
    expect(conditionHolds('ForAllValues:StringLike', '*.preview.example.com', undefined)).toBe(true);
    expect(conditionHolds('ForAllValues:StringEquals', ['A', 'TXT'], ['A', 'TXT'])).toBe(true);
    expect(conditionHolds('ForAllValues:StringEquals', ['A', 'TXT'], ['A', 'CNAME'])).toBe(false);
    expect(conditionHolds('ForAnyValue:StringEquals', 'secret', ['team', 'secret'])).toBe(true);
    expect(conditionHolds('ForAnyValue:StringLike', 'secret*', ['team'])).toBe(false);
    expect(conditionHolds('ForAnyValue:StringEquals', 'secret', undefined)).toBe(false);
  });

  it('Null: "true" wants the key absent, "false" present; Bool compares true and false', () => {
    expect(conditionHolds('Null', 'true', undefined)).toBe(true);
    expect(conditionHolds('Null', 'true', 'ecs-deploy-actions')).toBe(false);
    expect(conditionHolds('Null', 'false', 'ecs-deploy-actions')).toBe(true);
    expect(conditionHolds('Null', 'false', [])).toBe(false);
    expect(conditionHolds('Bool', 'true', 'true')).toBe(true);
    expect(conditionHolds('Bool', 'true', 'false')).toBe(false);
    expect(conditionHolds('BoolIfExists', 'true', undefined)).toBe(true);
  });

  it('ANDs operators and keys, matches condition keys without regard to case, and refuses what it cannot read', () => {
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'ecs:UpdateService',
          Resource: 'arn:aws:ecs:*:*:service/previews/*',
          Condition: {
            StringEquals: { [`aws:ResourceTag/${TAG_PREFIX}managed-by`]: 'ecs-deploy-actions' },
            StringLike: { [`AWS:RESOURCETAG/${TAG_PREFIX}ENVIRONMENT`]: 'pr-*', [`aws:ResourceTag/${TAG_PREFIX}repository`]: 'acme/web' },
          },
        },
      ],
    };
    const update = (context: Record<string, string>) =>
      allows(policy, { action: 'ecs:UpdateService', resource: 'arn:aws:ecs:us-east-1:1:service/previews/pr-7', context });
    expect(update(OURS)).toBe(true);
    expect(update({ ...OURS, [`aws:ResourceTag/${TAG_PREFIX}repository`]: 'acme/other' })).toBe(false);
    expect(update({ ...OURS, [`aws:ResourceTag/${TAG_PREFIX}environment`]: 'production' })).toBe(false);
    expect(update({})).toBe(false);
    expect(() => validatePolicy('x', { ...policy, Statement: [{ ...(policy.Statement[0] as object), Condition: { DateLessThan: {} } } as never] })).toThrow(
      /unsupported condition operator DateLessThan/,
    );
    expect(() =>
      validatePolicy('x', { ...policy, Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringLike: { 'aws:TagKeys': 'a*' } } }] }),
    ).toThrow(/aws:TagKeys holds a list: test it with ForAllValues: or ForAnyValue:/);
  });
});

describe('generalising', () => {
  it('names the resources the user chooses by placeholder, keeps the parts the actions impose, drops region and account', () => {
    expect(generalise('arn:aws:ecs:eu-west-1:123456789012:service/previews/pr-7')).toBe('arn:aws:ecs:*:*:service/${Cluster}/*');
    expect(generalise('arn:aws:ecs:eu-west-1:123456789012:cluster/previews')).toBe('arn:aws:ecs:*:*:cluster/${Cluster}');
    expect(generalise('arn:aws:ecs:us-east-1:123456789012:task-definition/previews-pr-7:*')).toBe('arn:aws:ecs:*:*:task-definition/*:*');
    expect(generalise('arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/shared/0a/1b/2c')).toBe(
      'arn:aws:elasticloadbalancing:*:*:listener-rule/app/${LoadBalancer}/*',
    );
    expect(generalise('arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/previews-pr-7/0a1b')).toBe(
      'arn:aws:elasticloadbalancing:*:*:targetgroup/*',
    );
    expect(generalise('arn:aws:logs:us-east-1:123456789012:log-group:/ecs/previews/pr-7:*')).toBe('arn:aws:logs:*:*:log-group:/ecs/${Cluster}/*');
    expect(generalise('arn:aws:logs:us-east-1:123456789012:log-group:/aws/ecs/web:log-stream:app/app/1')).toBe('arn:aws:logs:*:*:log-group:*:log-stream:*');
    expect(generalise('arn:aws:ecr:us-east-1:123456789012:repository/shop/web')).toBe('arn:aws:ecr:*:*:repository/${Repository}');
    expect(generalise('arn:aws:route53:::hostedzone/Z123')).toBe('arn:aws:route53:::hostedzone/${HostedZone}');
    expect(generalise('arn:aws:iam::123456789012:role/ecsTaskExecutionRole', 'ExecutionRole')).toBe('arn:aws:iam::*:role/${ExecutionRole}');
    expect(generalise('arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS')).toBe(
      'arn:aws:iam::*:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS',
    );
    expect(() => generalise('arn:aws:iam::123456789012:role/anything')).toThrow(/no pattern for the resource/);
    expect(() => generalise('arn:aws:s3:::bucket')).toThrow(/no pattern for the resource arn:aws:s3:::bucket/);
  });

  it('writes one line a permission: the condition keys policies test, values as placeholders, a list key once per value', () => {
    expect(
      observedLine({
        action: 'ecs:UpdateService',
        resource: 'arn:aws:ecs:us-east-1:123456789012:service/previews/pr-7',
        context: { ...OURS, 'ecs:cluster': 'arn:aws:ecs:us-east-1:123456789012:cluster/previews' },
      }),
    ).toBe(
      'ecs:UpdateService arn:aws:ecs:*:*:service/${Cluster}/*' +
        ' aws:ResourceTag/ecs-deploy-actions:cluster=${Cluster} aws:ResourceTag/ecs-deploy-actions:environment=${Environment}' +
        ' aws:ResourceTag/ecs-deploy-actions:managed-by=ecs-deploy-actions aws:ResourceTag/ecs-deploy-actions:repository=${GitHubRepository}' +
        ' ecs:cluster=arn:aws:ecs:*:*:cluster/${Cluster}',
    );
    const change = observedLine({
      action: 'route53:ChangeResourceRecordSets',
      resource: 'arn:aws:route53:::hostedzone/Z123',
      context: {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['pr-7.preview.example.com'],
        'route53:ChangeResourceRecordSetsRecordTypes': ['A', 'TXT'],
        'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
      },
    });
    expect(change).toBe(
      'route53:ChangeResourceRecordSets arn:aws:route53:::hostedzone/${HostedZone}' +
        ' route53:ChangeResourceRecordSetsActions=UPSERT route53:ChangeResourceRecordSetsNormalizedRecordNames=${HostPattern}' +
        ' route53:ChangeResourceRecordSetsRecordTypes=A route53:ChangeResourceRecordSetsRecordTypes=TXT',
    );
    expect(permissionOfLine(change).context?.['route53:ChangeResourceRecordSetsRecordTypes']).toEqual(['A', 'TXT']);
    expect(
      observedLine({
        action: 'iam:PassRole',
        resource: 'arn:aws:iam::123456789012:role/exec',
        context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
        role: 'TaskRole',
      }),
    ).toBe('iam:PassRole arn:aws:iam::*:role/${TaskRole} iam:PassedToService=ecs-tasks.amazonaws.com');
  });
});

describe('the policy of a set of lines', () => {
  const ours = (kind: string) =>
    ['cluster=${Cluster}', 'environment=${Environment}', 'managed-by=ecs-deploy-actions', 'repository=${GitHubRepository}']
      .map((pair) => ` aws:${kind}/ecs-deploy-actions:${pair}`)
      .join('');
  const tagConditions = (kind: string) => ({
    StringEquals: { [`aws:${kind}/ecs-deploy-actions:managed-by`]: 'ecs-deploy-actions' },
    StringLike: {
      [`aws:${kind}/ecs-deploy-actions:cluster`]: '${Cluster}',
      [`aws:${kind}/ecs-deploy-actions:environment`]: '${Environment}',
      [`aws:${kind}/ecs-deploy-actions:repository`]: '${GitHubRepository}',
    },
  });

  it('makes a change to an environment resource depend on its four ownership tags, a create on the tags it sets, reads on nothing', () => {
    const policy = policyFor([
      `ecs:UpdateService arn:aws:ecs:*:*:service/\${Cluster}/*${ours('ResourceTag')}`,
      `ecs:DescribeServices arn:aws:ecs:*:*:service/\${Cluster}/*${ours('ResourceTag')}`,
      `elasticloadbalancing:CreateTargetGroup arn:aws:elasticloadbalancing:*:*:targetgroup/*${ours('RequestTag')} aws:TagKeys=ecs-deploy-actions:*`,
      `elasticloadbalancing:AddTags arn:aws:elasticloadbalancing:*:*:targetgroup/*${ours('RequestTag')} aws:TagKeys=ecs-deploy-actions:* elasticloadbalancing:CreateAction=CreateTargetGroup`,
      'logs:TagResource arn:aws:logs:*:*:log-group:/ecs/${Cluster}/*',
    ]);
    expect(policy.Statement).toEqual([
      { Effect: 'Allow', Action: ['ecs:DescribeServices'], Resource: 'arn:aws:ecs:*:*:service/${Cluster}/*' },
      { Effect: 'Allow', Action: ['ecs:UpdateService'], Resource: 'arn:aws:ecs:*:*:service/${Cluster}/*', Condition: tagConditions('ResourceTag') },
      {
        Effect: 'Allow',
        Action: ['elasticloadbalancing:AddTags'],
        Resource: 'arn:aws:elasticloadbalancing:*:*:targetgroup/*',
        Condition: {
          'ForAllValues:StringLike': { 'aws:TagKeys': 'ecs-deploy-actions:*' },
          StringEquals: { ...tagConditions('RequestTag').StringEquals, 'elasticloadbalancing:CreateAction': 'CreateTargetGroup' },
          StringLike: tagConditions('RequestTag').StringLike,
        },
      },
      {
        Effect: 'Allow',
        Action: ['elasticloadbalancing:CreateTargetGroup'],
        Resource: 'arn:aws:elasticloadbalancing:*:*:targetgroup/*',
        Condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': 'ecs-deploy-actions:*' }, ...tagConditions('RequestTag') },
      },
      // Logs cannot test tags on create: tagging is kept off log groups someone already owns.
      {
        Effect: 'Allow',
        Action: ['logs:TagResource'],
        Resource: 'arn:aws:logs:*:*:log-group:/ecs/${Cluster}/*',
        Condition: { Null: { 'aws:ResourceTag/ecs-deploy-actions:managed-by': 'true' } },
      },
    ]);
  });

  it('drops a grant another allows already (an untagged service deployed to), merges values, lists the roles passed', () => {
    const policy = policyFor([
      `ecs:UpdateService arn:aws:ecs:*:*:service/\${Cluster}/*${ours('ResourceTag')} ecs:cluster=arn:aws:ecs:*:*:cluster/\${Cluster}`,
      'ecs:UpdateService arn:aws:ecs:*:*:service/${Cluster}/* ecs:cluster=arn:aws:ecs:*:*:cluster/${Cluster}',
      'iam:PassRole arn:aws:iam::*:role/${ExecutionRole} iam:PassedToService=ecs-tasks.amazonaws.com',
      'iam:PassRole arn:aws:iam::*:role/${TaskRole} iam:PassedToService=ecs-tasks.amazonaws.com',
      'iam:PassRole arn:aws:iam::*:role/${InfrastructureRole} iam:PassedToService=ecs.amazonaws.com',
      'route53:ChangeResourceRecordSets arn:aws:route53:::hostedzone/${HostedZone} route53:ChangeResourceRecordSetsRecordTypes=A',
      'route53:ChangeResourceRecordSets arn:aws:route53:::hostedzone/${HostedZone} route53:ChangeResourceRecordSetsRecordTypes=TXT',
    ]);
    expect(policy.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['ecs:UpdateService'],
        Resource: 'arn:aws:ecs:*:*:service/${Cluster}/*',
        Condition: { ArnLike: { 'ecs:cluster': 'arn:aws:ecs:*:*:cluster/${Cluster}' } },
      },
      {
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: 'arn:aws:iam::*:role/${InfrastructureRole}',
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs.amazonaws.com' } },
      },
      {
        Effect: 'Allow',
        Action: ['route53:ChangeResourceRecordSets'],
        Resource: 'arn:aws:route53:::hostedzone/${HostedZone}',
        Condition: { 'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['A', 'TXT'] } },
      },
      {
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: ['arn:aws:iam::*:role/${ExecutionRole}', 'arn:aws:iam::*:role/${TaskRole}'],
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
    ]);
  });

  it('fills placeholders in resources and conditions; a placeholder without a value is an error', () => {
    const policy = policyFor([`ecs:UpdateService arn:aws:ecs:*:*:service/\${Cluster}/*${ours('ResourceTag')}`]);
    const preview = instantiate(policy, { Cluster: 'previews', Environment: 'pr-*', GitHubRepository: 'acme/web' });
    expect(preview.Statement[0]).toMatchObject({
      Resource: 'arn:aws:ecs:*:*:service/previews/*',
      Condition: { StringLike: { 'aws:ResourceTag/ecs-deploy-actions:environment': 'pr-*', 'aws:ResourceTag/ecs-deploy-actions:repository': 'acme/web' } },
    });
    const update = (resource: string, context: Record<string, string>) => allows(preview, { action: 'ecs:UpdateService', resource, context });
    expect(update('arn:aws:ecs:us-east-1:1:service/previews/pr-7', OURS)).toBe(true);
    expect(update('arn:aws:ecs:us-east-1:1:service/production/pr-7', OURS)).toBe(false);
    // With wildcards, as the tests run, any cluster is fine but the tags must still be there and be ours.
    const anywhere = instantiate(policy, WILDCARDS);
    expect(allows(anywhere, { action: 'ecs:UpdateService', resource: 'arn:aws:ecs:us-east-1:1:service/production/web', context: OURS })).toBe(true);
    expect(allows(anywhere, { action: 'ecs:UpdateService', resource: 'arn:aws:ecs:us-east-1:1:service/production/web' })).toBe(false);
    expect(() => instantiate(policy, { Cluster: 'previews' })).toThrow('no value for the placeholder ${Environment}');
  });
});

// While `npm run iam` records, the committed record is the stale one it is about to replace.
const committed = process.env.ECS_DEPLOY_ACTIONS_IAM_RECORD ? describe.skip : describe;

committed('the committed record (iam/observed.json; `npm run iam` rewrites it)', () => {
  const observed = readObserved();
  const policies = catalogPolicies(observed);

  it('has every action, so none runs under an empty policy', () => {
    expect([...readActions().keys()].filter((action) => !observed[action]?.length)).toEqual([]);
  });

  it('is allowed, line by line, by the policy the catalog documents', () => {
    for (const [action, lines] of Object.entries(observed)) {
      for (const line of lines) {
        const allowed = allows(policies[action] ?? { Version: '2012-10-17', Statement: [] }, permissionOfLine(line));
        expect({ action, line, allowed }).toEqual({ action, line, allowed: true });
      }
    }
  });

  // The actions that change environments never change one without its four ownership tags.
  it('lets provision, scale and teardown change or delete a service, target group, rule or log group only with its tags', () => {
    const environmentResource = /:service\/|:targetgroup\/|:listener-rule\/|:log-group:\/ecs\//;
    // Reads change nothing; a create of a name that exists fails (log groups, services) or, for ELB, returns it
    // untouched; the tags a create sets are checked by its own tagging statement.
    const read = /^[a-z0-9-]+:(Describe|List|Get|Filter|Create)/;
    for (const action of ['provision-platform', 'scale-schedule', 'teardown-env']) {
      for (const statement of policies[action]?.Statement ?? []) {
        const changes = [statement.Action].flat().filter((a) => !read.test(a));
        const resources = [statement.Resource].flat().filter((r) => environmentResource.test(r));
        if (changes.length === 0 || resources.length === 0) continue;
        const keys = Object.values(statement.Condition ?? {}).flatMap((keys) => Object.keys(keys));
        const owned = ['managed-by', 'cluster', 'repository', 'environment'].every(
          (tag) => keys.includes(`aws:ResourceTag/${TAG_PREFIX}${tag}`) || keys.includes(`aws:RequestTag/${TAG_PREFIX}${tag}`),
        );
        const createOnly = keys.includes(`aws:ResourceTag/${TAG_PREFIX}managed-by`) && statement.Condition?.Null !== undefined;
        expect({ action, changes, resources, owned: owned || createOnly }).toEqual({ action, changes, resources, owned: true });
      }
    }
  });

  // What AWS authorizes besides the call the code makes: registry requests, roles passed, tags on create,
  // service-linked roles.
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
    'iam:CreateServiceLinkedRole',
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
