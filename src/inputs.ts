// Typed, validated action inputs: every string an action reads is parsed here, once, up front.
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { InputError, type InputProblem, inputError } from './errors.ts';
import { rawInput, setSecret } from './runner.ts';

export interface ParseContext {
  input: string;
  /** The region the action runs in (AWS_REGION), for checking ARNs. */
  region: string | undefined;
  /** The account of every ARN read so far, by input: one step works in one account. */
  accounts?: { input: string; account: string }[];
}

/** Turns a non-empty raw value into a typed one, or throws an InputError naming the input. */
export type Parser<T> = (raw: string, context: ParseContext) => T;

export interface Input<T> {
  required: boolean;
  /** The default as a user would write it; it must equal the `default:` in action.yml. */
  default: string | undefined;
  parse: Parser<T>;
}

export function required<T>(parse: Parser<T>): Input<T> {
  return { required: true, default: undefined, parse };
}

export function optional<T>(parse: Parser<T>): Input<T | undefined> {
  return { required: false, default: undefined, parse };
}

export function withDefault<T>(defaultValue: string, parse: Parser<T>): Input<T> {
  return { required: false, default: defaultValue, parse };
}

export type InputSpec = Record<string, Input<unknown>>;

type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** The typed result of reading a spec: `dry-run` becomes `dryRun`. */
export type InputValues<S extends InputSpec> = {
  [K in keyof S & string as CamelCase<K>]: S[K] extends Input<infer T> ? T : never;
};

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Reads and validates every input of a spec. Reports all bad inputs together, so one failed run
 * shows everything to fix.
 */
export function readInputs<S extends InputSpec>(
  spec: S,
  read: (name: string) => string = rawInput,
  region: string | undefined = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION,
): InputValues<S> {
  const values: Record<string, unknown> = {};
  const problems: InputProblem[] = [];
  const accounts: { input: string; account: string }[] = [];
  for (const [name, input] of Object.entries(spec)) {
    const raw = read(name).trim() || input.default || '';
    if (!raw) {
      if (input.required) {
        problems.push({ input: name, problem: 'is required but was not given.', fix: `add "${name}:" under "with:" in this step.` });
      }
      values[camelCase(name)] = undefined;
      continue;
    }
    try {
      values[camelCase(name)] = input.parse(raw, { input: name, region, accounts });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      problems.push(...error.problems);
    }
  }
  problems.push(...accountProblems(accounts));
  if (problems.length > 0) throw new InputError(problems);
  return values as InputValues<S>;
}

/** ARNs of one step in different accounts: the inputs outside the account most of them name are wrong. */
function accountProblems(accounts: { input: string; account: string }[]): InputProblem[] {
  const byAccount = new Map<string, Set<string>>();
  for (const { input, account } of accounts) byAccount.set(account, (byAccount.get(account) ?? new Set()).add(input));
  if (byAccount.size < 2) return [];
  const [[majority, majorityInputs] = ['', new Set<string>()]] = [...byAccount].sort((a, b) => b[1].size - a[1].size);
  const tie = [...byAccount.values()].filter((inputs) => inputs.size === majorityInputs.size).length > 1;
  const others = [...byAccount].filter(([account]) => tie || account !== majority);
  const listed = [...byAccount].map(([account, inputs]) => `${[...inputs].join(', ')} in ${account}`).join('; ');
  return others.flatMap(([account, inputs]) =>
    [...inputs].map((input) => ({
      input,
      problem: `names account ${account}, but the ARNs of this step are not all in one account (${listed}).`,
      fix: 'give ARNs of the account the step runs in (the one aws-actions/configure-aws-credentials signs in to).',
    })),
  );
}

/** Shows a raw value in a message without flooding the log. */
export function quote(raw: string): string {
  const shown = raw.length > 60 ? `${raw.slice(0, 57)}...` : raw;
  return JSON.stringify(shown);
}

// ---- parsers ----

export interface TextOptions {
  maxLength?: number;
  pattern?: RegExp;
  /** What a valid value looks like, for the message when the pattern does not match. */
  expected?: string;
}

export function text(options: TextOptions = {}): Parser<string> {
  return (raw, { input }) => {
    if (options.maxLength !== undefined && raw.length > options.maxLength) {
      throw inputError(input, `is ${raw.length} characters long; at most ${options.maxLength} are allowed.`, `shorten it to ${options.maxLength} characters.`);
    }
    if (options.pattern && !options.pattern.test(raw)) {
      throw inputError(input, `${quote(raw)} is not valid.`, `use ${options.expected ?? `a value matching ${options.pattern}`}.`);
    }
    return raw;
  };
}

/** true/false as YAML 1.2 spells them (the set the runner's own getBooleanInput accepts). */
export function boolean(): Parser<boolean> {
  return (raw, { input }) => {
    if (['true', 'True', 'TRUE'].includes(raw)) return true;
    if (['false', 'False', 'FALSE'].includes(raw)) return false;
    throw inputError(input, `${quote(raw)} is not a boolean.`, 'use true or false.');
  };
}

export function integer(options: { min: number; max: number }): Parser<number> {
  return (raw, { input }) => {
    if (!/^-?\d+$/.test(raw)) {
      throw inputError(input, `${quote(raw)} is not a whole number.`, `use a whole number from ${options.min} to ${options.max}.`);
    }
    const value = Number(raw);
    if (value < options.min || value > options.max) {
      throw inputError(input, `${quote(raw)} is out of range.`, `use a whole number from ${options.min} to ${options.max}.`);
    }
    return value;
  };
}

export function choice<const T extends string>(allowed: readonly T[]): Parser<T> {
  return (raw, { input }) => {
    const found = allowed.find((value) => value.toLowerCase() === raw.toLowerCase());
    if (found === undefined) {
      throw inputError(input, `${quote(raw)} is not one of the accepted values.`, `use one of: ${allowed.join(', ')}.`);
    }
    return found;
  };
}

const durationUnits: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };

/** A duration such as 90s, 10m, 1h30m or 7d, in seconds. A bare number is refused: 600 could mean seconds or minutes. */
export function duration(options: { min: number; max: number }): Parser<number> {
  return (raw, { input }) => {
    const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(raw);
    const fix = `write it with a unit, for example 90s, 10m or 1h30m, between ${formatSeconds(options.min)} and ${formatSeconds(options.max)}.`;
    if (!match || raw === '') throw inputError(input, `${quote(raw)} is not a duration.`, fix);
    const seconds = ['d', 'h', 'm', 's'].reduce((total, unit, index) => total + Number(match[index + 1] ?? 0) * (durationUnits[unit] ?? 0), 0);
    if (seconds < options.min || seconds > options.max) throw inputError(input, `${quote(raw)} is out of range.`, fix);
    return seconds;
  };
}

/** A duration ECS takes in whole minutes (bake times): 10m, 1h, 0m, or a bare 10, as ECS's own minute fields read. */
export function wholeMinutes(options: { max: number }): Parser<number> {
  const seconds = duration({ min: 0, max: options.max * 60 });
  return (raw, context) => {
    const value = seconds(/^\d{1,5}$/.test(raw) ? `${raw}m` : raw, context);
    if (value % 60 !== 0) throw inputError(context.input, `${raw} is not a whole number of minutes.`, 'ECS counts this time in minutes: write 5m, 90m or 2h.');
    return value / 60;
  };
}

/** A percentage in tenths, as ECS takes traffic shares: 10, 12.5 or 10%. */
export function percent(options: { min: number; max: number }): Parser<number> {
  return (raw, { input }) => {
    const match = /^(\d{1,3}(?:\.\d)?)%?$/.exec(raw);
    const fix = `use a number from ${options.min} to ${options.max}, at most one decimal (10, 12.5 or 10%).`;
    if (!match) throw inputError(input, `${quote(raw)} is not a percentage.`, fix);
    const value = Number(match[1]);
    if (value < options.min || value > options.max) throw inputError(input, `${raw} is out of range.`, fix);
    return value;
  };
}

export function formatSeconds(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''].join('');
}

/** A list written one item a line or comma-separated; blanks dropped, duplicates removed. */
export function list<T>(item: Parser<T>, options: { maxItems?: number } = {}): Parser<T[]> {
  return (raw, context) => {
    const items = [
      ...new Set(
        raw
          .split(/[\n,]/)
          .map((part) => part.trim())
          .filter((part) => part !== ''),
      ),
    ];
    if (items.length === 0) throw inputError(context.input, 'is an empty list.', 'give at least one item, one a line or comma-separated.');
    if (options.maxItems !== undefined && items.length > options.maxItems) {
      throw inputError(
        context.input,
        `has ${items.length} items; at most ${options.maxItems} are allowed.`,
        `split the work across steps of at most ${options.maxItems}.`,
      );
    }
    return items.map((value) => item(value, context));
  };
}

const arnPattern = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)$/;

export interface Arn {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

export function splitArn(raw: string): Arn | undefined {
  const match = arnPattern.exec(raw);
  if (!match) return undefined;
  const [, partition = '', service = '', region = '', account = '', resource = ''] = match;
  return { partition, service, region, account, resource };
}

/** The partition a region belongs to, as ARNs name it. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

/** Services whose ARNs name no region. */
const globalServices = new Set(['iam']);

/** What may follow the account in the ARNs the actions take (names, paths, IDs, revisions). */
export const arnResource = /^[A-Za-z0-9_+=,.@:/-]+$/;

/** An ARN of the given service and resource type, in the region the action runs in. `what` is named with its article: "an ALB listener". */
export function arn(service: string, resourcePrefix: string, what: string): Parser<string> {
  return (raw, { input, region, accounts }) => {
    const parsed = splitArn(raw);
    const partition = partitionOf(region ?? 'us-east-1');
    const example = `arn:${partition}:${service}:${globalServices.has(service) ? '' : (region ?? 'us-east-1')}:123456789012:${resourcePrefix}...`;
    if (raw.length > 2048) throw inputError(input, `is ${raw.length} characters long; an ARN has at most 2048.`, `give the ARN of ${what}, like ${example}.`);
    if (!parsed) throw inputError(input, `${quote(raw)} is not an ARN.`, `give the ARN of ${what}, like ${example}.`);
    if (parsed.service !== service || !parsed.resource.startsWith(resourcePrefix)) {
      throw inputError(
        input,
        `${quote(raw)} is not the ARN of ${what} (it names ${parsed.service}:${parsed.resource.split(/[/:]/)[0]}).`,
        `give the ARN of ${what}, like ${example}.`,
      );
    }
    if (!arnResource.test(parsed.resource)) {
      throw inputError(input, `${quote(raw)} has characters no ARN of ${what} has.`, `give the ARN of ${what}, like ${example}.`);
    }
    if (!parsed.account) throw inputError(input, `${quote(raw)} names no account.`, `give the ARN of ${what}, like ${example}.`);
    if (globalServices.has(service) && parsed.region) {
      throw inputError(input, `${quote(raw)} names a region; ${service.toUpperCase()} ARNs name none.`, `give the ARN of ${what}, like ${example}.`);
    }
    if (!globalServices.has(service) && !parsed.region) throw inputError(input, `${quote(raw)} names no region.`, `give the ARN of ${what}, like ${example}.`);
    if (region && parsed.region && parsed.region !== region) {
      throw inputError(
        input,
        `${quote(raw)} is in ${parsed.region}, but this step runs in ${region} (AWS_REGION).`,
        `use ${what} in ${region}, or set AWS_REGION to ${parsed.region}.`,
      );
    }
    if (region && parsed.partition !== partition) {
      throw inputError(
        input,
        `${quote(raw)} is in partition ${parsed.partition}, but this step runs in ${region} (partition ${partition}).`,
        `give the ARN of ${what}, like ${example}.`,
      );
    }
    accounts?.push({ input, account: parsed.account });
    return raw;
  };
}

/** A secret (a token): masked in the log the moment it is read. */
export function secret(parse: Parser<string> = token()): Parser<string> {
  return (raw, context) => {
    setSecret(raw);
    return parse(raw, context);
  };
}

/** An access token: visible ASCII, as it goes into an HTTP header. Its messages never show it. */
export function token(): Parser<string> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template
  const fix = 'pass the token alone, such as ${{ github.token }}.';
  return (raw, { input }) => {
    if (raw.length > 1024) throw inputError(input, `is ${raw.length} characters long; a token has at most 1024 (the value is not shown).`, fix);
    if (!/^[\x21-\x7e]+$/.test(raw)) {
      throw inputError(input, 'has spaces, line breaks, control characters or non-ASCII letters, which no token has (the value is not shown).', fix);
    }
    return raw;
  };
}

/**
 * A path relative to the workspace (GITHUB_WORKSPACE), kept as given (build settings and cache keys
 * name it so). Refuses absolute paths, "..", and symlinks that lead out of the workspace and RUNNER_TEMP.
 */
export function workspacePath(env: NodeJS.ProcessEnv = process.env): Parser<string> {
  const fix = 'give a path relative to the repository root, without "..".';
  return (raw, { input }) => {
    if (raw.length > 4096) throw inputError(input, `is ${raw.length} characters long; a path has at most 4096.`, fix);
    if (raw.startsWith('/') || hasParentStep(raw)) throw inputError(input, `${quote(raw)} points outside the repository.`, fix);
    const leak = leadsOutside(resolve(workspaceOf(env), raw), env);
    if (leak)
      throw inputError(
        input,
        `${quote(raw)} leads through a symlink to ${quote(leak)}, outside the workspace and RUNNER_TEMP.`,
        'give the real path inside the repository.',
      );
    return raw;
  };
}

/**
 * A file in the workspace (relative to it, or absolute) or under RUNNER_TEMP, where
 * amazon-ecs-render-task-definition writes the file whose absolute path it outputs. Symlinks are
 * followed before the check; the result is the file's real absolute path, the one that was checked.
 */
export function runnerFile(env: NodeJS.ProcessEnv = process.env): Parser<string> {
  const fix = 'give a file in the workspace (relative to the repository root) or under RUNNER_TEMP, such as the output of amazon-ecs-render-task-definition.';
  return (raw, { input }) => {
    if (raw.length > 4096) throw inputError(input, `is ${raw.length} characters long; a path has at most 4096.`, fix);
    if (hasParentStep(raw)) throw inputError(input, `${quote(raw)} has a ".." step.`, fix);
    const path = resolve(workspaceOf(env), raw);
    const leak = leadsOutside(path, env);
    if (leak !== undefined) {
      const through = leak === path ? '' : ` (it leads to ${quote(leak)})`;
      throw inputError(input, `${quote(raw)} is outside the workspace and RUNNER_TEMP${through}.`, fix);
    }
    const real = realPath(path);
    if (!isFile(real)) throw inputError(input, `${quote(raw)} is not a file.`, fix);
    return real;
  };
}

function hasParentStep(raw: string): boolean {
  return raw.split(/[\\/]/).includes('..');
}

/** Where relative paths start: the checkout, as @actions/cache and the runner's working directory take it. */
function workspaceOf(env: NodeJS.ProcessEnv): string {
  return env.GITHUB_WORKSPACE || process.cwd();
}

/** The real path `path` leads to when that is outside both the workspace and RUNNER_TEMP; undefined when inside. */
function leadsOutside(path: string, env: NodeJS.ProcessEnv): string | undefined {
  const real = realPath(path);
  const roots = [workspaceOf(env), env.RUNNER_TEMP].filter((root): root is string => Boolean(root)).map(realPath);
  return roots.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : `${root}${sep}`)) ? undefined : real;
}

/** realpath, also for a path that does not exist yet: its deepest existing directory resolved, the rest appended. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPath(parent), basename(path));
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

// ---- names AWS accepts ----

/** ECS cluster, service, task-definition family and container names: 1-255 letters, digits, - and _. */
export function ecsName(what: string): Parser<string> {
  return text({ maxLength: 255, pattern: /^[A-Za-z0-9_-]+$/, expected: `a ${what} name of letters, digits, hyphens and underscores` });
}

/**
 * A cluster or service given by name or by ARN (as the official actions accept), as its name.
 * An ARN must be of that ECS resource and in this step's region.
 */
export function ecsResource(what: 'cluster' | 'service'): Parser<string> {
  const byName = ecsName(what);
  const byArn = arn('ecs', `${what}/`, `an ECS ${what}`);
  return (raw, context) => {
    if (!raw.startsWith('arn:')) return byName(raw, context);
    // Service ARNs are service/<cluster>/<name> (long form) or service/<name> (old form).
    return byName(byArn(raw, context).split('/').pop() ?? '', context);
  };
}

/** ECR repository names, as ECR validates them (lowercase, optional namespaces). */
/** Whose environments a platform workflow acts on: a GitHub repository (owner/name), or * for every repository. */
export function repositorySelector(): Parser<string> {
  return text({
    maxLength: 140,
    pattern: /^(?:\*|[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100})$/,
    expected: 'GitHub repositories as owner/name, or * for the environments of every repository',
  });
}

export function repositoryName(): Parser<string> {
  return (raw, context) => {
    if (raw.length < 2) throw inputError(context.input, `${quote(raw)} is too short.`, 'use an ECR repository name of 2 to 256 characters.');
    return text({
      maxLength: 256,
      pattern: /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
      expected: 'an ECR repository name: lowercase letters, digits, and . _ - / between them (for example team/web)',
    })(raw, context);
  };
}

/**
 * Environment names become DNS labels, resource names and tag values, so they follow the DNS
 * label rules: lowercase letters, digits and hyphens, starting with a letter, at most 63.
 */
export function environmentName(): Parser<string> {
  return text({
    maxLength: 63,
    pattern: /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/,
    expected: 'lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (for example pr-123 or staging)',
  });
}

/** An environment name or a glob over them (pr-*), for selecting environments. */
export function environmentPattern(): Parser<string> {
  return text({
    maxLength: 63,
    pattern: /^[a-z*?](?:[a-z0-9*?-]*[a-z0-9*?])?$/,
    expected: 'an environment name or a glob such as pr-* (lowercase letters, digits, hyphens, * and ?)',
  });
}

/** A pull request as 123, #123 or owner/repo#123; without owner/repo it is in the workflow's repository. */
export function pullRequestReference(): Parser<{ owner: string | undefined; repo: string | undefined; number: number }> {
  return (raw, { input }) => {
    const match = /^(?:([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+))?#?([1-9]\d{0,9})$/.exec(raw);
    if (!match) throw inputError(input, `${quote(raw)} is not a pull request.`, 'give its number, such as 123, or owner/repo#123.');
    return { owner: match[1], repo: match[2], number: Number(match[3]) };
  };
}

/** NAME=value pairs (environment variables, build args, labels). */
export function keyValue(namePattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/): Parser<[string, string]> {
  return (raw, { input }) => {
    const at = raw.indexOf('=');
    const key = at > 0 ? raw.slice(0, at) : '';
    if (!namePattern.test(key)) {
      throw inputError(
        input,
        `${quote(at > 0 ? key : raw)} is not a NAME=value pair.`,
        'write one NAME=value a line, with a name of letters, digits and underscores.',
      );
    }
    return [key, raw.slice(at + 1)];
  };
}

export function subnetId(): Parser<string> {
  return text({ pattern: /^subnet-[0-9a-f]{8,17}$/, expected: 'a subnet ID such as subnet-0123456789abcdef0' });
}

export function securityGroupId(): Parser<string> {
  return text({ pattern: /^sg-[0-9a-f]{8,17}$/, expected: 'a security group ID such as sg-0123456789abcdef0' });
}

/** An image tag as registries accept it. */
export function imageTag(): Parser<string> {
  return text({
    maxLength: 128,
    pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/,
    expected: 'an image tag: letters, digits, _ . - (not starting with . or -), at most 128',
  });
}

/** A container image reference: [registry/]repository[:tag][@sha256:digest]. */
export function imageReference(): Parser<string> {
  return text({
    maxLength: 512,
    pattern:
      /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    expected: 'an image reference such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:sha-abc or web@sha256:<digest>',
  });
}
