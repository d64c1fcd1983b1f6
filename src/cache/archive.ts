// The cache archive: the system tar compressed with zstd (gzip where zstd is missing), laid out as
// @actions/cache lays it out, so an actions/cache step and this module can restore each other's entries.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { posix, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

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

/** The path tar records for `directory`: relative to the workspace, kept as is by -P even when it starts with `..`. */
function memberPath(directory: string, workspace: string): string {
  return relative(workspace, resolve(directory)) || '.';
}

export async function createArchive(archive: string, directory: string, compression: Compression, settings: TarSettings): Promise<void> {
  let member = memberPath(directory, settings.workspace);
  // A name starting with '-' would be read as an option.
  if (member.startsWith('-')) member = `./${member}`;
  await runTar(settings.wrap, ['--posix', '-cf', archive, '-P', '-C', settings.workspace, ...compressionArgs(compression, 'create'), member]);
}

/** An archive that would write outside the directory it restores; nothing of it was extracted. */
export class UnsafeArchiveError extends Error {
  constructor(member: string, why: string) {
    super(`the archive was not extracted: its member ${JSON.stringify(member)} ${why}`);
    this.name = 'UnsafeArchiveError';
  }
}

/**
 * Extracts over whatever is there, as @actions/cache does, once no member can land outside `directory`:
 * tar's -P (which the `..` in member names needs) also turns off tar's own guards.
 */
export async function extractArchive(archive: string, directory: string, compression: Compression, settings: TarSettings): Promise<void> {
  const root = memberPath(directory, settings.workspace);
  checkMembers(await listArchive(archive, compression), root, (rest) => isSymlink(resolve(settings.workspace, root, rest)));
  await mkdir(settings.workspace, { recursive: true });
  await runTar(settings.wrap, ['-xf', archive, '-P', '-C', settings.workspace, ...compressionArgs(compression, 'extract')]);
}

export interface ArchiveMember {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** A link's target; '' for other members. */
  linkName: string;
}

/**
 * Refuses a member outside `root` (a path relative to the workspace): an absolute name, a `..` step,
 * a hard link to a file outside, and any member tar would write through a symlink (one the archive
 * makes, or `onDisk`), since the kernel follows it wherever it points. A symlink's own target is left
 * as it is: the builders' root filesystems are full of absolute ones (/bin/sh -> /bin/busybox), and
 * nothing is written through them.
 */
export function checkMembers(members: readonly ArchiveMember[], root: string, onDisk: (rest: string) => boolean = () => false): void {
  const base = clean(root);
  /** The member's path inside root, or undefined when it is not inside. */
  const inside = (path: string): string | undefined => {
    const name = clean(path);
    if (posix.isAbsolute(name)) return undefined;
    const rest = base === '' ? name : name === base ? '' : name.startsWith(`${base}/`) ? name.slice(base.length + 1) : undefined;
    return rest === undefined || rest.split('/').includes('..') ? undefined : rest;
  };
  const symlinks = new Set<string>();
  const known = new Map<string, boolean>();
  const isLink = (rest: string) => {
    if (symlinks.has(rest)) return true;
    if (!known.has(rest)) known.set(rest, onDisk(rest));
    return known.get(rest) === true;
  };
  // GNU tar replaces whatever stands at a member's own path, but follows a link on the way to it.
  const throughLink = (rest: string) => {
    const steps = rest.split('/');
    return steps.slice(0, -1).some((_, i) => isLink(steps.slice(0, i + 1).join('/')));
  };
  for (const member of members) {
    const rest = inside(member.name);
    if (rest === undefined) throw new UnsafeArchiveError(member.name, 'is outside the directory the cache restores.');
    if (throughLink(rest)) throw new UnsafeArchiveError(member.name, 'would be written through a symlink, which may lead anywhere.');
    if (member.type === 'hardlink') {
      const target = inside(member.linkName);
      if (target === undefined || throughLink(target))
        throw new UnsafeArchiveError(member.name, `is a hard link to ${JSON.stringify(member.linkName)}, outside the directory.`);
    }
    if (member.type === 'symlink') {
      if (rest === '') throw new UnsafeArchiveError(member.name, 'would turn the directory itself into a symlink.');
      symlinks.add(rest);
    } else {
      // A later member at this path replaces the link tar made.
      symlinks.delete(rest);
    }
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A member name as a plain relative or absolute path: no empty or "." steps, no trailing slash. */
function clean(path: string): string {
  const steps = path.split('/').filter((step) => step !== '' && step !== '.');
  return `${path.startsWith('/') ? '/' : ''}${steps.join('/')}`;
}

/** The members of a compressed tar, read from its headers (pax and GNU long names too), without extracting anything. */
export async function listArchive(archive: string, compression: Compression): Promise<ArchiveMember[]> {
  if (compression === 'gzip') return readMembers(createReadStream(archive).pipe(createGunzip()));
  const child = spawn('zstd', ['-d', '-c', '--', archive], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', done);
  });
  const [members, code] = await Promise.all([readMembers(child.stdout), exited]);
  if (code !== 0) throw new Error(`zstd -d exited with code ${code} reading the archive`);
  return members;
}

const BLOCK = 512;
const TYPES: Record<string, ArchiveMember['type']> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '5': 'directory' };

/** Reads tar headers from a stream, skipping file contents; ends at the first zero block or the end of the stream. */
async function readMembers(stream: Readable): Promise<ArchiveMember[]> {
  const members: ArchiveMember[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let skip = 0;
  let pax: Record<string, string> = {};
  let globalPax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  // An extended header's body, gathered before the member it describes.
  let body: { type: string; size: number; chunks: Buffer[]; left: number } | undefined;
  let ended = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (ended) continue;
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    while (!ended) {
      if (skip > 0) {
        const take = Math.min(skip, pending.length - at);
        if (body) {
          const used = Math.min(take, body.left);
          body.chunks.push(pending.subarray(at, at + used));
          body.left -= used;
        }
        skip -= take;
        at += take;
        if (skip > 0) break;
        if (body) {
          const bytes = Buffer.concat(body.chunks);
          const text = () => bytes.toString('utf8').replace(/\0.*$/s, '');
          if (body.type === 'x') pax = { ...pax, ...paxRecords(bytes) };
          else if (body.type === 'g') globalPax = { ...globalPax, ...paxRecords(bytes) };
          else if (body.type === 'L') longName = text();
          else longLink = text();
          body = undefined;
        }
        continue;
      }
      if (pending.length - at < BLOCK) break;
      const header = pending.subarray(at, at + BLOCK);
      at += BLOCK;
      if (header.every((byte) => byte === 0)) {
        ended = true;
        break;
      }
      const type = String.fromCharCode(header[156] ?? 0);
      const size = octal(header.subarray(124, 136));
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
        body = { type, size, chunks: [], left: size };
        skip = padded;
        continue;
      }
      const prefix = field(header, 345, 155);
      const ustarName = header.subarray(257, 262).toString('latin1') === 'ustar' && prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100);
      const attributes = { ...globalPax, ...pax };
      members.push({
        name: attributes.path ?? longName ?? ustarName,
        type: TYPES[type] ?? 'other',
        linkName: attributes.linkpath ?? longLink ?? field(header, 157, 100),
      });
      pax = {};
      longName = undefined;
      longLink = undefined;
      // Hard links, symlinks and directories have no content, whatever size they state.
      skip = type === '1' || type === '2' || type === '5' ? 0 : padded;
    }
    pending = pending.subarray(at);
  }
  return members;
}

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** A header number: octal text, or GNU's base-256 when the first byte's high bit is set. */
function octal(raw: Buffer): number {
  if (((raw[0] ?? 0) & 0x80) !== 0) return raw.subarray(1).reduce((value, byte) => value * 256 + byte, (raw[0] ?? 0) & 0x7f);
  return Number.parseInt(raw.toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
}

/** pax records: "<length> <key>=<value>\n", the length counting the whole record in bytes. */
function paxRecords(bytes: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(0x20, at);
    const length = Number.parseInt(bytes.subarray(at, space).toString('latin1'), 10);
    if (space < 0 || !Number.isInteger(length) || length <= 0) break;
    const record = bytes.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return records;
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
