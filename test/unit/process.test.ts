// Running tools through @actions/exec: output line by line, exit codes, stdin, a missing tool.
import { expect, jest, test } from '@jest/globals';
import { ActionError } from '../../src/errors.ts';
import { answers, mustRun, runTool } from '../../src/process.ts';

test('each line of stdout and stderr reaches the caller as it comes, and nothing is echoed to the log', async () => {
  const write = jest.spyOn(process.stdout, 'write');
  const lines: string[] = [];
  const run = await runTool('sh', ['-c', 'echo one; echo two >&2; printf "three\\r\\nfour"; exit 3'], { onLine: (line) => lines.push(line) });
  expect(run.exitCode).toBe(3);
  expect(lines.sort()).toEqual(['four', 'one', 'three', 'two']);
  expect(run.stdout).toBe('one\nthree\r\nfour');
  expect(run.stderr).toBe('two\n');
  expect(write).not.toHaveBeenCalled();
  write.mockRestore();
});

test('input goes to stdin; the working directory and environment are the ones given', async () => {
  expect((await runTool('cat', [], { input: 'password' })).stdout).toBe('password');
  const run = await runTool('sh', ['-c', 'pwd; echo "$GREETING"'], { cwd: '/tmp', env: { PATH: process.env.PATH ?? '', GREETING: 'hi' } });
  expect(run.stdout).toBe('/tmp\nhi\n');
});

test('a tool that is not installed: exit 127, never a crash; answers() says no', async () => {
  const run = await runTool('no-such-tool-here', ['--version']);
  expect(run.exitCode).toBe(127);
  expect(await answers('no-such-tool-here', ['--version'])).toBe(false);
  expect(await answers('sh', ['-c', 'exit 0'])).toBe(true);
  expect(await answers('sh', ['-c', 'exit 1'])).toBe(false);
});

test('mustRun fails with the step, the exit code and the last lines', async () => {
  const failure = await mustRun('pushing the image', 'sh', ['-c', 'echo denied >&2; exit 2']).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ActionError);
  expect((failure as ActionError).message).toBe('pushing the image failed (sh exited with 2):\ndenied');
});
