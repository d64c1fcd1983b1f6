// Running a tool (buildah, docker, git) without a shell, its output streamed to the log line by line.
import { spawn } from 'node:child_process';
import { ActionError } from './errors.ts';

export interface ToolRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ToolOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with each line of output as it comes, stdout and stderr alike. */
  onLine?: (line: string) => void;
  input?: string;
}

/** Runs a command to its end; never throws for a non-zero exit (the caller decides what that means). */
export function runTool(command: string, args: string[], options: ToolOptions = {}): Promise<ToolRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const output = { stdout: '', stderr: '' };
    const pending = { stdout: '', stderr: '' };
    const collect = (stream: 'stdout' | 'stderr') => (data: Buffer) => {
      const text = data.toString();
      output[stream] += text;
      if (!options.onLine) return;
      const lines = (pending[stream] + text).split(/\r?\n/);
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    };
    child.stdout.on('data', collect('stdout'));
    child.stderr.on('data', collect('stderr'));
    child.on('error', (error) => resolve({ exitCode: 127, stdout: output.stdout, stderr: `${output.stderr}${error.message}` }));
    child.on('close', (code) => {
      for (const rest of [pending.stdout, pending.stderr]) if (rest && options.onLine) options.onLine(rest);
      resolve({ exitCode: code ?? 1, ...output });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a command that must succeed; a failure names the step and shows the tool's last lines. */
export async function mustRun(what: string, command: string, args: string[], options: ToolOptions = {}): Promise<ToolRun> {
  const run = await runTool(command, args, options);
  if (run.exitCode !== 0) {
    const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new ActionError(`${what} failed (${command} exited with ${run.exitCode}):\n${tail}`, `read the ${command} output above for the cause.`);
  }
  return run;
}

/** True when the command runs and exits 0: a tool is installed (and, for docker, its daemon answers). */
export async function answers(command: string, args: string[]): Promise<boolean> {
  return (await runTool(command, args)).exitCode === 0;
}
