// Reads a step's output the way the GitHub runner does: which lines it would take as workflow
// commands (`::name props::data` after leading spaces, and the legacy `##[name props]data` anywhere in a
// line), so tests can tell the commands an action meant from ones a value smuggled in.

/** The names the runner acts on (its command extensions plus stop-commands); others are plain text. */
export const runnerCommands = new Set([
  'set-env',
  'set-output',
  'save-state',
  'add-mask',
  'add-path',
  'add-matcher',
  'remove-matcher',
  'debug',
  'warning',
  'error',
  'notice',
  'group',
  'endgroup',
  'echo',
  'stop-commands',
]);

export interface WorkflowCommand {
  name: string;
  /** Everything between the command name and the data: `title=...` properties. */
  properties: string;
  /** As written, still escaped (%0A, %25). */
  data: string;
  legacy: boolean;
  line: string;
}

/** The runner reads output line by line, and .NET's ReadLine ends a line at \n, \r or \r\n. */
export function outputLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

function parseLine(line: string): WorkflowCommand | undefined {
  const trimmed = line.trimStart();
  if (trimmed.startsWith('::')) {
    const end = trimmed.indexOf('::', 2);
    if (end >= 0) {
      const info = trimmed.slice(2, end);
      const space = info.indexOf(' ');
      const name = (space < 0 ? info : info.slice(0, space)).toLowerCase();
      if (runnerCommands.has(name)) return { name, properties: space < 0 ? '' : info.slice(space + 1), data: trimmed.slice(end + 2), legacy: false, line };
    }
  }
  const prefix = line.indexOf('##[');
  if (prefix < 0) return undefined;
  const close = line.indexOf(']', prefix);
  if (close < 0) return undefined;
  const info = line.slice(prefix + 3, close);
  const space = info.indexOf(' ');
  const name = (space < 0 ? info : info.slice(0, space)).toLowerCase();
  if (!runnerCommands.has(name)) return undefined;
  return { name, properties: space < 0 ? '' : info.slice(space + 1), data: line.slice(close + 1), legacy: true, line };
}

/** The commands the runner acts on, in order; between `stop-commands::<token>` and `::<token>::` it acts on none. */
export function workflowCommands(text: string): WorkflowCommand[] {
  const commands: WorkflowCommand[] = [];
  let stopToken: string | undefined;
  for (const line of outputLines(text)) {
    if (stopToken !== undefined) {
      const token = stopToken.toLowerCase();
      const trimmed = line.trimStart().toLowerCase();
      if (trimmed.startsWith(`::${token}::`) || line.toLowerCase().includes(`##[${token}]`)) stopToken = undefined;
      continue;
    }
    const command = parseLine(line);
    if (!command) continue;
    commands.push(command);
    if (command.name === 'stop-commands' && command.data !== '') stopToken = command.data;
  }
  return commands;
}

/** What @actions/core's escapeData does to a command's data. */
export function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function unescapeData(value: string): string {
  return value.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
}

/** The values a step asked the runner to mask, unescaped as the runner stores them. */
export function maskedValues(stdout: string): string[] {
  return workflowCommands(stdout)
    .filter((command) => command.name === 'add-mask' && !command.legacy)
    .map((command) => unescapeData(command.data));
}
