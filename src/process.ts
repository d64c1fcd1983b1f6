// Running a tool (buildah, docker, git) through @actions/exec, without a shell and without echoing it:
// its output reaches the log only line by line through the caller.
import { exec } from '@actions/exec';
import { which } from '@actions/io';
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
export async function runTool(command: string, args: string[], options: ToolOptions = {}): Promise<ToolRun> {
  const output = { stdout: '', stderr: '' };
  const line = (text: string) => options.onLine?.(text.replace(/\r$/, ''));
  try {
    const exitCode = await exec(command, args, {
      ...(options.cwd ? { cwd: options.cwd } : {}),
      env: definedOnly(options.env ?? process.env),
      ...(options.input ? { input: Buffer.from(options.input) } : {}),
      silent: true,
      ignoreReturnCode: true,
      listeners: {
        stdout: (data) => {
          output.stdout += data.toString();
        },
        stderr: (data) => {
          output.stderr += data.toString();
        },
        stdline: line,
        errline: line,
      },
    });
    // @actions/exec keeps a last line without a newline to itself.
    for (const text of [output.stdout, output.stderr]) {
      const rest = text.slice(text.lastIndexOf('\n') + 1);
      if (rest) line(rest);
    }
    return { exitCode, ...output };
  } catch (error) {
    // Not found on PATH, or not startable: what a shell would say with 127.
    return { exitCode: 127, stdout: output.stdout, stderr: `${output.stderr}${error instanceof Error ? error.message : String(error)}` };
  }
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
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

/** True when the command is on PATH, runs and exits 0: a tool is installed (and, for docker, its daemon answers). */
export async function answers(command: string, args: string[]): Promise<boolean> {
  if (!(await which(command, false))) return false;
  return (await runTool(command, args)).exitCode === 0;
}
