// The security rules every workflow here and every example users copy must follow (issues #18, #21).
// Each rule reads the parsed workflow (and, for pins, the source lines) and names what it found.
import { parse } from 'yaml';

export type Rule =
  | 'expression-in-run'
  | 'permissions-missing'
  | 'permissions-broad'
  | 'permission-unused'
  | 'unpinned-action'
  | 'pin-without-version'
  | 'pull-request-target'
  | 'checkout-persists-credentials'
  | 'shared-role-variable';

export interface Finding {
  file: string;
  rule: Rule;
  message: string;
}

type Mapping = Record<string, unknown>;
interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Mapping;
}
interface Job {
  permissions?: unknown;
  environment?: unknown;
  steps?: Step[];
  uses?: string;
}
interface Workflow {
  on?: unknown;
  permissions?: unknown;
  jobs?: Record<string, Job>;
}

/** Data someone other than a maintainer controls, or that a step computed from it: never spliced into a shell script. */
const UNTRUSTED = [/\bsteps\./, /\bgithub\.event\b/, /\bgithub\.head_ref\b/, /\binputs\./, /\bneeds\.[\w-]+\.outputs\b/];

/** This repository's actions: `<owner>/ecs-deploy-actions/actions/<name>` at a major (or exact) version or a SHA. */
const OUR_ACTION = /^[\w.-]+\/ecs-deploy-actions\/actions\/[\w-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/;
const CHECKOUT = /^actions\/checkout@/;
const CONFIGURE_AWS = /^aws-actions\/configure-aws-credentials@/;

function expressions(text: string): string[] {
  return [...text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((match) => (match[1] ?? '').trim());
}

function triggers(on: unknown): string[] {
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.map(String);
  if (on && typeof on === 'object') return Object.keys(on);
  return [];
}

const steps = (job: Job): Step[] => (Array.isArray(job.steps) ? job.steps : []);

/** `{}` or only read (or none) grants; `read-all` too. */
function readOnly(permissions: unknown): boolean {
  if (permissions === 'read-all') return true;
  if (!permissions || typeof permissions !== 'object') return false;
  return Object.values(permissions).every((level) => level === 'read' || level === 'none');
}

/** What each write grant is for, as the job's steps show it; a grant nothing uses is a finding. */
const WRITE_USES: Record<string, (job: Job) => boolean> = {
  'id-token': (job) => steps(job).some((step) => CONFIGURE_AWS.test(step.uses ?? '') && step.with?.['role-to-assume'] !== undefined),
  // Our actions comment on the pull request and record deployments with the token they are given.
  'pull-requests': (job) => steps(job).some((step) => OUR_ACTION.test(step.uses ?? '') && step.with?.['github-token'] !== undefined),
  deployments: (job) => steps(job).some((step) => OUR_ACTION.test(step.uses ?? '') && step.with?.['github-token'] !== undefined),
  // Tags, releases and pushes: through the REST API or git.
  contents: (job) => steps(job).some((step) => /\/git\/refs|\/releases|\bgit push\b|\bgh release\b/.test(step.run ?? '')),
};

function permissionFindings(file: string, workflow: Workflow): Finding[] {
  const findings: Finding[] = [];
  const found = (rule: Rule, message: string) => findings.push({ file, rule, message });
  if (workflow.permissions === undefined)
    found('permissions-missing', 'no top-level permissions: the token gets the repository default, which may be write-all');
  else if (!readOnly(workflow.permissions) && JSON.stringify(workflow.permissions) !== '{}')
    found('permissions-broad', `top-level permissions ${JSON.stringify(workflow.permissions)}: make them {} (or read-only) and grant writes per job`);
  for (const [id, job] of Object.entries(workflow.jobs ?? {})) {
    const permissions = job.permissions;
    if (permissions === undefined) continue;
    if (typeof permissions === 'string') {
      if (permissions !== 'read-all') found('permissions-broad', `job ${id}: permissions ${permissions}; list the ones it uses`);
      continue;
    }
    for (const [scope, level] of Object.entries((permissions ?? {}) as Mapping)) {
      if (level !== 'write') continue;
      const uses = WRITE_USES[scope];
      if (!uses) found('permissions-broad', `job ${id}: ${scope}: write, which none of the workflows here needs`);
      else if (!uses(job)) found('permission-unused', `job ${id}: ${scope}: write, which none of its steps uses`);
    }
    if ((permissions as Mapping).contents === 'read' && !steps(job).some((step) => CHECKOUT.test(step.uses ?? '')) && !job.uses)
      found('permission-unused', `job ${id}: contents: read without a checkout`);
  }
  return findings;
}

/** `uses:` lines as written, with their comments: a SHA pin must say which version it is. */
function pinFindings(file: string, workflow: Workflow, source: string): Finding[] {
  const findings: Finding[] = [];
  const all = Object.entries(workflow.jobs ?? {}).flatMap(([id, job]) => [
    ...(job.uses ? [{ id, uses: job.uses }] : []),
    ...steps(job).flatMap((step) => (step.uses ? [{ id, uses: step.uses }] : [])),
  ]);
  for (const { id, uses } of all) {
    if (uses.startsWith('./') || OUR_ACTION.test(uses)) continue;
    if (uses.startsWith('docker://')) {
      if (!/@sha256:[0-9a-f]{64}$/.test(uses)) findings.push({ file, rule: 'unpinned-action', message: `job ${id}: ${uses} is not pinned by digest` });
      continue;
    }
    if (!/^[^@\s]+@[0-9a-f]{40}$/.test(uses)) {
      findings.push({ file, rule: 'unpinned-action', message: `job ${id}: ${uses} is not pinned by a full commit SHA` });
      continue;
    }
    const escaped = uses.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const lines = source.split('\n').filter((line) => new RegExp(`uses:\\s*["']?${escaped}["']?`).test(line));
    if (lines.length === 0 || lines.some((line) => !/#\s*v\d+(\.\d+)*\b/.test(line)))
      findings.push({ file, rule: 'pin-without-version', message: `job ${id}: ${uses} needs its version in a comment (# vX.Y.Z)` });
  }
  return findings;
}

/** The rules that read one workflow on its own. */
export function checkWorkflow(file: string, source: string): Finding[] {
  const workflow = (parse(source) ?? {}) as Workflow;
  const findings: Finding[] = [];
  if (triggers(workflow.on).includes('pull_request_target'))
    findings.push({ file, rule: 'pull-request-target', message: 'pull_request_target runs with secrets and a write token on code from forks' });
  findings.push(...permissionFindings(file, workflow), ...pinFindings(file, workflow, source));
  for (const [id, job] of Object.entries(workflow.jobs ?? {})) {
    for (const [index, step] of steps(job).entries()) {
      const name = `job ${id} step ${step.id ?? index + 1}`;
      if (typeof step.run === 'string') {
        for (const expression of expressions(step.run)) {
          if (UNTRUSTED.some((pattern) => pattern.test(expression)))
            findings.push({ file, rule: 'expression-in-run', message: `${name}: \${{ ${expression} }} inside run:; pass it through env: and quote it` });
        }
      }
      const persist = step.with?.['persist-credentials'];
      if (CHECKOUT.test(step.uses ?? '') && persist !== false && persist !== 'false')
        findings.push({
          file,
          rule: 'checkout-persists-credentials',
          message: `${name}: checkout without persist-credentials: false leaves the token in .git/config`,
        });
    }
  }
  return findings;
}

/** Where a job's token could come from: previews (pull requests, preview environments), production, or neither. */
function trustLevels(workflow: Workflow, job: Job): Set<'previews' | 'production'> {
  const levels = new Set<'previews' | 'production'>();
  const environment = typeof job.environment === 'object' && job.environment !== null ? (job.environment as Mapping).name : job.environment;
  const names: string[] = [];
  if (typeof environment === 'string') {
    const expression = expressions(environment)[0];
    const input = expression ? /^inputs\.([\w-]+)$/.exec(expression)?.[1] : undefined;
    const on = workflow.on && typeof workflow.on === 'object' ? (workflow.on as Mapping) : {};
    const options = input ? ((on.workflow_dispatch as { inputs?: Record<string, { options?: unknown[] }> } | null)?.inputs?.[input]?.options ?? []) : [];
    // An environment the workflow computes could be any, production included, unless it is a choice input.
    if (expression === undefined) names.push(environment);
    else if (options.length > 0) names.push(...options.map(String));
    else names.push('production');
  }
  for (const name of names) {
    if (/prod/i.test(name)) levels.add('production');
    if (/preview|^pr-/i.test(name)) levels.add('previews');
  }
  if (names.length === 0 && triggers(workflow.on).some((trigger) => trigger.startsWith('pull_request'))) levels.add('previews');
  return levels;
}

/** Rule across a folder: a role variable (or secret) that previews jobs use must not be the one production jobs use. */
export function checkRoleVariables(files: { file: string; source: string }[]): Finding[] {
  const uses = new Map<string, { previews: string[]; production: string[] }>();
  for (const { file, source } of files) {
    const workflow = (parse(source) ?? {}) as Workflow;
    for (const [id, job] of Object.entries(workflow.jobs ?? {})) {
      const levels = trustLevels(workflow, job);
      for (const step of steps(job)) {
        const role = step.with?.['role-to-assume'];
        if (!CONFIGURE_AWS.test(step.uses ?? '') || typeof role !== 'string') continue;
        const names = [...role.matchAll(/\b(vars|secrets)\.([\w-]+)/g)].map((match) => `${match[1]}.${match[2]}`);
        // A literal ARN is its own name: the same ARN in both places is the same role.
        for (const name of names.length > 0 ? names : [role]) {
          const entry = uses.get(name) ?? { previews: [], production: [] };
          for (const level of levels) entry[level].push(`${file} job ${id}`);
          uses.set(name, entry);
        }
      }
    }
  }
  return [...uses.entries()]
    .filter(([, where]) => where.previews.length > 0 && where.production.length > 0)
    .map(([name, where]) => ({
      file: where.production[0]?.split(' ')[0] ?? '',
      rule: 'shared-role-variable' as const,
      message: `${name} is the role of previews (${where.previews.join(', ')}) and of production (${where.production.join(', ')}): give each trust level its own role`,
    }));
}
