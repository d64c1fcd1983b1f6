// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are GitHub expressions in workflow fixtures, not JavaScript templates
// The workflow security rules (test/workflow/security.ts) over this repository's workflows and the
// examples users copy, and each rule on a small bad workflow that it must catch.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { root } from '../helpers/run-bundle.ts';
import { STS_AUDIENCE, trusts } from './oidc.ts';
import { checkRoleVariables, checkWorkflow, type Finding, type Rule } from './security.ts';

function folder(dir: string): { file: string; source: string }[] {
  const path = join(root, dir);
  return existsSync(path)
    ? readdirSync(path)
        .filter((file) => /\.ya?ml$/.test(file))
        .map((file) => ({ file: `${dir}/${file}`, source: readFileSync(join(path, file), 'utf8') }))
    : [];
}

const FOLDERS = ['.github/workflows', 'workflows-examples'];

describe.each(FOLDERS)('%s', (dir) => {
  const files = folder(dir);

  test('has workflows to check', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  test.each(files.map(({ file, source }) => [file, source]))('%s breaks no rule', (file, source) => {
    expect(checkWorkflow(file, source).map(({ rule, message }) => `${rule}: ${message}`)).toEqual([]);
  });

  test('no role variable serves both previews and production', () => {
    expect(checkRoleVariables(files)).toEqual([]);
  });
});

// A workflow that breaks nothing; each case below changes one thing in it.
const CLEAN = `name: clean
on:
  pull_request:
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      id-token: write
      pull-requests: write
    steps:
      - uses: actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2
        with:
          persist-credentials: false
      - uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3
        with:
          role-to-assume: \${{ vars.AWS_PREVIEW_ROLE_ARN }}
          aws-region: us-east-1
      - id: provision
        uses: OWNER/ecs-deploy-actions/actions/provision-platform@v1
        with:
          environment: pr-\${{ github.event.pull_request.number }}
          github-token: \${{ github.token }}
      - uses: ./actions/local
      - env:
          URL: \${{ steps.provision.outputs.url }}
          BRANCH: \${{ github.head_ref }}
        run: echo "$URL on $BRANCH by \${{ github.actor }} in \${{ github.repository }}"
`;

function rules(source: string): Rule[] {
  return checkWorkflow('fixture.yml', source).map((finding: Finding) => finding.rule);
}

function changed(from: string, to: string): string {
  if (!CLEAN.includes(from)) throw new Error(`the clean fixture has no ${from}`);
  return CLEAN.replace(from, to);
}

test('the clean fixture breaks no rule', () => {
  expect(rules(CLEAN)).toEqual([]);
});

describe('each rule fires on a workflow that breaks it', () => {
  test.each([
    ['a step output in run:', 'run: echo "$URL', 'run: echo "${{ steps.provision.outputs.url }}'],
    ['event data in run:', 'run: echo "$URL', 'run: echo "${{ github.event.pull_request.title }}'],
    ['github.head_ref in run:', 'run: echo "$URL', 'run: git push origin "${{ github.head_ref }}'],
    ['an input in run:', 'run: echo "$URL', 'run: echo "${{ inputs.revision }}'],
    ["another job's output in run:", 'run: echo "$URL', 'run: echo "${{ needs.build.outputs.image }}'],
  ])('expression-in-run: %s', (_case, from, to) => {
    expect(rules(changed(from, to))).toEqual(['expression-in-run']);
  });

  test('permissions-missing: no top-level permissions', () => {
    expect(rules(changed('permissions: {}\n', ''))).toEqual(['permissions-missing']);
  });

  test.each([
    ['write at the top', 'permissions: {}\n', 'permissions:\n  contents: write\n'],
    ['write-all at the top', 'permissions: {}\n', 'permissions: write-all\n'],
    ['write-all on a job', '    permissions:\n      contents: read\n      id-token: write\n      pull-requests: write\n', '    permissions: write-all\n'],
    ['a write no example needs', '      pull-requests: write\n', '      pull-requests: write\n      packages: write\n'],
  ])('permissions-broad: %s', (_case, from, to) => {
    expect(rules(changed(from, to))).toContain('permissions-broad');
  });

  test.each([
    ['id-token without AWS credentials', '          role-to-assume: ${{ vars.AWS_PREVIEW_ROLE_ARN }}\n', ''],
    ['pull-requests without a github-token', '          github-token: ${{ github.token }}\n', ''],
    ['contents: write with nothing to push', '      contents: read\n', '      contents: write\n'],
  ])('permission-unused: %s', (_case, from, to) => {
    expect(rules(changed(from, to))).toContain('permission-unused');
  });

  test.each([
    ['a major tag', 'actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2', 'actions/checkout@v5'],
    ['a branch', 'aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3', 'aws-actions/configure-aws-credentials@main'],
    ['a short SHA', 'actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2', 'actions/checkout@08c6903'],
    ['someone else named ecs-deploy-actions, outside actions/', 'OWNER/ecs-deploy-actions/actions/provision-platform@v1', 'OWNER/ecs-deploy-actions@v1'],
  ])('unpinned-action: %s', (_case, from, to) => {
    expect(rules(changed(from, to))).toContain('unpinned-action');
  });

  test('pin-without-version: a SHA with no version comment', () => {
    expect(rules(changed(' # v6.0.2', ''))).toEqual(['pin-without-version']);
  });

  test('pull-request-target', () => {
    expect(rules(changed('  pull_request:\n', '  pull_request_target:\n'))).toEqual(['pull-request-target']);
  });

  test.each([
    ['left out', '        with:\n          persist-credentials: false\n', ''],
    ['true', 'persist-credentials: false', 'persist-credentials: true'],
  ])('checkout-persists-credentials: %s', (_case, from, to) => {
    expect(rules(changed(from, to))).toContain('checkout-persists-credentials');
  });

  const production = (environment: string, role = '${{ vars.AWS_PREVIEW_ROLE_ARN }}') => `on:
  workflow_dispatch:
    inputs:
      target:
        type: choice
        options: [staging, production]
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: ${environment}
    permissions:
      id-token: write
    steps:
      - uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3
        with:
          role-to-assume: ${role}
          aws-region: us-east-1
`;

  test.each([
    ['a production environment', 'production'],
    ['an environment chosen from inputs that include production', '${{ inputs.target }}'],
    ['an environment computed some other way', "${{ github.ref == 'refs/heads/main' && 'prod' || 'qa' }}"],
  ])('shared-role-variable: the previews role variable in %s', (_case, environment) => {
    const files = [
      { file: 'preview.yml', source: CLEAN },
      { file: 'deploy.yml', source: production(environment) },
    ];
    expect(checkRoleVariables(files).map((finding) => finding.rule)).toEqual(['shared-role-variable']);
    expect(checkRoleVariables(files)[0]?.message).toContain('vars.AWS_PREVIEW_ROLE_ARN');
  });

  test('shared-role-variable: an environment-scoped production variable of its own is fine', () => {
    const files = [
      { file: 'preview.yml', source: CLEAN },
      { file: 'deploy.yml', source: production('production', '${{ vars.AWS_DEPLOY_ROLE_ARN }}') },
    ];
    expect(checkRoleVariables(files)).toEqual([]);
  });
});

test('why README trusts exact subjects: a repo:<owner>/<repo>:* trust lets a pull request assume the role', () => {
  const wildcard = {
    Statement: {
      Effect: 'Allow',
      Principal: { Federated: 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com' },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:acme/web:*' } },
    },
  };
  expect(trusts(wildcard, { sub: 'repo:acme/web:pull_request', aud: STS_AUDIENCE })).toBe(true);
  expect(trusts(wildcard, { sub: 'repo:acme/web:ref:refs/heads/any-branch', aud: STS_AUDIENCE })).toBe(true);
});

test('the examples pin the same commit of each third-party action as this repository’s workflows', () => {
  const pins = (dir: string) =>
    new Map(
      folder(dir).flatMap(({ source }) => [...source.matchAll(/uses:\s*([\w.-]+\/[\w./-]+)@([0-9a-f]{40})/g)].map((match) => [match[1], match[2]] as const)),
    );
  const ours = pins('.github/workflows');
  for (const [action, sha] of pins('workflows-examples')) if (ours.has(action)) expect(`${action}@${sha}`).toBe(`${action}@${ours.get(action)}`);
});
