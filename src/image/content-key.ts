// The content key: one image tag that names "the image built from exactly this source with these
// settings", so a later run finds it and skips the build.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { inputError } from '../errors.ts';
import { quote } from '../inputs.ts';

/** What besides the source decides the image: a change to any of them is a different image. */
export interface BuildSettings {
  /** Context and Dockerfile paths relative to the workspace: two images of one commit differ by them. */
  context: string;
  dockerfile: string;
  buildArgs: [string, string][];
  target: string | undefined;
  platforms: string[];
  labels: [string, string][];
}

export interface ContentKey {
  /** The image tag carrying the key. */
  tag: string;
  /** How the key was made, for the log and summary. */
  source: string;
}

function settingsHash(settings: BuildSettings, dockerfileContent: string | undefined): string {
  const hash = createHash('sha256');
  const sorted = (pairs: [string, string][]) => [...pairs].sort(([a], [b]) => a.localeCompare(b));
  hash.update(
    JSON.stringify({
      context: settings.context,
      dockerfile: settings.dockerfile,
      dockerfileContent,
      buildArgs: sorted(settings.buildArgs),
      target: settings.target,
      platforms: [...settings.platforms].sort(),
      labels: sorted(settings.labels),
    }),
  );
  return hash.digest('hex');
}

const DEFAULT_SETTINGS_HASH = settingsHash(
  { context: '.', dockerfile: 'Dockerfile', buildArgs: [], target: undefined, platforms: ['linux/amd64'], labels: [] },
  undefined,
);

/**
 * By default the commit: the key is the commit SHA itself, which the default tags already carry, with
 * a short hash of the build settings appended when they are not the defaults.
 */
export function commitKey(sha: string, settings: BuildSettings): ContentKey {
  const settingsOnly = settingsHash(settings, undefined);
  const suffix = settingsOnly === DEFAULT_SETTINGS_HASH ? '' : `-${settingsOnly.slice(0, 12)}`;
  return { tag: `${sha}${suffix}`, source: `commit ${sha}${suffix ? ' and the build settings' : ''}` };
}

/** From the listed paths' contents (files and directories, recursively), the Dockerfile and the settings. */
export function pathsKey(root: string, paths: string[], settings: BuildSettings): ContentKey {
  const hash = createHash('sha256');
  const files: string[] = [];
  for (const path of paths) {
    const absolute = join(root, path);
    try {
      lstatSync(absolute);
    } catch {
      throw inputError(
        'content-key',
        `lists ${quote(path)}, which does not exist in the workspace.`,
        'list paths that exist after checkout, relative to the repository root.',
      );
    }
    collect(absolute, files);
  }
  for (const file of [...new Set(files)].sort()) {
    const stat = lstatSync(file);
    hash.update(`${relative(root, file)}\0`);
    hash.update(stat.isSymbolicLink() ? `link:${readlinkSync(file)}` : readFileSync(file));
    hash.update('\0');
  }
  hash.update(settingsHash(settings, readFileSync(join(root, settings.dockerfile), 'utf8')));
  return { tag: `src-${hash.digest('hex').slice(0, 40)}`, source: `contents of ${paths.join(', ')}, the Dockerfile and the build settings` };
}

/**
 * The build's inputs as the builder sees them: every file of the context (a .dockerignore can only make the
 * builder see fewer, so this key is never shared by two different builds), the Dockerfile and the settings
 * except labels, which are set after the build. The layer cache tags the unlabelled image with it.
 */
export function contextTag(contextDir: string, dockerfile: string, settings: BuildSettings): string {
  const hash = createHash('sha256');
  const files: string[] = [];
  collect(contextDir, files);
  for (const file of files.sort()) {
    const stat = lstatSync(file);
    hash.update(`${relative(contextDir, file)}\0${stat.mode & 0o7777}\0`);
    hash.update(stat.isSymbolicLink() ? `link:${readlinkSync(file)}` : readFileSync(file));
    hash.update('\0');
  }
  hash.update(settingsHash({ ...settings, labels: [] }, readFileSync(dockerfile, 'utf8')));
  return `context-${hash.digest('hex').slice(0, 56)}`;
}

function collect(path: string, files: string[]): void {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) {
    files.push(path);
    return;
  }
  for (const entry of readdirSync(path)) collect(join(path, entry), files);
}
