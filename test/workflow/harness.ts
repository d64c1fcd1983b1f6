// Runs a GitHub Actions workflow file end to end on this machine as a runner would: the `on:` filter,
// jobs in `needs` order, `if:` with the status functions, expressions in env/with/run/outputs,
// our actions from their committed bundles, `run:` steps through bash, stand-ins for third-party steps.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { triggers, type WorkflowEvent } from './events.ts';
import { evaluateCondition, evaluateString, evaluateTemplate, type JsonValue, type Scope, type Status } from './expressions.ts';
import { type OidcClaims, STS_AUDIENCE, subjectClaim, type TrustPolicy } from './oidc.ts';
import {
  addMask,
  type FileCommands,
  fileCommandFiles,
  mask,
  ourAction,
  readFileCommands,
  runOurAction,
  runScript,
  runStandIn,
  type StepProcess,
} from './steps.ts';

export { callEvent, dispatchEvent, pullRequestEvent, pushEvent, scheduleEvent, type WorkflowEvent } from './events.ts';

export interface RunOptions {
  /** The workflow file. */
  file: string;
  event: WorkflowEvent;
  /** The checkout (GITHUB_WORKSPACE); steps run in it and may change it. */
  workspace: string;
  /** The runner's own environment, given to every step: AWS_ENDPOINT_URL, GITHUB_API_URL, ... (not in the env context). */
  env?: Record<string, string>;
  /** secrets.GITHUB_TOKEN defaults to a fake token. Every value is masked in logs. */
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  /** GitHub environments by name: a job that declares one sees its variables over the repository's. */
  environments?: Record<string, { vars?: Record<string, string> }>;
  /**
   * IAM roles by ARN with their trust policies. When given, configure-aws-credentials assumes a role only
   * if its trust policy accepts the job's OIDC token (sub from the job's environment, pull request or ref).
   */
  roles?: Record<string, TrustPolicy>;
  /** owner/name, default acme/web. */
  repository?: string;
  /** A step still running after this long is killed and fails; default 5 minutes. */
  stepTimeoutMs?: number;
}

export type Result = 'success' | 'failure' | 'skipped' | 'cancelled';

export interface WorkflowRun {
  /** Whether the `on:` filters (event, types, branches, tags, paths, schedule) start a run for the event. */
  triggered: boolean;
  /** The workflow's `run-name:` evaluated, or its name. */
  name: string;
  concurrency?: Concurrency;
  permissions?: JsonValue;
  /** By job id; each leg of a matrix job as `<id> (<values>)`, as GitHub names its checks. */
  jobs: Record<string, JobRun>;
}

export interface Concurrency {
  group: string;
  cancelInProgress: boolean;
}

export interface JobRun {
  result: Result;
  outputs: Record<string, string>;
  /** Protection rules are taken as approved: the job runs straight away. */
  environment?: { name: string; url?: string; approved: true };
  permissions?: JsonValue;
  concurrency?: Concurrency;
  matrix?: Record<string, JsonValue>;
  steps: StepRun[];
  /** Why the job failed outside its steps (an expression error), or lost outputs it tried to set. */
  errors: string[];
}

export interface StepRun {
  id?: string;
  name: string;
  uses?: string;
  /** The script as run, expressions substituted. */
  run?: string;
  /** The action's inputs as passed, with action.yml defaults for our actions. */
  inputs: Record<string, string>;
  outcome: 'success' | 'failure' | 'skipped';
  /** outcome, except that a failure under continue-on-error concludes as success. */
  conclusion: 'success' | 'failure' | 'skipped';
  outputs: Record<string, string>;
  /** stdout and stderr, masked as the runner masks them. */
  log: string;
  summary: string;
}

type Mapping = Record<string, unknown>;

interface Workflow {
  name?: string;
  'run-name'?: string;
  on: unknown;
  env?: Mapping;
  defaults?: { run?: Mapping };
  concurrency?: unknown;
  permissions?: JsonValue;
  jobs: Record<string, Mapping>;
}

/** Job keys the harness runs; any other key (container, services, uses, ...) is refused. */
const JOB_KEYS = [
  'name',
  'needs',
  'if',
  'runs-on',
  'env',
  'environment',
  'concurrency',
  'permissions',
  'outputs',
  'steps',
  'defaults',
  'strategy',
  'timeout-minutes',
];
const STEP_KEYS = ['id', 'name', 'if', 'uses', 'with', 'run', 'shell', 'working-directory', 'env', 'continue-on-error', 'timeout-minutes'];

const FAKE_TOKEN = 'ghs_harnessFakeToken000000000000000000000';

/** Runs the workflow for the event; resolves once every job has run or been skipped. */
export async function runWorkflow(options: RunOptions): Promise<WorkflowRun> {
  const workflow = parse(readFileSync(options.file, 'utf8')) as Workflow;
  refuseUnsupported(workflow);
  if (!triggers(workflow.on, options.event)) return { triggered: false, name: workflow.name ?? basename(options.file), jobs: {} };
  const run = new Run(workflow, options);
  try {
    return await run.all();
  } finally {
    rmSync(run.dir, { recursive: true, force: true });
  }
}

function refuseUnsupported(workflow: Workflow): void {
  for (const [id, job] of Object.entries(workflow.jobs ?? {})) {
    const unknown = Object.keys(job).filter((key) => !JOB_KEYS.includes(key));
    if (unknown.length > 0) throw new Error(`job ${id}: the workflow harness does not run ${unknown.join(', ')}`);
    for (const step of (job.steps ?? []) as Mapping[]) {
      const extra = Object.keys(step).filter((key) => !STEP_KEYS.includes(key));
      if (extra.length > 0) throw new Error(`job ${id}: the workflow harness does not run steps with ${extra.join(', ')}`);
    }
  }
}

/** One workflow run: its contexts, the event file, and each job's result as it completes. */
class Run {
  readonly dir = mkdtempSync(join(tmpdir(), 'workflow-'));
  private readonly workflow: Workflow;
  private readonly options: RunOptions;
  private readonly secrets: Record<string, string>;
  private readonly github: Record<string, JsonValue>;
  private readonly inputs: Record<string, JsonValue>;
  private readonly repository: string;
  private readonly runnerEnv: Record<string, string>;
  private readonly results = new Map<string, { result: Result; outputs: Record<string, string> }>();

  constructor(workflow: Workflow, options: RunOptions) {
    this.workflow = workflow;
    this.options = options;
    this.secrets = { GITHUB_TOKEN: FAKE_TOKEN, ...options.secrets };
    const repository = options.repository ?? 'acme/web';
    this.repository = repository;
    const [owner = '', name = ''] = repository.split('/');
    const event = options.event;
    const repo = { full_name: repository, name, owner: { login: owner } };
    const payload: Record<string, unknown> = {
      repository: { ...repo, default_branch: 'main', html_url: `https://github.com/${repository}` },
      sender: { login: 'octocat' },
      ...event.payload,
    };
    const pullRequest = payload.pull_request as { head?: { ref?: string; repo?: unknown }; base?: { ref?: string; repo?: unknown } } | undefined;
    if (pullRequest) payload.pull_request = { ...pullRequest, head: { repo, ...pullRequest.head }, base: { repo, ...pullRequest.base } };
    this.inputs = inputsContext(workflow, event);
    // github.event.inputs holds every dispatch input as a string, defaults included.
    if (event.name === 'workflow_dispatch') payload.inputs = Object.fromEntries(Object.entries(this.inputs).map(([name, value]) => [name, String(value)]));
    const eventPath = join(this.dir, 'event.json');
    writeFileSync(eventPath, JSON.stringify(payload, null, 2));
    const apiUrl = options.env?.GITHUB_API_URL ?? 'https://api.github.com';
    const serverUrl = options.env?.GITHUB_SERVER_URL ?? 'https://github.com';
    this.github = {
      event_name: event.name,
      event: payload as JsonValue,
      event_path: eventPath,
      sha: event.sha,
      ref: event.ref,
      ref_name: event.ref.replace(/^refs\/(heads|tags|pull)\//, ''),
      ref_type: event.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      ref_protected: false,
      head_ref: event.name.startsWith('pull_request') ? (pullRequest?.head?.ref ?? '') : '',
      base_ref: event.name.startsWith('pull_request') ? (pullRequest?.base?.ref ?? '') : '',
      repository,
      repository_owner: owner,
      run_id: '4242',
      run_number: '1',
      run_attempt: '1',
      actor: 'octocat',
      triggering_actor: 'octocat',
      workflow: workflow.name ?? basename(options.file),
      workspace: options.workspace,
      server_url: serverUrl,
      api_url: apiUrl,
      graphql_url: `${apiUrl}/graphql`,
      token: this.secrets.GITHUB_TOKEN ?? FAKE_TOKEN,
      retention_days: '90',
    };
    this.runnerEnv = {
      PATH: process.env.PATH ?? '',
      HOME: join(this.dir, 'home'),
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTOR: 'octocat',
      GITHUB_API_URL: apiUrl,
      GITHUB_BASE_REF: String(this.github.base_ref),
      GITHUB_EVENT_NAME: event.name,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_GRAPHQL_URL: `${apiUrl}/graphql`,
      GITHUB_HEAD_REF: String(this.github.head_ref),
      GITHUB_REF: event.ref,
      GITHUB_REF_NAME: String(this.github.ref_name),
      GITHUB_REF_TYPE: String(this.github.ref_type),
      GITHUB_REPOSITORY: repository,
      GITHUB_REPOSITORY_OWNER: owner,
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_RUN_ID: '4242',
      GITHUB_RUN_NUMBER: '1',
      GITHUB_SERVER_URL: serverUrl,
      GITHUB_SHA: event.sha,
      GITHUB_WORKFLOW: String(this.github.workflow),
      GITHUB_WORKSPACE: options.workspace,
      RUNNER_ARCH: 'X64',
      RUNNER_OS: 'Linux',
      RUNNER_NAME: 'workflow-harness',
      RUNNER_ENVIRONMENT: 'self-hosted',
      // No instance metadata service here: the AWS SDK should not wait for one.
      AWS_EC2_METADATA_DISABLED: 'true',
      ...options.env,
    };
    mkdirSync(join(this.dir, 'home'));
  }

  private base(names: string[], extra: Record<string, JsonValue> = {}): Scope {
    const all: Record<string, JsonValue> = { github: this.github, vars: this.options.vars ?? {}, secrets: this.secrets, inputs: this.inputs, ...extra };
    return { contexts: Object.fromEntries(names.filter((name) => name in all).map((name) => [name, all[name] ?? null])) };
  }

  async all(): Promise<WorkflowRun> {
    const workflow = this.workflow;
    const top = this.base(['github', 'inputs', 'vars']);
    const run: WorkflowRun = {
      triggered: true,
      name: workflow['run-name'] ? evaluateString(workflow['run-name'], top) : (workflow.name ?? basename(this.options.file)),
      concurrency: concurrency(workflow.concurrency, top),
      permissions: workflow.permissions,
      jobs: {},
    };
    const workflowEnv = strings(workflow.env, this.base(['github', 'secrets', 'inputs', 'vars']));
    for (const id of jobOrder(workflow.jobs)) {
      const job = workflow.jobs[id] ?? {};
      const legs = await this.job(id, job, workflowEnv);
      for (const [name, leg] of legs) run.jobs[name] = leg;
      this.results.set(id, aggregate([...legs.values()]));
    }
    return run;
  }

  private needsContext(job: Mapping): Record<string, JsonValue> {
    return Object.fromEntries(
      needs(job).map((need) => [need, { result: this.results.get(need)?.result ?? 'skipped', outputs: this.results.get(need)?.outputs ?? {} }]),
    );
  }

  /** Job-level status functions: success() when every needed job succeeded, failure() when any ancestor failed. */
  private jobStatus(job: Mapping): Status {
    const ancestors = new Set<string>();
    const visit = (of: Mapping): void => {
      for (const need of needs(of)) {
        if (ancestors.has(need)) continue;
        ancestors.add(need);
        visit(this.workflow.jobs[need] ?? {});
      }
    };
    visit(job);
    return {
      success: needs(job).every((need) => this.results.get(need)?.result === 'success'),
      failure: [...ancestors].some((need) => this.results.get(need)?.result === 'failure'),
    };
  }

  private async job(id: string, job: Mapping, workflowEnv: Record<string, string>): Promise<Map<string, JobRun>> {
    const contexts = { github: { ...this.github, job: id }, needs: this.needsContext(job) };
    const early = (result: Result, errors: string[] = []): Map<string, JobRun> => new Map([[id, { result, outputs: {}, steps: [], errors }]]);
    let strategy: Record<string, JsonValue>;
    let combinations: (Record<string, JsonValue> | undefined)[];
    try {
      const scope = this.base(['github', 'needs', 'vars', 'inputs'], contexts);
      if (!evaluateCondition(job.if, scope, this.jobStatus(job))) return early('skipped');
      strategy = (evaluateTemplate(job.strategy, scope) ?? {}) as Record<string, JsonValue>;
      combinations = strategy.matrix === undefined ? [undefined] : expandMatrix(strategy.matrix);
    } catch (error) {
      return early('failure', [(error as Error).message]);
    }
    const failFast = strategy['fail-fast'] !== false;
    const legs = new Map<string, JobRun>();
    let failed = false;
    for (const [index, matrix] of combinations.entries()) {
      const name = matrix ? `${id} (${Object.values(matrix).map(display).join(', ')})` : id;
      if (failed && failFast) {
        legs.set(name, { result: 'cancelled', outputs: {}, steps: [], errors: [], matrix });
        continue;
      }
      const strategyContext = { 'fail-fast': failFast, 'job-index': index, 'job-total': combinations.length, 'max-parallel': combinations.length };
      const leg = await this.leg(id, job, workflowEnv, { ...contexts, matrix: matrix ?? {}, strategy: strategyContext });
      leg.matrix = matrix;
      failed ||= leg.result === 'failure';
      legs.set(name, leg);
    }
    return legs;
  }

  /** One job (or one leg of a matrix job) on a fresh runner: RUNNER_TEMP, masks and GITHUB_ENV are its own. */
  private async leg(id: string, job: Mapping, workflowEnv: Record<string, string>, legContexts: Record<string, JsonValue>): Promise<JobRun> {
    let jobContexts = legContexts;
    const jobDir = join(this.dir, `${id}-${randomUUID().slice(0, 8)}`);
    const temp = join(jobDir, 'temp');
    mkdirSync(temp, { recursive: true });
    const masks = new Set<string>();
    for (const value of Object.values(this.secrets)) addMask(masks, value);
    const result: JobRun = { result: 'success', outputs: {}, steps: [], errors: [] };
    const envFiles: Record<string, string> = {};
    const paths: string[] = [];
    const runner = {
      os: 'Linux',
      arch: 'X64',
      name: 'workflow-harness',
      temp,
      tool_cache: join(this.dir, 'tool-cache'),
      environment: 'self-hosted',
      debug: '',
    };
    const steps: Record<string, JsonValue> = {};
    let jobEnv: Record<string, string> = {};
    let environment: Mapping | undefined;
    let defaults: Mapping = {};
    try {
      // The environment is chosen with the repository's variables; the job then runs with its own over them.
      environment = typeof job.environment === 'string' ? { name: job.environment } : (job.environment as Mapping | undefined);
      const chosen = this.base(['github', 'needs', 'strategy', 'matrix', 'vars', 'inputs'], jobContexts);
      if (environment) result.environment = { name: evaluateString(environment.name, chosen), approved: true };
      const environmentVars = result.environment ? this.options.environments?.[result.environment.name]?.vars : undefined;
      jobContexts = { ...jobContexts, vars: { ...this.options.vars, ...environmentVars } };
      const jobScope = this.base(['github', 'needs', 'strategy', 'matrix', 'vars', 'secrets', 'inputs'], jobContexts);
      jobEnv = { ...workflowEnv, ...strings(job.env, jobScope) };
      const noEnv = this.base(['github', 'needs', 'strategy', 'matrix', 'vars', 'inputs'], jobContexts);
      result.concurrency = concurrency(job.concurrency, noEnv);
      result.permissions = (job.permissions ?? this.workflow.permissions) as JsonValue;
      defaults = {
        ...this.workflow.defaults?.run,
        ...(evaluateTemplate(job.defaults, { contexts: { ...noEnv.contexts, env: jobEnv } }) as { run?: Mapping } | null)?.run,
      };
    } catch (error) {
      return { ...result, result: 'failure', errors: [(error as Error).message] };
    }
    const stepScope = (env: Record<string, string>): Scope => ({
      ...this.base(['github', 'needs', 'strategy', 'matrix', 'job', 'runner', 'env', 'vars', 'secrets', 'steps', 'inputs'], {
        ...jobContexts,
        job: { status: result.result, container: {}, services: {} },
        runner,
        env,
        steps,
      }),
      workspace: this.options.workspace,
    });
    for (const [index, step] of ((job.steps ?? []) as Mapping[]).entries()) {
      const env = { ...jobEnv, ...envFiles };
      const stepRun = await this.step(step, index, stepScope(env), {
        failed: result.result === 'failure',
        process: {
          env: { ...this.runnerEnv, RUNNER_TEMP: temp, GITHUB_JOB: id, PATH: [...paths, this.runnerEnv.PATH].join(':') },
          cwd: this.options.workspace,
          masks,
          timeoutMs: this.options.stepTimeoutMs ?? 300_000,
          log: [],
        },
        dir: jobDir,
        defaults,
        permissions: result.permissions,
        claims: { sub: subjectClaim(this.repository, this.options.event, result.environment?.name), aud: STS_AUDIENCE },
      });
      result.steps.push(stepRun.run);
      Object.assign(envFiles, stepRun.files.env);
      paths.unshift(...stepRun.files.path.reverse());
      if (stepRun.run.id) steps[stepRun.run.id] = { outputs: stepRun.run.outputs, outcome: stepRun.run.outcome, conclusion: stepRun.run.conclusion };
      if (stepRun.run.conclusion === 'failure') result.result = 'failure';
    }
    const finalScope = stepScope({ ...jobEnv, ...envFiles });
    try {
      for (const [name, value] of Object.entries((job.outputs ?? {}) as Mapping)) {
        const text = evaluateString(value, finalScope);
        // GitHub drops an output that holds a masked value rather than pass a secret to other jobs.
        if (mask(text, masks) !== text) result.errors.push(`Skip output '${name}' since it may contain secret.`);
        else result.outputs[name] = text;
      }
      if (environment?.url !== undefined && result.environment) result.environment.url = evaluateString(environment.url, finalScope);
    } catch (error) {
      result.errors.push((error as Error).message);
      result.result = 'failure';
    }
    return result;
  }

  private async step(
    step: Mapping,
    index: number,
    scope: Scope,
    job: { failed: boolean; process: StepProcess; dir: string; defaults: Mapping; permissions: unknown; claims: OidcClaims },
  ): Promise<{ run: StepRun; files: FileCommands }> {
    const id = typeof step.id === 'string' ? step.id : undefined;
    const uses = typeof step.uses === 'string' ? step.uses : undefined;
    const fileId = `${index}_${randomUUID().slice(0, 8)}`;
    const files = fileCommandFiles(job.dir, fileId);
    const process: StepProcess = { ...job.process, env: { ...job.process.env, ...files, GITHUB_ACTION: id ?? `__run_${index}` } };
    const stepRun: StepRun = {
      id,
      name: uses ? `Run ${uses}` : `Run ${String(step.run ?? '').split('\n')[0]}`,
      uses,
      inputs: {},
      outcome: 'success',
      conclusion: 'success',
      outputs: {},
      log: '',
      summary: '',
    };
    const finish = (outcome: StepRun['outcome'], continueOnError = false) => {
      stepRun.outcome = outcome;
      stepRun.conclusion = outcome === 'failure' && continueOnError ? 'success' : outcome;
      stepRun.log = process.log.join('\n');
      const written = readFileCommands(process.env);
      stepRun.outputs = written.outputs;
      stepRun.summary = mask(written.summary, process.masks);
      return { run: stepRun, files: outcome === 'skipped' ? { outputs: {}, env: {}, path: [], summary: '' } : written };
    };
    let continueOnError = false;
    try {
      if (step.name !== undefined) stepRun.name = evaluateString(step.name, scope);
      const { secrets: _, ...noSecrets } = scope.contexts;
      if (!evaluateCondition(step.if, { ...scope, contexts: noSecrets }, { success: !job.failed, failure: job.failed })) return finish('skipped');
      const env = { ...(scope.contexts.env as Record<string, string>), ...strings(step.env, scope) };
      const stepScope = { ...scope, contexts: { ...scope.contexts, env } };
      Object.assign(process.env, env);
      const continueValue = evaluateTemplate(step['continue-on-error'] ?? false, stepScope);
      continueOnError = continueValue === true || continueValue === 'true';
      let exitCode: number;
      if (uses) {
        stepRun.inputs = strings(step.with, stepScope);
        const action = ourAction(uses);
        if (action) {
          for (const [name, input] of Object.entries(action.inputs)) {
            if (!(name in stepRun.inputs) && input.default !== undefined) stepRun.inputs[name] = evaluateString(input.default, stepScope);
          }
          exitCode = await runOurAction(action, stepRun.inputs, process);
        } else
          exitCode = runStandIn(uses, stepRun.inputs, process, {
            permissions: job.permissions,
            claims: job.claims,
            ...(this.options.roles ? { roles: this.options.roles } : {}),
          });
      } else {
        stepRun.run = evaluateString(step.run, stepScope);
        const workingDirectory = evaluateString(step['working-directory'] ?? job.defaults['working-directory'] ?? '', stepScope);
        const shell = step.shell ?? job.defaults.shell;
        exitCode = await runScript(
          stepRun.run,
          shell === undefined ? undefined : String(shell),
          { ...process, cwd: resolve(this.options.workspace, workingDirectory) },
          job.dir,
          fileId,
        );
        if (exitCode !== 0) process.log.push(`##[error]Process completed with exit code ${exitCode}.`);
      }
      return finish(exitCode === 0 ? 'success' : 'failure', continueOnError);
    } catch (error) {
      process.log.push(`##[error]${mask((error as Error).message, process.masks)}`);
      return finish('failure', continueOnError);
    }
  }
}

/** env/with/outputs mappings: every value a string, expressions evaluated. */
function strings(mapping: unknown, scope: Scope): Record<string, string> {
  if (mapping === undefined || mapping === null) return {};
  if (typeof mapping !== 'object') {
    // `env: ${{ fromJSON(...) }}` and the like: a whole mapping from one expression.
    return strings(evaluateTemplate(mapping, scope), scope);
  }
  return Object.fromEntries(Object.entries(mapping).map(([name, value]) => [name, evaluateString(value, scope)]));
}

function concurrency(value: unknown, scope: Scope): Concurrency | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') return { group: evaluateString(value, scope), cancelInProgress: false };
  const { group, 'cancel-in-progress': cancel } = value as Mapping;
  return { group: evaluateString(group, scope), cancelInProgress: evaluateString(cancel ?? false, scope) === 'true' };
}

function needs(job: Mapping): string[] {
  const value = job.needs;
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** Job ids in an order where each job comes after those it needs (the file's order otherwise). */
function jobOrder(jobs: Record<string, Mapping>): string[] {
  const order: string[] = [];
  const pending = Object.keys(jobs ?? {});
  for (const id of pending) {
    for (const need of needs(jobs[id] ?? {})) if (!(need in jobs)) throw new Error(`job ${id} needs ${need}, which the workflow does not define`);
  }
  while (pending.length > 0) {
    const next = pending.findIndex((id) => needs(jobs[id] ?? {}).every((need) => order.includes(need)));
    if (next < 0) throw new Error(`jobs ${pending.join(', ')} need each other in a cycle`);
    order.push(...pending.splice(next, 1));
  }
  return order;
}

/** How a matrix job looks to the jobs that need it: failed if a leg failed; each output from the last leg that set it. */
function aggregate(legs: JobRun[]): { result: Result; outputs: Record<string, string> } {
  const results = legs.map((leg) => leg.result);
  const result: Result = results.includes('failure')
    ? 'failure'
    : results.includes('cancelled')
      ? 'cancelled'
      : results.every((r) => r === 'skipped')
        ? 'skipped'
        : 'success';
  const outputs: Record<string, string> = {};
  for (const leg of legs) for (const [name, value] of Object.entries(leg.outputs)) if (value !== '') outputs[name] = value;
  return { result, outputs };
}

function display(value: JsonValue): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/**
 * GitHub's matrix expansion: the product of the keys, less `exclude` matches; each `include` entry is
 * added to every combination whose original values it does not change, or else becomes a combination.
 */
export function expandMatrix(matrix: JsonValue): Record<string, JsonValue>[] {
  if (typeof matrix !== 'object' || matrix === null || Array.isArray(matrix)) throw new Error('strategy.matrix must be a mapping');
  const { include = [], exclude = [], ...dimensions } = matrix;
  let combinations: Record<string, JsonValue>[] = Object.keys(dimensions).length > 0 ? [{}] : [];
  for (const [key, values] of Object.entries(dimensions)) {
    if (!Array.isArray(values)) throw new Error(`strategy.matrix.${key} must be a list`);
    combinations = combinations.flatMap((combination) => values.map((value) => ({ ...combination, [key]: value })));
  }
  const same = (a: JsonValue | undefined, b: JsonValue | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);
  const entries = (list: JsonValue): Record<string, JsonValue>[] => (Array.isArray(list) ? list : []) as Record<string, JsonValue>[];
  combinations = combinations.filter(
    (combination) => !entries(exclude).some((entry) => Object.entries(entry).every(([key, value]) => same(combination[key], value))),
  );
  // Entries merge only into the product's combinations, never into those an earlier entry added.
  const originals = combinations.map((combination) => ({ ...combination }));
  for (const entry of entries(include)) {
    let added = false;
    for (const [index, base] of originals.entries()) {
      if (Object.entries(entry).every(([key, value]) => !(key in base) || same(base[key], value))) {
        Object.assign(combinations[index] ?? {}, entry);
        added = true;
      }
    }
    if (!added) combinations.push({ ...entry });
  }
  if (combinations.length === 0) throw new Error('strategy.matrix expands to no job');
  return combinations;
}

/** The inputs context: workflow_dispatch or workflow_call inputs with their defaults and types. */
function inputsContext(workflow: Workflow, event: WorkflowEvent): Record<string, JsonValue> {
  const on = workflow.on;
  const trigger = event.callInputs ? 'workflow_call' : event.name;
  if (trigger !== 'workflow_dispatch' && trigger !== 'workflow_call') return {};
  const definitions =
    ((typeof on === 'object' && on !== null && !Array.isArray(on) ? (on as Mapping)[trigger] : undefined) as { inputs?: Record<string, Mapping> } | null)
      ?.inputs ?? {};
  const given: Record<string, unknown> = event.callInputs ?? ((event.payload.inputs ?? {}) as Record<string, unknown>);
  for (const name of Object.keys(given)) if (!(name in definitions)) throw new Error(`${trigger}: unexpected input ${name}`);
  const inputs: Record<string, JsonValue> = {};
  for (const [name, definition] of Object.entries(definitions)) {
    const value = given[name] ?? definition.default;
    if (value === undefined) {
      if (definition.required) throw new Error(`${trigger}: input ${name} is required`);
      inputs[name] = definition.type === 'boolean' ? false : definition.type === 'number' ? 0 : '';
      continue;
    }
    const text = String(value);
    if (definition.type === 'choice' && !(definition.options as unknown[] | undefined)?.map(String).includes(text))
      throw new Error(`${trigger}: input ${name} must be one of its options`);
    if (definition.type === 'boolean') {
      if (text !== 'true' && text !== 'false') throw new Error(`${trigger}: input ${name} must be true or false`);
      inputs[name] = text === 'true';
    } else if (definition.type === 'number') {
      if (Number.isNaN(Number(text))) throw new Error(`${trigger}: input ${name} must be a number`);
      inputs[name] = Number(text);
    } else inputs[name] = text;
  }
  return inputs;
}
