// The workflow harness itself, on small fixture workflows: triggers, expressions, outputs between
// steps and jobs, status functions, masking, the stand-ins and one real bundle step.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { triggers } from './events.ts';
import { evaluateCondition, evaluateString, hashFiles, type JsonValue, templateExpression } from './expressions.ts';
import { dispatchEvent, expandMatrix, type JobRun, pullRequestEvent, pushEvent, runWorkflow, type StepRun, type WorkflowEvent } from './harness.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const SHA = '1234567890abcdef1234567890abcdef12345678';
let workspace: string;

beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'harness-workspace-'));
  mkdirSync(join(workspace, 'sub'));
  writeFileSync(join(workspace, 'a.txt'), 'alpha\n');
  writeFileSync(join(workspace, 'sub', 'b.txt'), 'beta\n');
});

afterAll(() => rmSync(workspace, { recursive: true, force: true }));

function run(fixture: string, event: WorkflowEvent, options: { secrets?: Record<string, string> } = {}) {
  return runWorkflow({ file: join(fixtures, fixture), event, workspace, ...options });
}

function job(jobs: Record<string, JobRun>, id: string): JobRun {
  const found = jobs[id];
  if (!found) throw new Error(`no job ${id} in ${Object.keys(jobs).join(', ')}`);
  return found;
}

function step(jobRun: JobRun, name: string): StepRun {
  const found = jobRun.steps.find((candidate) => candidate.id === name || candidate.name === name);
  if (!found) throw new Error(`no step ${name} in ${jobRun.steps.map((candidate) => candidate.id ?? candidate.name).join(', ')}`);
  return found;
}

/** A workflow written for one test, for cases actionlint would (rightly) reject as a fixture. */
function workflowFile(text: string): string {
  const file = join(workspace, `inline-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, text);
  return file;
}

describe('expressions, step outputs and file commands', () => {
  test('env, if, with and run see the contexts; outputs, GITHUB_ENV and GITHUB_PATH reach later steps', async () => {
    const result = await run('expressions.yml', pushEvent('refs/heads/main', SHA));
    expect(result.triggered).toBe(true);
    const build = job(result.jobs, 'build');
    expect(build.result).toBe('success');
    expect(step(build, 'first').outputs).toMatchObject({ tag: 'v-1234567', job: 'build build' });
    const second = step(build, 'second');
    expect(second.log).toContain(`tag=v-1234567 stage=prod image=app:${SHA} env-file=set-by-first`);
    expect(second.log).toContain('tool-ran');
    expect(second.outputs.joined).toBe('a+b');
    const digest = (text: string) => createHash('sha256').update(text).digest();
    expect(second.outputs.hash).toBe(createHash('sha256').update(digest('alpha\n')).update(digest('beta\n')).digest('hex'));
    expect(hashFiles(workspace, ['**/*.txt', '!sub/**'])).toBe(createHash('sha256').update(digest('alpha\n')).digest('hex'));
    expect(hashFiles(workspace, ['nothing/*'])).toBe('');
    expect(second.summary).toBe('## Built acme/web\n');
    expect(step(build, 'Skipped on main').outcome).toBe('skipped');
    const third = step(build, 'third');
    expect(third.name).toBe('Greet hello');
    expect(third.outputs.greeting).toBe('hello-set-by-first');
    expect(step(build, 'where').outputs.dir).toBe('sub');
  });

  test('the same workflow on a release branch; a feature branch does not trigger it', async () => {
    const release = await run('expressions.yml', pushEvent('refs/heads/release/1.2', SHA));
    expect(step(job(release.jobs, 'build'), 'second').log).toContain('stage=dev');
    expect(step(job(release.jobs, 'build'), 'Skipped on main').outcome).toBe('success');
    expect(await run('expressions.yml', pushEvent('refs/heads/feature/x', SHA))).toEqual({ triggered: false, name: 'expressions', jobs: {} });
  });

  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: GitHub expressions, not JavaScript templates
  test("GitHub's reading of templates and conditions", () => {
    expect(templateExpression('plain')).toBeUndefined();
    expect(templateExpression('${{ github.sha }}')).toBe('github.sha');
    expect(templateExpression("a-${{ format('}}{0}', 'x') }}-{b}'")).toBe("format('a-{0}-{{b}}''', format('}}{0}', 'x'))");
    const scope = { contexts: { github: { event_name: 'push' } } };
    expect(evaluateString("it's ${{ 'a''b''c' }} 'd'", scope)).toBe("it's a'b'c 'd'");
    expect(evaluateCondition("github.EVENT_NAME == 'PUSH'", scope, { success: true, failure: false })).toBe(true);
    expect(evaluateCondition("${{ github.event_name == 'push' }}", scope, { success: false, failure: true })).toBe(false);
    expect(evaluateCondition('always()', scope, { success: false, failure: true })).toBe(true);
    expect(() => evaluateCondition('secrets.X', scope, { success: true, failure: false })).toThrow("Unrecognized named-value: 'secrets'");
  });
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: GitHub expressions, not JavaScript templates
});

describe('jobs', () => {
  test('needs outputs, environment, concurrency and permissions; continue-on-error; failure() jobs skipped', async () => {
    const result = await run('jobs.yml', dispatchEvent({}));
    expect(result.concurrency).toEqual({ group: 'deploy-staging', cancelInProgress: false });
    expect(result.permissions).toEqual({ contents: 'read' });
    const build = job(result.jobs, 'build');
    expect(build.result).toBe('success');
    expect(step(build, 'flaky')).toMatchObject({ outcome: 'failure', conclusion: 'success' });
    expect(step(build, 'Fail on request').outcome).toBe('skipped');
    expect(step(build, 'Report').log).toContain('flaky outcome=failure conclusion=success job=success');
    expect(build.outputs).toEqual({ image: `registry/app:${dispatchEvent({}).sha}` });
    const deploy = job(result.jobs, 'deploy');
    expect(deploy).toMatchObject({
      result: 'success',
      environment: { name: 'staging', url: `https://staging.example.com/registry/app:${dispatchEvent({}).sha}`, approved: true },
      concurrency: { group: 'env-staging', cancelInProgress: true },
      permissions: { 'id-token': 'write', contents: 'read' },
    });
    expect(job(result.jobs, 'notify-failure').result).toBe('skipped');
    expect(job(result.jobs, 'report').steps[0]?.log).toContain('deploy was success');
  });

  test('a failed job skips its dependents; failure() and always() jobs still run', async () => {
    const result = await run('jobs.yml', dispatchEvent({ fail: 'true', target: 'production' }));
    const build = job(result.jobs, 'build');
    expect(build.result).toBe('failure');
    expect(step(build, 'Report').log).toContain('job=failure');
    expect(job(result.jobs, 'deploy').result).toBe('skipped');
    expect(job(result.jobs, 'notify-failure').steps[0]?.log).toContain('build was failure');
    expect(job(result.jobs, 'report').steps[0]?.log).toContain('deploy was skipped');
    await expect(run('jobs.yml', dispatchEvent({ target: 'qa' }))).rejects.toThrow('input target must be one of its options');
  });

  test('a matrix runs one job per combination, include entries merged as GitHub documents', async () => {
    const result = await run('matrix.yml', pushEvent('refs/heads/main', SHA));
    expect(Object.keys(result.jobs)).toEqual(['test (web, small, 8080)', 'test (worker, small)', 'test (admin, large)']);
    expect(job(result.jobs, 'test (worker, small)').steps[0]?.log).toBe('worker small  1/3');
    // The example from GitHub's documentation of matrix include.
    const matrix: JsonValue = {
      fruit: ['apple', 'pear'],
      animal: ['cat', 'dog'],
      include: [
        { color: 'green' },
        { color: 'pink', animal: 'cat' },
        { fruit: 'apple', shape: 'circle' },
        { fruit: 'banana' },
        { fruit: 'banana', animal: 'cat' },
      ],
    };
    expect(expandMatrix(matrix)).toEqual([
      { fruit: 'apple', animal: 'cat', color: 'pink', shape: 'circle' },
      { fruit: 'apple', animal: 'dog', color: 'green', shape: 'circle' },
      { fruit: 'pear', animal: 'cat', color: 'pink' },
      { fruit: 'pear', animal: 'dog', color: 'green' },
      { fruit: 'banana' },
      { fruit: 'banana', animal: 'cat' },
    ]);
  });

  test('what the harness cannot run is refused by name', async () => {
    const container = workflowFile('on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    container: node:24\n    steps:\n      - run: true\n');
    await expect(runWorkflow({ file: container, event: pushEvent('refs/heads/main', SHA), workspace })).rejects.toThrow(
      'job a: the workflow harness does not run container',
    );
    const reusable = workflowFile('on: push\njobs:\n  a:\n    uses: ./.github/workflows/other.yml\n');
    await expect(runWorkflow({ file: reusable, event: pushEvent('refs/heads/main', SHA), workspace })).rejects.toThrow('does not run uses');
  });

  test('a step past the harness timeout is stopped with what it started', async () => {
    const file = workflowFile('on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: sleep 20 | cat\n');
    const started = Date.now();
    const result = await runWorkflow({ file, event: pushEvent('refs/heads/main', SHA), workspace, stepTimeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(job(result.jobs, 'a').steps[0]?.log).toContain('The harness stopped the step after 300 ms');
  });
});

describe('the on: filter', () => {
  test('pull_request types and branches', async () => {
    expect((await run('pull-request-closed.yml', pullRequestEvent('opened', 7))).triggered).toBe(false);
    expect((await run('pull-request-closed.yml', pullRequestEvent('closed', 7, { baseRef: 'develop', merged: true }))).triggered).toBe(false);
    const merged = await run('pull-request-closed.yml', pullRequestEvent('closed', 7, { merged: true }));
    expect(job(merged.jobs, 'merged').steps[0]?.log).toBe('merged 7 from feature-7 into main');
    expect(job((await run('pull-request-closed.yml', pullRequestEvent('closed', 7))).jobs, 'merged').result).toBe('skipped');
    const fork = await run('pull-request-closed.yml', pullRequestEvent('closed', 8, { merged: true, headRepository: 'someone/web' }));
    expect(job(fork.jobs, 'merged').steps[0]?.log).toBe('merged 8 from feature-8 into main (fork someone/web)');
  });

  test('default activity types, negated branch patterns, tags and paths', () => {
    expect(triggers('pull_request', pullRequestEvent('labeled', 1))).toBe(false);
    expect(triggers({ pull_request: { types: ['labeled'] } }, pullRequestEvent('labeled', 1))).toBe(true);
    const branches = { push: { branches: ['release/**', '!release/old-*'] } };
    expect(triggers(branches, pushEvent('refs/heads/release/v2', SHA))).toBe(true);
    expect(triggers(branches, pushEvent('refs/heads/release/old-1', SHA))).toBe(false);
    expect(triggers({ push: { tags: ['v*'] } }, pushEvent('refs/heads/main', SHA))).toBe(false);
    expect(triggers({ push: { tags: ['v*'] } }, pushEvent('refs/tags/v1.0.0', SHA))).toBe(true);
    const paths = { push: { 'paths-ignore': ['**.md', 'docs/**'] } };
    expect(triggers(paths, pushEvent('refs/heads/main', SHA, { changedFiles: ['README.md', 'docs/a/b.png'] }))).toBe(false);
    expect(triggers(paths, pushEvent('refs/heads/main', SHA, { changedFiles: ['README.md', 'src/app.ts'] }))).toBe(true);
    expect(() => triggers(paths, pushEvent('refs/heads/main', SHA))).toThrow('changedFiles');
  });
});

describe('masking', () => {
  test('secrets and ::add-mask:: values never reach the log; a job output holding one is dropped', async () => {
    const result = await run('masking.yml', pushEvent('refs/heads/main', SHA), { secrets: { DEPLOY_TOKEN: 's3cr3t-token' } });
    const mask = job(result.jobs, 'mask');
    const log = step(mask, 'leak').log;
    expect(log).toBe('token is ***\nruntime value: ***');
    expect(mask.outputs).toEqual({ plain: 'visible' });
    expect(mask.errors).toEqual(["Skip output 'leaked' since it may contain secret."]);
  });
});

describe('actions', () => {
  test('checkout and configure-aws-credentials stand-ins, then our bundle with its action.yml defaults', async () => {
    const result = await run('aws.yml', pushEvent('refs/heads/main', SHA));
    const rollback = job(result.jobs, 'rollback');
    expect(rollback.result).toBe('failure');
    expect(rollback.steps[0]).toMatchObject({ uses: 'actions/checkout@v4', outcome: 'success', outputs: { commit: SHA } });
    expect(rollback.steps[1]?.inputs).toEqual({ 'aws-region': 'eu-west-1', 'role-to-assume': 'arn:aws:iam::123456789012:role/deploy' });
    expect(rollback.steps[2]?.log).toBe('region=eu-west-1 default=eu-west-1 key=***');
    const bundle = step(rollback, 'rollback');
    expect(bundle.outcome).toBe('failure');
    expect(bundle.log).toContain('Input "service": give exactly one of service and environment.');
    expect(bundle.inputs).toEqual({ cluster: 'previews', to: 'previous', wait: 'true', timeout: '15m', 'dry-run': 'false', 'allow-family-change': 'false' });
    expect(rollback.steps[4]?.log).toBe('rollback outcome failure');
  });

  test('configure-aws-credentials fails as the real one does; unknown actions fail the step', async () => {
    const workflow = (permissions: string, uses: string, inputs: string) =>
      workflowFile(`on: push\n${permissions}jobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: ${uses}\n        with:\n${inputs}`);
    const first = async (file: string) => job((await runWorkflow({ file, event: pushEvent('refs/heads/main', SHA), workspace })).jobs, 'a').steps[0];
    const configure = 'aws-actions/configure-aws-credentials@v4';
    expect((await first(workflow('', configure, '          role-to-assume: arn:aws:iam::1:role/x\n')))?.log).toBe(
      '##[error]Input required and not supplied: aws-region',
    );
    expect((await first(workflow('', configure, '          aws-region: us-east-1\n          role-to-assume: arn:aws:iam::1:role/x\n')))?.log).toContain(
      "Did you mean to set the 'id-token' permission?",
    );
    const script = await first(workflow('', 'actions/github-script@v7', '          script: return 1\n'));
    expect(script?.outcome).toBe('failure');
    expect(script?.log).toContain('stands in for actions/checkout, actions/setup-node, aws-actions/configure-aws-credentials; nothing else');
  });

  test("a job with an environment sees that environment's variables; the role is assumed only as its trust policy allows", async () => {
    const file = workflowFile(`on: [push, pull_request]
permissions:
  id-token: write
jobs:
  plain:
    runs-on: ubuntu-24.04
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-region: us-east-1
          role-to-assume: \${{ vars.ROLE }}
  deploy:
    runs-on: ubuntu-24.04
    environment: production
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-region: us-east-1
          role-to-assume: \${{ vars.ROLE }}
      - run: echo "region \${{ vars.REGION }}"
`);
    const production = 'arn:aws:iam::1:role/production';
    const trust = (sub: string) => ({
      Statement: {
        Effect: 'Allow',
        Principal: { Federated: 'arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com' },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { 'token.actions.githubusercontent.com:sub': sub } },
      },
    });
    const options = {
      file,
      workspace,
      vars: { ROLE: production, REGION: 'repository' },
      environments: { production: { vars: { REGION: 'environment' } } },
      roles: { [production]: trust('repo:acme/web:environment:production') },
    };
    const push = await runWorkflow({ ...options, event: pushEvent('refs/heads/main', SHA) });
    expect(job(push.jobs, 'deploy').steps.map((s) => s.outcome)).toEqual(['success', 'success']);
    expect(job(push.jobs, 'deploy').steps[1]?.log).toBe('region environment');
    // The same role from a job without the environment: its token says ref:refs/heads/main.
    expect(job(push.jobs, 'plain').steps[0]?.log).toContain(
      'Not authorized to perform sts:AssumeRoleWithWebIdentity (role arn:aws:iam::1:role/production, sub repo:acme/web:ref:refs/heads/main)',
    );
    const pullRequest = await runWorkflow({ ...options, event: pullRequestEvent('opened', 3) });
    expect(job(pullRequest.jobs, 'plain').steps[0]?.log).toContain('sub repo:acme/web:pull_request');
    expect(job(pullRequest.jobs, 'deploy').result).toBe('success');
  });

  test('setup-node puts the Node 24 the harness has on PATH, and refuses another version', async () => {
    const file = (version: string) =>
      workflowFile(
        `on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/setup-node@v5\n        with:\n          node-version: "${version}"\n      - run: node --version\n`,
      );
    const ok = job((await runWorkflow({ file: file('24'), event: pushEvent('refs/heads/main', SHA), workspace })).jobs, 'a');
    expect(ok.steps[1]?.log).toMatch(/^v24\./);
    const old = job((await runWorkflow({ file: file('20'), event: pushEvent('refs/heads/main', SHA), workspace })).jobs, 'a');
    expect(old.steps[0]?.log).toContain("the harness has Node 24 only, not node-version '20'");
  });
});
