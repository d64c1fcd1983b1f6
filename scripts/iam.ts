// npm run iam [-- <test files or jest options>]: runs the tests recording every permission each action needed
// (nothing is refused meanwhile), then writes iam/observed.json and action-catalog.md. The whole suite replaces
// the record, so calls the code no longer makes drop out; a subset of tests adds to it.
// `npm run iam -- --no-test` rebuilds both from the last recording (build/iam-record) without running anything.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { allows, type Observation } from '../emulator/iam.ts';
import { catalogPath, readActions, renderCatalog } from './catalog.ts';
import { documentedPolicies, formatObserved, type Observed, observedLine, observedPath, readObserved } from './iam-policy.ts';

const root = resolve(import.meta.dirname, '..');
const recordDir = join(root, 'build', 'iam-record');
const scopeFile = join(recordDir, 'scope.json');

const args = process.argv.slice(2);
if (args[0] !== '--no-test') {
  rmSync(recordDir, { recursive: true, force: true });
  mkdirSync(recordDir, { recursive: true });
  writeFileSync(scopeFile, JSON.stringify({ partial: args.length > 0 }));
  // The drift test must not fail on a catalog that only lags behind an action.yml.
  writeFileSync(catalogPath, renderCatalog());
  const run = spawnSync('bash', ['scripts/test.sh', ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ECS_DEPLOY_ACTIONS_IAM_RECORD: recordDir },
  });
  if (run.status !== 0) {
    console.error('npm run iam: tests failed, so the recording may lack calls; iam/observed.json is unchanged (`npm run iam -- --no-test` uses it anyway).');
    process.exit(1);
  }
}

const { partial } = JSON.parse(readFileSync(scopeFile, 'utf8')) as { partial: boolean };
const actions = new Set(readActions().keys());
const recorded = readdirSync(recordDir)
  .filter((file) => file !== 'scope.json' && file.endsWith('.json'))
  .flatMap((file) => JSON.parse(readFileSync(join(recordDir, file), 'utf8')) as Observation[])
  .filter(({ caller }) => actions.has(caller));
const fresh: Observed = {};
for (const { caller, permission } of recorded) {
  const lines = fresh[caller] ?? [];
  lines.push(observedLine(permission));
  fresh[caller] = lines;
}

// Generalising must never lose a call: the policy written, as the tests instantiate it, must allow every call it
// was made from (a call on a resource without our tags, say, would be refused under it).
const policies = documentedPolicies(fresh);
const refused = recorded.filter(({ caller, permission }) => {
  const policy = policies[caller];
  return !policy || !allows(policy, permission);
});
if (refused.length > 0) {
  for (const { caller, permission } of refused) console.error(`the policy generated for ${caller} does not allow ${JSON.stringify(permission)}`);
  process.exit(1);
}

const before = readObserved();
const next: Observed = partial ? { ...before } : {};
for (const [action, lines] of Object.entries(fresh)) next[action] = [...(partial ? (before[action] ?? []) : []), ...lines];
writeFileSync(observedPath, formatObserved(next));
const written = readObserved();
writeFileSync(catalogPath, renderCatalog(undefined, written));

for (const action of [...new Set([...Object.keys(before), ...Object.keys(written)])].sort()) {
  const old = new Set(before[action] ?? []);
  const now = new Set(written[action] ?? []);
  const added = [...now].filter((line) => !old.has(line));
  const removed = [...old].filter((line) => !now.has(line));
  if (added.length + removed.length === 0) continue;
  console.log(`${action}:`);
  for (const line of added) console.log(`  + ${line}`);
  for (const line of removed) console.log(`  - ${line}`);
}
console.log(`wrote ${observedPath} (${recorded.length} permissions recorded${partial ? ', added to the record' : ''}) and ${catalogPath}`);
