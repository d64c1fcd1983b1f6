// Every input of every action, fuzzed: the dist bundle, run as a runner runs it, refuses a malformed
// value with exit code 1 and an error naming the input, before any AWS call that changes something;
// a value that is legitimately valid never makes the step smuggle a workflow command, crash or flood the log.
// The inputs come from each action.yml. `npm run fuzz` runs every case; by default two cases of each
// class per input, picked with FUZZ_SEED (under 1.5 minutes on 2 cores; the full matrix takes 4 to 6).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { type Denier, startDenier } from '../helpers/aws-denier.ts';
import { type FuzzCase, fuzzMatrix, MARKER, sample, validSets } from '../helpers/fuzz-cases.ts';
import { type BundleRun, runBundle } from '../helpers/run-bundle.ts';
import { outputLines, unescapeData, workflowCommands } from '../helpers/workflow-commands.ts';
import type { CallRecord } from '../helpers/world.ts';

const full = process.env.FUZZ === 'full';
const seed = Number(process.env.FUZZ_SEED ?? 10);
const concurrency = Number(process.env.FUZZ_CONCURRENCY ?? 3);

const matrix = fuzzMatrix();
const cases = full ? matrix.cases : sample(matrix.cases, seed, 2);
const actions = [...matrix.specs.keys()];

/** The workflow commands src/runner.ts writes when GITHUB_OUTPUT is set; any other is smuggled. */
const ours = new Set(['error', 'warning', 'group', 'endgroup', 'add-mask', 'stop-commands']);

let emulators: RunningEmulator[] = [];
let denier: Denier;
const tally: { action: string; cases: number; refused: number; failed: number; seconds: number }[] = [];

beforeAll(async () => {
  emulators = await Promise.all(Array.from({ length: concurrency }, () => startEmulator({ timeScale: 100, registry: false })));
  denier = await startDenier();
});

afterAll(async () => {
  await Promise.all(emulators.map((emulator) => emulator.stop()));
  await denier.close();
  const total = tally.reduce((sum, row) => ({ cases: sum.cases + row.cases, failed: sum.failed + row.failed, seconds: sum.seconds + row.seconds }), {
    cases: 0,
    failed: 0,
    seconds: 0,
  });
  console.log(
    [
      `fuzz (${full ? 'full matrix' : `sample, FUZZ_SEED=${seed}`}, ${matrix.cases.length} cases in the full matrix, concurrency ${concurrency}):`,
      ...tally.map((row) => `  ${row.action}: ${row.cases} cases (${row.refused} must be refused), ${row.failed} failed, ${row.seconds.toFixed(1)}s`),
      `  total: ${total.cases} cases, ${total.failed} failed, ${total.seconds.toFixed(1)}s`,
    ].join('\n'),
  );
});

async function control<T>(emulator: RunningEmulator, path: string, method = 'GET'): Promise<T> {
  return (await (await fetch(`${emulator.endpoint}${path}`, { method })).json()) as T;
}

/** A case that must be refused runs against an emulator, where a read-only call is harmless and every call is recorded. */
async function runCase(fuzzCase: FuzzCase, emulator: RunningEmulator): Promise<{ run: BundleRun; mutating: string[] }> {
  if (fuzzCase.expect === 'accepted') {
    const run = await runBundle(fuzzCase.action, { inputs: fuzzCase.inputs, env: { AWS_ENDPOINT_URL: denier.url, GITHUB_API_URL: `${denier.url}/github` } });
    return { run, mutating: [] };
  }
  const run = await runBundle(fuzzCase.action, {
    inputs: fuzzCase.inputs,
    env: { AWS_ENDPOINT_URL: emulator.endpoint, GITHUB_API_URL: emulator.githubApiUrl, ECS_DEPLOY_ACTIONS_TIME_SCALE: '100' },
    timeoutMs: 20_000,
  });
  const { calls } = await control<{ calls: CallRecord[] }>(emulator, '/_emulator/calls');
  if (calls.length > 0) await control(emulator, '/_emulator/reset', 'POST');
  return { run, mutating: calls.filter((call) => call.mutating).map((call) => `${call.service}:${call.operation}`) };
}

/** What is wrong with a run: an empty list when the step behaved. */
function problemsOf(fuzzCase: FuzzCase, run: BundleRun, mutating: string[]): string[] {
  const problems: string[] = [];
  if (run.exitCode !== 0 && run.exitCode !== 1) problems.push(`exit code ${run.exitCode} (killed or crashed)`);
  if (run.stdout.includes('Unexpected error')) problems.push(`crashed: ${run.stdout.slice(run.stdout.indexOf('Unexpected error'), 300)}`);
  if (run.stderr !== '') problems.push(`wrote to stderr: ${run.stderr.slice(0, 200)}`);
  const given = fuzzCase.value.trim();
  for (const command of [...workflowCommands(run.stdout), ...workflowCommands(run.stderr)]) {
    const data = unescapeData(command.data);
    const smuggled =
      command.legacy ||
      !ours.has(command.name) ||
      command.properties.includes(MARKER) ||
      // runner.ts stops commands around text from outside with a fresh UUID.
      (command.name === 'stop-commands' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(command.data)) ||
      (command.name === 'add-mask' ? data.includes(MARKER) && data !== given : command.data.startsWith(MARKER));
    if (smuggled) problems.push(`smuggled workflow command: ${JSON.stringify(command.line.slice(0, 120))}`);
  }
  const longest = Math.max(
    0,
    ...outputLines(run.stdout)
      .filter((line) => !line.startsWith('::add-mask::'))
      .map((line) => line.length),
  );
  if (longest > 10_000) problems.push(`a log line of ${longest} characters`);
  if (run.summary.length > 20_000) problems.push(`a summary of ${run.summary.length} characters`);
  if (fuzzCase.kind === 'token' && given.length >= 8) {
    const unmasked = run.stdout.replace(/^::add-mask::.*$/gm, '');
    if ([unmasked, run.stderr, run.summary, ...Object.values(run.outputs)].some((text) => text.includes(given))) problems.push('the token shows up in the log');
  }
  if (fuzzCase.expect === 'refused') {
    if (run.exitCode !== 1) problems.push(`exit code ${run.exitCode}, not 1`);
    const named = workflowCommands(run.stdout).some(
      (command) => command.name === 'error' && !command.legacy && unescapeData(command.data).includes(`Input "${fuzzCase.input}"`),
    );
    if (!named) {
      const errors = workflowCommands(run.stdout).filter((command) => command.name === 'error');
      problems.push(
        `no error naming Input "${fuzzCase.input}" (${errors.map((command) => unescapeData(command.data).slice(0, 160)).join(' | ') || 'no error at all'})`,
      );
    }
    if (!run.summary.includes(`Input "${fuzzCase.input}"`)) problems.push('the summary does not name the input');
    if (mutating.length > 0) problems.push(`mutating AWS calls: ${mutating.join(', ')}`);
  }
  return problems;
}

/** Runs the cases on `concurrency` emulators, one case per emulator at a time. */
async function runAll(todo: FuzzCase[]): Promise<{ fuzzCase: FuzzCase; problems: string[] }[]> {
  const results: { fuzzCase: FuzzCase; problems: string[] }[] = [];
  let next = 0;
  await Promise.all(
    emulators.map(async (emulator) => {
      for (let index = next++; index < todo.length; index = next++) {
        const fuzzCase = todo[index] as FuzzCase;
        const { run, mutating } = await runCase(fuzzCase, emulator);
        results.push({ fuzzCase, problems: problemsOf(fuzzCase, run, mutating) });
      }
    }),
  );
  return results;
}

function describeCase(fuzzCase: FuzzCase): string {
  return `${fuzzCase.input} = ${fuzzCase.valueClass}: ${fuzzCase.label} (must be ${fuzzCase.expect})`;
}

test('the checks catch what they look for', () => {
  const refused = cases.find((fuzzCase) => fuzzCase.expect === 'refused' && fuzzCase.kind === 'name') as FuzzCase;
  const clean = {
    exitCode: 1,
    stdout: `::error title=t::Input "${refused.input}": "x%0A::error::${MARKER}" is not valid.\n`,
    stderr: '',
    outputs: {},
    summary: `Input "${refused.input}"`,
  };
  expect(problemsOf(refused, clean, [])).toEqual([]);
  const stopped = `::stop-commands::0b0e7a56-3c1f-4c1e-9d2a-5a8f0e1f2b3c\n::error::${MARKER}\nx ##[add-path]/tmp\n::0b0e7a56-3c1f-4c1e-9d2a-5a8f0e1f2b3c::\n`;
  expect(problemsOf(refused, { ...clean, stdout: clean.stdout + stopped }, [])).toEqual([]);
  const broken: [Partial<BundleRun>, string[], RegExp][] = [
    [{ stdout: `${clean.stdout}::error::${MARKER}\n` }, [], /smuggled/],
    [{ stdout: `${clean.stdout}x\r  ::warning::${MARKER}\n` }, [], /smuggled/],
    [{ stdout: `${clean.stdout}[ 1s] x ##[set-output name=a;]b\n` }, [], /smuggled/],
    [{ stdout: `${clean.stdout}::stop-commands::${MARKER}\n` }, [], /smuggled/],
    [{ stdout: `${clean.stdout}::add-mask::${MARKER}\n` }, [], /smuggled/],
    [{ stdout: `${clean.stdout}${'a'.repeat(10_001)}\n` }, [], /log line/],
    [{ stdout: '::error title=t::No service web.\n' }, [], /no error naming/],
    [{ exitCode: 0 }, [], /exit code 0/],
    [{ stderr: 'TypeError' }, [], /stderr/],
    [{ stdout: `${clean.stdout}Unexpected error: x` }, [], /crashed/],
    [{}, ['ecs:CreateCluster'], /mutating AWS calls: ecs:CreateCluster/],
  ];
  for (const [change, mutating, problem] of broken) expect(problemsOf(refused, { ...clean, ...change }, mutating).join('; ')).toMatch(problem);
});

test('every input of every action.yml is fuzzed with every class of value', () => {
  for (const [action, specs] of matrix.specs) {
    for (const input of specs.keys()) {
      const classes = new Set(matrix.cases.filter((fuzzCase) => fuzzCase.action === action && fuzzCase.input === input).map((fuzzCase) => fuzzCase.valueClass));
      expect([action, input, [...classes].sort()]).toEqual([action, input, expect.arrayContaining(['blank', 'huge', 'injection', 'unicode'])]);
      expect(cases.some((fuzzCase) => fuzzCase.action === action && fuzzCase.input === input)).toBe(true);
    }
  }
  const inferred = [...matrix.specs].flatMap(([action, specs]) =>
    [...specs].filter(([, spec]) => spec.inferred).map(([input, spec]) => `${action}:${input} (${spec.kind})`),
  );
  if (inferred.length > 0) console.log(`inputs typed from action.yml, not from the table in test/helpers/fuzz-cases.ts: ${inferred.join(', ')}`);
  expect(matrix.cases.length).toBeGreaterThan(20 * [...matrix.specs.values()].reduce((sum, specs) => sum + specs.size, 0));
});

test.each(actions)('%s: each valid set the cases start from is accepted', async (action) => {
  for (const inputs of validSets(action)) {
    const run = await runBundle(action, { inputs, env: { AWS_ENDPOINT_URL: denier.url, GITHUB_API_URL: `${denier.url}/github` } });
    expect([inputs, run.stdout]).toEqual([inputs, expect.not.stringContaining('Input "')]);
    // The denier refuses the first AWS call: the step got past its inputs.
    expect(run.stdout).toContain('denied by the test');
  }
});

describe.each(actions)('%s', (action) => {
  test('malformed inputs are refused naming the input, before any change; odd valid ones do no harm', async () => {
    const mine = cases.filter((fuzzCase) => fuzzCase.action === action);
    const started = Date.now();
    const results = await runAll(mine);
    const failed = results.filter((result) => result.problems.length > 0);
    tally.push({
      action,
      cases: mine.length,
      refused: mine.filter((fuzzCase) => fuzzCase.expect === 'refused').length,
      failed: failed.length,
      seconds: (Date.now() - started) / 1000,
    });
    expect(failed.map((result) => `${describeCase(result.fuzzCase)}: ${result.problems.join('; ')}`).sort()).toEqual([]);
  }, 600_000);
});
