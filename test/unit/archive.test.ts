// The cache archive never extracts outside the directory it restores: archives crafted with GNU tar
// (the writer a runner has), extracted by the module as a restore does.
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { archiveFileName, type Compression, createArchive, detectCompression, extractArchive } from '../../src/cache/archive.ts';

let base: string;
let source: string;
let workspace: string;
let outside: string;
let compression: Compression;
let archive: string;

beforeEach(async () => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'archive-unit-')));
  // Where the crafted archive's files come from, the runner's checkout it restores into, and a place it must never reach.
  source = join(base, 'source');
  workspace = join(base, 'workspace');
  outside = join(base, 'outside');
  for (const dir of [join(source, 'storage'), workspace, outside]) mkdirSync(dir, { recursive: true });
  compression = await detectCompression();
  archive = join(base, archiveFileName(compression));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** GNU tar -P from `source`, renaming members (and link targets) with --transform, as an attacker's archive would. */
function craft(members: string[], transforms: string[] = []): void {
  const compress = compression === 'gzip' ? ['-z'] : ['--use-compress-program', 'zstd -T0'];
  const transformArgs = transforms.flatMap((transform) => ['--transform', transform]);
  execFileSync('tar', ['--posix', '-cf', archive, '-P', '-C', source, ...compress, ...transformArgs, ...members]);
}

const restore = () => extractArchive(archive, join(workspace, 'storage'), compression, { workspace });

describe('a crafted archive is refused before tar writes anything', () => {
  test('a member that climbs out with ..', async () => {
    writeFileSync(join(source, 'storage', 'escaped'), 'pwned');
    craft(['storage/escaped'], ['flags=r;s|^storage/escaped$|storage/../../outside/escaped|']);
    await expect(restore()).rejects.toThrow(
      'the archive was not extracted: its member "storage/../../outside/escaped" is outside the directory the cache restores.',
    );
    expect(existsSync(join(outside, 'escaped'))).toBe(false);
  });

  test('an absolute member name', async () => {
    writeFileSync(join(source, 'storage', 'absolute'), 'pwned');
    craft(['storage/absolute'], [`flags=r;s|^storage/absolute$|${outside}/absolute|`]);
    await expect(restore()).rejects.toThrow(`its member "${outside}/absolute" is outside the directory the cache restores.`);
    expect(existsSync(join(outside, 'absolute'))).toBe(false);
  });

  test('a file written through a symlink the archive made', async () => {
    symlinkSync(outside, join(source, 'storage', 'link'));
    writeFileSync(join(source, 'storage', 'payload'), 'pwned');
    craft(['storage/link', 'storage/payload'], ['flags=r;s|^storage/payload$|storage/link/payload|']);
    await expect(restore()).rejects.toThrow('its member "storage/link/payload" would be written through a symlink, which may lead anywhere.');
    expect(existsSync(join(outside, 'payload'))).toBe(false);
  });

  test('a file under a symlink already in the directory (left by an earlier restore, say)', async () => {
    mkdirSync(join(workspace, 'storage'));
    symlinkSync(outside, join(workspace, 'storage', 'planted'));
    mkdirSync(join(source, 'storage', 'planted'));
    writeFileSync(join(source, 'storage', 'planted', 'payload'), 'pwned');
    craft(['storage/planted/payload']);
    await expect(restore()).rejects.toThrow('its member "storage/planted/payload" would be written through a symlink, which may lead anywhere.');
    expect(existsSync(join(outside, 'payload'))).toBe(false);
  });

  test('a hard link to a file outside', async () => {
    writeFileSync(join(source, 'storage', 'a'), 'x');
    linkSync(join(source, 'storage', 'a'), join(source, 'storage', 'b'));
    craft(['storage/a', 'storage/b'], [`flags=h;s|^storage/a$|${outside}/target|`]);
    await expect(restore()).rejects.toThrow(`its member "storage/b" is a hard link to "${outside}/target", outside the directory.`);
  });

  test('a long name (a pax record, past the 100 bytes of the tar header) that climbs out', async () => {
    const deep = `storage/${'d'.repeat(60)}/${'e'.repeat(60)}`;
    mkdirSync(join(source, deep), { recursive: true });
    writeFileSync(join(source, deep, 'f'), 'x');
    craft([`${deep}/f`], [`flags=r;s|^${deep}/f$|${deep}/../../../../outside/f|`]);
    await expect(restore()).rejects.toThrow(`its member "${deep}/../../../../outside/f" is outside the directory the cache restores.`);
    expect(existsSync(join(outside, 'f'))).toBe(false);
  });
});

test('what the cache itself saves restores, over what is there: members starting with .., links, hard links, long names', async () => {
  // A builder's state under RUNNER_TEMP: root filesystems hold absolute links (/bin/sh -> /bin/busybox), kept as links.
  const state = join(base, 'runner-temp', 'storage');
  const deep = join(state, 'x'.repeat(90), 'y'.repeat(90));
  mkdirSync(join(state, 'rootfs', 'bin'), { recursive: true });
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'layer'), 'layer bytes');
  symlinkSync(join('x'.repeat(90), 'y'.repeat(90), 'layer'), join(state, 'current'));
  symlinkSync('../current', join(state, 'x'.repeat(90), 'back'));
  symlinkSync('/bin/busybox', join(state, 'rootfs', 'bin', 'sh'));
  linkSync(join(deep, 'layer'), join(state, 'same'));
  await createArchive(archive, state, compression, { workspace });
  rmSync(state, { recursive: true });

  await extractArchive(archive, state, compression, { workspace });
  await extractArchive(archive, state, compression, { workspace });

  expect(readFileSync(join(state, 'current'), 'utf8')).toBe('layer bytes');
  expect(readlinkSync(join(state, 'x'.repeat(90), 'back'))).toBe('../current');
  expect(readlinkSync(join(state, 'rootfs', 'bin', 'sh'))).toBe('/bin/busybox');
  expect(readFileSync(join(state, 'same'), 'utf8')).toBe('layer bytes');
});
