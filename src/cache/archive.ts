// The cache archive: the system tar compressed with zstd (gzip where zstd is missing), laid out as
// @actions/cache lays it out, so an actions/cache step and this module can restore each other's entries.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { relative, resolve } from 'node:path';

/** The compression in @actions/cache's words; it is part of the cache version. */
export type Compression = 'zstd-without-long' | 'gzip';

export interface TarSettings {
  /** The base of the archive's member names (@actions/cache: GITHUB_WORKSPACE). */
  workspace: string;
  /** A command prefix for tar, such as ['buildah', 'unshare'] to read files owned by mapped uids. */
  wrap?: readonly string[] | undefined;
}

/** @actions/cache's version: sha256 over the `path:` entries, the compression and its salt, joined by '|'. */
export function cacheVersion(paths: readonly string[], compression: Compression): string {
  return createHash('sha256')
    .update([...paths, compression, '1.0'].join('|'))
    .digest('hex');
}

export function archiveFileName(compression: Compression): string {
  return compression === 'gzip' ? 'cache.tgz' : 'cache.tzst';
}

/** zstd when `zstd --quiet --version` prints a version, as @actions/cache decides (it never uses --long now). */
export async function detectCompression(): Promise<Compression> {
  try {
    const { stdout } = await run('zstd', ['--quiet', '--version']);
    return stdout.trim() ? 'zstd-without-long' : 'gzip';
  } catch {
    // No zstd on PATH (spawn ENOENT): gzip, which GNU tar has built in.
    return 'gzip';
  }
}

function compressionArgs(compression: Compression, direction: 'create' | 'extract'): string[] {
  if (compression === 'gzip') return ['-z'];
  return ['--use-compress-program', direction === 'create' ? 'zstd -T0' : 'zstd -d'];
}

/** Archives `directory` with its path relative to the workspace, kept as is by -P even when it starts with `..`. */
export async function createArchive(archive: string, directory: string, compression: Compression, settings: TarSettings): Promise<void> {
  let member = relative(settings.workspace, resolve(directory)) || '.';
  // A name starting with '-' would be read as an option.
  if (member.startsWith('-')) member = `./${member}`;
  await runTar(settings.wrap, ['--posix', '-cf', archive, '-P', '-C', settings.workspace, ...compressionArgs(compression, 'create'), member]);
}

/** Extracts over whatever is there, as @actions/cache does. */
export async function extractArchive(archive: string, compression: Compression, settings: TarSettings): Promise<void> {
  await mkdir(settings.workspace, { recursive: true });
  await runTar(settings.wrap, ['-xf', archive, '-P', '-C', settings.workspace, ...compressionArgs(compression, 'extract')]);
}

async function runTar(wrap: readonly string[] | undefined, args: string[]): Promise<void> {
  const [command = 'tar', ...prefix] = wrap?.length ? [...wrap, 'tar'] : ['tar'];
  await run(command, [...prefix, ...args], 'tar');
}

/** Runs a command without a shell; rejects with its exit status and the end of its stderr. */
function run(command: string, args: string[], label = command): Promise<{ stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    // Only the end matters for the message; keep memory bounded when tar warns about every file.
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.on('error', (error) => reject(new Error(`${command} could not be started: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolvePromise({ stdout });
      const tail = stderr.trim().split('\n').slice(-3).join(' / ');
      reject(new Error(`${label} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${tail ? `: ${tail}` : ''}`));
    });
  });
}
