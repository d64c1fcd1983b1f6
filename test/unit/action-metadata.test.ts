// action.yml is what users read; the input specs are what the code parses. They must agree.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { readActions } from '../../scripts/catalog.ts';
import { buildPushEcrInputs } from '../../src/actions/build-push-ecr.ts';
import { provisionPlatformInputs } from '../../src/actions/provision-platform.ts';
import { rollbackInputs } from '../../src/actions/rollback-to-revision.ts';
import { rolloutInputs } from '../../src/actions/rollout-with-circuit-breaker.ts';
import { scaleScheduleInputs } from '../../src/actions/scale-schedule.ts';
import { teardownEnvInputs } from '../../src/actions/teardown-env.ts';
import type { InputSpec } from '../../src/inputs.ts';
import { VERSION } from '../../src/version.ts';
import { root } from '../helpers/run-bundle.ts';

const specs: Record<string, InputSpec> = {
  'build-push-ecr': buildPushEcrInputs,
  'provision-platform': provisionPlatformInputs,
  'rollback-to-revision': rollbackInputs,
  'rollout-with-circuit-breaker': rolloutInputs,
  'scale-schedule': scaleScheduleInputs,
  'teardown-env': teardownEnvInputs,
};

const actions = readActions();

test('all six actions exist', () => {
  expect([...actions.keys()]).toEqual(Object.keys(specs).sort());
});

describe.each([...actions])('%s/action.yml', (name, action) => {
  const spec = specs[name] ?? {};

  test('runs the committed bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: `../../dist/${name}/index.js` });
    expect(existsSync(join(root, 'actions', name, action.runs.main))).toBe(true);
  });

  test('declares exactly the inputs the code reads, with the same required flags and defaults', () => {
    const declared = Object.entries(action.inputs).map(([input, meta]) => [input, meta.required === true, meta.default]);
    const parsed = Object.entries(spec).map(([input, meta]) => [input, meta.required, meta.default]);
    expect(declared).toEqual(parsed);
  });

  test('describes every input and output; kebab-case names', () => {
    for (const [input, meta] of Object.entries(action.inputs)) {
      expect(input).toMatch(/^[a-z]+(?:-[a-z]+)*$/);
      expect(meta.description.length).toBeGreaterThan(10);
    }
    expect(Object.keys(action.outputs).length).toBeGreaterThan(0);
    for (const [output, meta] of Object.entries(action.outputs)) {
      expect(output).toMatch(/^[a-z]+(?:-[a-z]+)*$/);
      expect(meta.description.length).toBeGreaterThan(10);
    }
  });

  test('has branding for the marketplace', () => {
    const yaml = readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8');
    expect(yaml).toMatch(/branding:\n\s+icon: \S+\n\s+color: \S+/);
  });
});

test('protected-environments says it takes globs and which environments its default protects', () => {
  const inputs = [...actions].flatMap(([name, action]) => {
    const input = action.inputs['protected-environments'];
    return input ? [{ name, ...input }] : [];
  });
  expect(inputs.map((input) => input.name)).toEqual(['scale-schedule', 'teardown-env']);
  for (const input of inputs) {
    expect(input.description).toMatch(/globs \(\* and \?\) such as prod\* or live/);
    const defaults = (input.default ?? '').split(',');
    expect(input.description).toContain(`The default, ${defaults.slice(0, -1).join(', ')} and ${defaults.at(-1)}, protects those exact names`);
  }
});

test('the version sent in the user agent is the package version', () => {
  expect(VERSION).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
});
