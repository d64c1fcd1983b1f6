// The GitHub Actions runner protocol: inputs, outputs, masking, log commands, summary file.
// Our own small module instead of @actions/core: core 3 statically bundles undici (about 480 kB
// minified) for OIDC tokens we never request, which alone would put every bundle over its budget.
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';

/** The raw value of an input as the runner passes it (INPUT_<NAME>), trimmed; "" when absent. */
export function rawInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Every value masked so far. The runner hides them in the log, not in the summary; both get *** from us. */
const secrets = new Set<string>();

function redact(text: string): string {
  let redacted = text;
  for (const value of [...secrets].sort((a, b) => b.length - a.length)) redacted = redacted.split(value).join('***');
  return redacted;
}

function command(name: string, message: string, properties: Record<string, string> = {}): void {
  const props = Object.entries(properties)
    .map(([key, value]) => `${key}=${escapeProperty(redact(value))}`)
    .join(',');
  process.stdout.write(`::${name}${props ? ` ${props}` : ''}::${escapeData(name === 'add-mask' ? message : redact(message))}${EOL}`);
}

/** Appends a `name<<delimiter` block to a runner file such as GITHUB_OUTPUT. */
function appendKeyValue(fileVariable: string, name: string, value: string): boolean {
  const file = process.env[fileVariable];
  if (!file) return false;
  const delimiter = `ghadelimiter_${randomUUID()}`;
  appendFileSync(file, `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`);
  return true;
}

export function setOutput(name: string, value: string | number | boolean): void {
  const text = String(value);
  // Outside a runner (no GITHUB_OUTPUT) the legacy command keeps outputs visible in the log.
  if (!appendKeyValue('GITHUB_OUTPUT', name, text)) command('set-output', text, { name });
}

/** Tells the runner to replace every occurrence of value with *** in the log. */
export function setSecret(value: string): void {
  if (!value) return;
  command('add-mask', value);
  secrets.add(value);
}

/** Text the runner could take for a workflow command: `::` starting a line (it also ends lines at \r), or the legacy `##[` anywhere. */
const commandLike = /(?:^|[\r\n])\s*::|##\[/;

export function info(text: string): void {
  const message = redact(text);
  if (!commandLike.test(message)) {
    process.stdout.write(`${message}${EOL}`);
    return;
  }
  // Text from outside (values, service events, container logs) goes out between stop-commands
  // markers: the runner shows it and acts on none of it.
  const token = randomUUID();
  process.stdout.write(`::stop-commands::${token}${EOL}${message}${EOL}::${token}::${EOL}`);
}

export function warning(message: string, title?: string): void {
  command('warning', message, title ? { title } : {});
}

export function error(message: string, title?: string): void {
  command('error', message, title ? { title } : {});
}

export function startGroup(title: string): void {
  command('group', title);
}

export function endGroup(): void {
  command('endgroup', '');
}

/** Appends markdown to the job summary; false when the runner gave no summary file. */
export function appendSummary(markdown: string): boolean {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (!file) return false;
  const redacted = redact(markdown);
  appendFileSync(file, redacted.endsWith(EOL) ? redacted : `${redacted}${EOL}`);
  return true;
}
