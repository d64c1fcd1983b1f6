// The runner protocol as the GitHub runner parses it, written through @actions/core.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, jest, test } from '@jest/globals';
import { appendSummary, info, rawInput, setOutput, setSecret, warning } from '../../src/runner.ts';
import { parseFileCommands } from '../helpers/run-bundle.ts';
import { workflowCommands } from '../helpers/workflow-commands.ts';

let dir: string;
const saved = { ...process.env };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'runner-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  process.env = { ...saved };
  jest.restoreAllMocks();
});

test('inputs are read from INPUT_<NAME>, upper-cased with hyphens kept, trimmed', () => {
  process.env['INPUT_DRY-RUN'] = ' true \n';
  process.env.INPUT_HOST_NAME = 'x';
  expect(rawInput('dry-run')).toBe('true');
  expect(rawInput('host name')).toBe('x');
  expect(rawInput('absent')).toBe('');
});

test('outputs survive multi-line values and delimiter look-alikes', () => {
  const file = join(dir, 'output');
  writeFileSync(file, '');
  process.env.GITHUB_OUTPUT = file;
  setOutput('services', '[\n{"name":"web"}\n]');
  setOutput('status', 'successful');
  setOutput('tricky', 'EOF\nghadelimiter_x\n');
  expect(parseFileCommands(readFileSync(file, 'utf8'))).toEqual({ services: '[\n{"name":"web"}\n]', status: 'successful', tricky: 'EOF\nghadelimiter_x\n' });
});

test('a secret is masked with an escaped add-mask command, so a multi-line secret cannot inject commands', () => {
  const written: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  setSecret('pa%ss\n::set-output name=x::y');
  expect(written.join('')).toBe('::add-mask::pa%25ss%0A::set-output name=x::y\n');
});

test('text the runner could read as a command is shown between stop-commands markers; plain text as is', () => {
  const written: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  info('[  3s] web: 2 running');
  const hostile = '    | boot\r::error::x\n    | ##[add-path]/tmp/evil\n  ::set-env name=A::b';
  info(hostile);
  expect(written[0]).toBe('[  3s] web: 2 running\n');
  const commands = workflowCommands(written.join(''));
  expect(commands.map((command) => command.name)).toEqual(['stop-commands']);
  expect(written[1]).toContain(`\n${hostile}\n::${commands[0]?.data}::\n`);
});

test('a masked value never reaches the summary or an annotation, which the runner does not mask', async () => {
  const file = join(dir, 'summary.md');
  writeFileSync(file, '');
  process.env.GITHUB_STEP_SUMMARY = file;
  const written: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  setSecret('s3cr3t-value');
  expect(await appendSummary('| password | s3cr3t-value |')).toBe(true);
  warning('login with s3cr3t-value failed', 'ECR s3cr3t-value');
  expect(readFileSync(file, 'utf8')).toBe('| password | *** |\n');
  const annotation = workflowCommands(written.join('')).find((command) => command.name === 'warning');
  expect(annotation?.data).toBe('login with *** failed');
  expect(annotation?.properties).toBe('title=ECR ***');
});

test('without a summary file the summary is skipped, not an error', async () => {
  delete process.env.GITHUB_STEP_SUMMARY;
  expect(await appendSummary('# nothing')).toBe(false);
});
