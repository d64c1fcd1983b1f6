// The events a workflow run starts from (payload, ref and sha as GitHub sets them), and the `on:`
// filters (activity types, branches, tags, paths, schedules) that decide whether a run starts at all.
import { createHash } from 'node:crypto';

export interface WorkflowEvent {
  /** github.event_name */
  name: string;
  /** github.event, written to GITHUB_EVENT_PATH; repository, sender and a pull request's head and base repo are added when absent. */
  payload: Record<string, unknown>;
  /** GITHUB_REF and GITHUB_SHA as the runner sets them for this event. */
  ref: string;
  sha: string;
  /** The files the push or pull request changes; needed only when the workflow has a paths filter. */
  changedFiles?: string[];
  /** Inputs of a workflow_call: the workflow runs as a reusable workflow called from this event. */
  callInputs?: Record<string, string | number | boolean>;
}

const MAIN_SHA = '0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5';
const HEAD_SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

export function pullRequestEvent(
  action: 'opened' | 'synchronize' | 'reopened' | 'closed' | 'labeled' | 'edited',
  number: number,
  options: { merged?: boolean; headSha?: string; headRef?: string; baseRef?: string; headRepository?: string; changedFiles?: string[] } = {},
): WorkflowEvent {
  const closed = action === 'closed';
  const headSha = options.headSha ?? HEAD_SHA;
  // GitHub's test merge of the head into the base: a new commit whenever either moves.
  const mergeSha = createHash('sha1').update(`merge ${headSha} into ${MAIN_SHA}`).digest('hex');
  const pullRequest = {
    number,
    state: closed ? 'closed' : 'open',
    merged: closed && (options.merged ?? false),
    title: `Change ${number}`,
    user: { login: 'octocat' },
    // The head's repository defaults to the workflow's own (runWorkflow fills it in); a fork names its own.
    head: { ref: options.headRef ?? `feature-${number}`, sha: headSha, ...(options.headRepository ? { repo: { full_name: options.headRepository } } : {}) },
    base: { ref: options.baseRef ?? 'main', sha: MAIN_SHA },
    merge_commit_sha: mergeSha,
    labels: [],
  };
  return {
    name: 'pull_request',
    payload: { action, number, pull_request: pullRequest },
    ref: `refs/pull/${number}/merge`,
    sha: mergeSha,
    changedFiles: options.changedFiles,
  };
}

export function pushEvent(ref: string, sha: string, options: { changedFiles?: string[] } = {}): WorkflowEvent {
  return {
    name: 'push',
    payload: { ref, before: MAIN_SHA, after: sha, head_commit: { id: sha, message: 'Change' } },
    ref,
    sha,
    changedFiles: options.changedFiles,
  };
}

export function scheduleEvent(cron: string): WorkflowEvent {
  return { name: 'schedule', payload: { schedule: cron }, ref: 'refs/heads/main', sha: MAIN_SHA };
}

export function dispatchEvent(inputs: Record<string, string>, ref = 'refs/heads/main'): WorkflowEvent {
  return { name: 'workflow_dispatch', payload: { inputs, ref }, ref, sha: MAIN_SHA };
}

/** The workflow called as a reusable workflow (on: workflow_call) from a job of a run started by `caller`. */
export function callEvent(inputs: Record<string, string | number | boolean>, caller: WorkflowEvent = pushEvent('refs/heads/main', MAIN_SHA)): WorkflowEvent {
  return { ...caller, callInputs: inputs };
}

/** Activity types a workflow gets when its trigger lists none (GitHub's defaults where they are not "all"). */
const DEFAULT_TYPES: Record<string, string[]> = {
  pull_request: ['opened', 'synchronize', 'reopened'],
  pull_request_target: ['opened', 'synchronize', 'reopened'],
};

type Filters = Record<string, unknown>;

/** Whether the workflow's `on:` starts a run for this event. */
export function triggers(on: unknown, event: WorkflowEvent): boolean {
  const triggerName = event.callInputs ? 'workflow_call' : event.name;
  const configured = normalizeOn(on);
  if (!(triggerName in configured)) return false;
  if (event.callInputs) return true;
  const filters = configured[triggerName] ?? {};
  if (event.name === 'schedule') {
    const schedules = Array.isArray(configured.schedule) ? (configured.schedule as { cron?: string }[]) : [];
    return schedules.some((entry) => entry.cron === event.payload.schedule);
  }
  const action = typeof event.payload.action === 'string' ? event.payload.action : undefined;
  const types = stringList(filters.types) ?? DEFAULT_TYPES[event.name];
  if (action && types && !types.includes(action)) return false;
  if (event.name === 'push' || event.name.startsWith('pull_request')) {
    if (!refMatches(filters, event)) return false;
    if (!pathsMatch(filters, event)) return false;
  }
  return true;
}

/** `on: push`, `on: [push, pull_request]` and the mapping form, as one mapping of filters. */
function normalizeOn(on: unknown): Record<string, Filters | undefined> {
  if (typeof on === 'string') return { [on]: {} };
  if (Array.isArray(on)) return Object.fromEntries(on.map((name) => [String(name), {}]));
  if (on && typeof on === 'object') {
    return Object.fromEntries(Object.entries(on).map(([name, filters]) => [name, (filters ?? {}) as Filters]));
  }
  throw new Error('the workflow has no `on:`');
}

function stringList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** Branch filters apply to a pull request's base branch and a push's branch; tag filters to a pushed tag. */
function refMatches(filters: Filters, event: WorkflowEvent): boolean {
  const pullRequest = event.payload.pull_request as { base?: { ref?: string } } | undefined;
  const ref = event.name.startsWith('pull_request') ? `refs/heads/${pullRequest?.base?.ref ?? 'main'}` : event.ref;
  const tag = ref.startsWith('refs/tags/');
  const name = ref.replace(/^refs\/(heads|tags)\//, '');
  const [include, exclude] = tag ? ['tags', 'tags-ignore'] : ['branches', 'branches-ignore'];
  const [otherInclude, otherExclude] = tag ? ['branches', 'branches-ignore'] : ['tags', 'tags-ignore'];
  const only = stringList(filters[include]);
  const ignore = stringList(filters[exclude]);
  if (only) return filterMatches(only, name);
  if (ignore) return !filterMatches(ignore, name);
  // A push filtered only on the other kind of ref (tags only, say) does not start for this one.
  return event.name !== 'push' || !(filters[otherInclude] || filters[otherExclude]);
}

function pathsMatch(filters: Filters, event: WorkflowEvent): boolean {
  const only = stringList(filters.paths);
  const ignore = stringList(filters['paths-ignore']);
  if (!only && !ignore) return true;
  if (!event.changedFiles) throw new Error('the workflow filters on paths: give the event its changedFiles');
  if (only) return event.changedFiles.some((file) => filterMatches(only, file));
  return event.changedFiles.some((file) => !filterMatches(ignore ?? [], file));
}

/** GitHub's filter patterns in order: a later `!pattern` takes back what an earlier one matched. */
export function filterMatches(patterns: string[], value: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (filterRegExp(negated ? pattern.slice(1) : pattern).test(value)) matched = !negated;
  }
  return matched;
}

/** `*` stays within a path segment, `**` crosses them, `?` and `+` repeat the previous character, `[]` is a class. */
function filterRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '\\') source += escapeRegExp(pattern[++i] ?? '');
    else if (char === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?' || char === '+') source += char;
    else if (char === '[') {
      const end = pattern.indexOf(']', i);
      source += end > i ? pattern.slice(i, end + 1) : '\\[';
      i = Math.max(end, i);
    } else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
