// .github/workflows/release.yml run as GitHub would on a pushed version tag, against the emulator's
// GitHub API: a small project stands in for this one (its build and catalog are cheap, its dist/ can be
// made stale), so the test is about the workflow, not about building six bundles.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { root } from '../helpers/run-bundle.ts';
import { pushEvent, runWorkflow, type WorkflowRun } from './harness.ts';

const REPOSITORY = 'acme/ecs-deploy-actions';
const TOKEN = 'ghs_releaseWorkflowToken000000000000';
const OLD = '0123456789abcdef0123456789abcdef01234567';
let emulator: RunningEmulator;
let workspace: string;

const CHANGELOG = `# Changelog

## [Unreleased]

- Something not released yet.

## [1.3.0] - 2026-12-03

- Stale on purpose.

## [1.2.0] - 2026-12-02

### Added

- Releases from tags.

### Fixed

- A fix worth a line.

## [1.1.0] - 2026-11-01

- Older.
`;

// The project's shape: sources, a build that writes dist/ from them, a catalog, all committed.
const BUILD = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
mkdirSync('dist', { recursive: true });
writeFileSync('dist/index.js', '// built\\n' + readFileSync('src/index.js', 'utf8'));
`;
const CATALOG = `import { writeFileSync } from 'node:fs';
writeFileSync('action-catalog.md', '# Catalog\\n');
`;

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: workspace, encoding: 'utf8' }).trim();
}

function write(file: string, text: string): void {
  mkdirSync(join(workspace, file, '..'), { recursive: true });
  writeFileSync(join(workspace, file), text);
}

/** Commits the tree as it is; with `build`, first runs the project's build and catalog as a maintainer would. */
function commit(message: string, build: boolean): string {
  if (build) {
    execFileSync('node', ['build.mjs'], { cwd: workspace });
    execFileSync('node', ['catalog.mjs'], { cwd: workspace });
  }
  git('add', '--all');
  git('-c', 'user.name=Maintainer', '-c', 'user.email=maintainer@example.com', '-c', 'commit.gpgsign=false', 'commit', '-qm', message);
  return git('rev-parse', 'HEAD');
}

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${emulator.githubApiUrl}/repos/${REPOSITORY}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}
const tagSha = async (tag: string) => (await api<{ object?: { sha: string } }>('GET', `/git/ref/tags/${tag}`)).body.object?.sha;

function release(tag: string, sha: string, ref = `refs/tags/${tag}`): Promise<WorkflowRun> {
  return runWorkflow({
    file: join(root, '.github/workflows/release.yml'),
    event: pushEvent(ref, sha),
    workspace,
    repository: REPOSITORY,
    secrets: { GITHUB_TOKEN: TOKEN },
    env: { GITHUB_API_URL: emulator.githubApiUrl },
  });
}

const log = (run: WorkflowRun, job: string) => (run.jobs[job]?.steps ?? []).map((step) => `${step.name}: ${step.outcome}\n${step.log}`).join('\n');

beforeAll(async () => {
  emulator = await startEmulator({ registry: false });
  workspace = mkdtempSync(join(tmpdir(), 'release-checkout-'));
  git('init', '-q', '-b', 'main');
  write('.gitignore', 'node_modules/\n');
  write(
    'package.json',
    `${JSON.stringify({ name: 'project', version: '1.2.0', private: true, type: 'module', scripts: { build: 'node build.mjs', catalog: 'node catalog.mjs' } }, null, 2)}\n`,
  );
  write(
    'package-lock.json',
    `${JSON.stringify({ name: 'project', version: '1.2.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'project', version: '1.2.0' } } }, null, 2)}\n`,
  );
  write('build.mjs', BUILD);
  write('catalog.mjs', CATALOG);
  write('src/index.js', 'export const version = "1.2.0";\n');
  write('CHANGELOG.md', CHANGELOG);
  // v1 and v1.1 point at the previous release; v1.2 does not exist yet.
  for (const tag of ['v1', 'v1.1']) expect((await api('POST', '/git/refs', { ref: `refs/tags/${tag}`, sha: OLD })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await emulator?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

test('only vX.Y.Z tags start a release', async () => {
  for (const ref of ['refs/tags/v1.2.0-rc.1', 'refs/tags/v1', 'refs/heads/main']) expect((await release('', OLD, ref)).triggered).toBe(false);
});

test('v1.2.0 with a fresh dist: the release carries its changelog section, v1 and v1.2 move to the tagged commit', async () => {
  const sha = commit('1.2.0', true);
  const run = await release('v1.2.0', sha);
  expect(run.jobs.verify?.result).toBe('success');
  expect(run.jobs.release?.result).toBe('success');
  expect(await tagSha('v1')).toBe(sha);
  expect(await tagSha('v1.2')).toBe(sha);
  // The older minor line stays where it was.
  expect(await tagSha('v1.1')).toBe(OLD);
  const created = await api<{ tag_name: string; name: string; body: string; target_commitish: string; draft: boolean }>('GET', '/releases/tags/v1.2.0');
  expect(created.status).toBe(200);
  expect(created.body).toMatchObject({ tag_name: 'v1.2.0', name: 'v1.2.0', target_commitish: sha, draft: false });
  expect(created.body.body).toBe('### Added\n\n- Releases from tags.\n\n### Fixed\n\n- A fix worth a line.\n');
  // A re-run of the same tag updates that release instead of failing.
  expect((await release('v1.2.0', sha)).jobs.release?.result).toBe('success');
  expect((await api<unknown[]>('GET', '/releases')).body).toHaveLength(1);
}, 120_000);

test('v1.3.0 whose dist is stale fails in verify: no release, no tag moved', async () => {
  const before = await tagSha('v1');
  write('src/index.js', 'export const version = "1.3.0";\n');
  write(
    'package.json',
    `${JSON.stringify({ name: 'project', version: '1.3.0', private: true, type: 'module', scripts: { build: 'node build.mjs', catalog: 'node catalog.mjs' } }, null, 2)}\n`,
  );
  // Committed without rebuilding: dist/index.js still holds 1.2.0.
  const sha = commit('1.3.0, dist forgotten', false);
  const run = await release('v1.3.0', sha);
  expect(run.jobs.verify?.result).toBe('failure');
  expect(log(run, 'verify')).toContain('::error::dist/ or action-catalog.md is stale at v1.3.0');
  expect(log(run, 'verify')).toContain('dist/index.js');
  expect(run.jobs.release?.result).toBe('skipped');
  expect((await api('GET', '/releases/tags/v1.3.0')).status).toBe(404);
  expect(await tagSha('v1')).toBe(before);
  expect((await api('GET', '/git/ref/tags/v1.3')).status).toBe(404);
}, 120_000);

test('a version without a changelog section fails before anything is tagged', async () => {
  const before = await tagSha('v1');
  write('src/index.js', 'export const version = "1.4.0";\n');
  const sha = commit('1.4.0 without notes', true);
  const run = await release('v1.4.0', sha);
  expect(run.jobs.verify?.result).toBe('success');
  expect(run.jobs.release?.result).toBe('failure');
  expect(log(run, 'release')).toContain('no section "## [1.4.0]"');
  expect(await tagSha('v1')).toBe(before);
  expect((await api('GET', '/releases/tags/v1.4.0')).status).toBe(404);
}, 120_000);
