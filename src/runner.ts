// The runner protocol through @actions/core, plus what core leaves to us: outside text between
// stop-commands markers, and masked values redacted in annotations and the summary too.
import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';

/** The raw value of an input as the runner passes it (INPUT_<NAME>), trimmed; "" when absent. */
export function rawInput(name: string): string {
  return core.getInput(name);
}

/** Every value masked so far. The runner hides them in the log, not in the summary; both get *** from us. */
const secrets = new Set<string>();

function redact(text: string): string {
  let redacted = text;
  for (const value of [...secrets].sort((a, b) => b.length - a.length)) redacted = redacted.split(value).join('***');
  return redacted;
}

export function setOutput(name: string, value: string | number | boolean): void {
  core.setOutput(name, String(value));
}

/** Tells the runner to replace every occurrence of value with *** in the log. */
export function setSecret(value: string): void {
  if (!value) return;
  core.setSecret(value);
  secrets.add(value);
}

/** Text the runner could take for a workflow command: `::` starting a line (it also ends lines at \r), or the legacy `##[` anywhere. */
const commandLike = /(?:^|[\r\n])\s*::|##\[/;

export function info(text: string): void {
  const message = redact(text);
  if (!commandLike.test(message)) {
    core.info(message);
    return;
  }
  // Text from outside (values, service events, container logs) goes out between stop-commands
  // markers: the runner shows it and acts on none of it.
  const token = randomUUID();
  core.info(`::stop-commands::${token}\n${message}\n::${token}::`);
}

export function warning(message: string, title?: string): void {
  core.warning(redact(message), title ? { title: redact(title) } : {});
}

export function error(message: string, title?: string): void {
  core.error(redact(message), title ? { title: redact(title) } : {});
}

export function startGroup(title: string): void {
  core.startGroup(redact(title));
}

export function endGroup(): void {
  core.endGroup();
}

/** Appends markdown to the job summary; false when the runner gave no summary file. */
export async function appendSummary(markdown: string): Promise<boolean> {
  if (!process.env.GITHUB_STEP_SUMMARY) return false;
  const redacted = redact(markdown);
  await core.summary.addRaw(redacted.endsWith('\n') ? redacted : `${redacted}\n`).write();
  return true;
}
