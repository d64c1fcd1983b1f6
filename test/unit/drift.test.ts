// Generated files must match their sources: a stale dist/ or catalog fails the tests.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';
import { catalogPath, renderCatalog } from '../../scripts/catalog.ts';
import { node24, root } from '../helpers/run-bundle.ts';

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

test('action-catalog.md is generated from the current action.yml files (run npm run catalog)', () => {
  expect(readFileSync(catalogPath, 'utf8')).toBe(renderCatalog());
});

test('dist/ is built from the current sources (run npm run build)', () => {
  const fresh = join(root, 'build', 'drift-dist');
  try {
    // As `npm run build` runs it: inside jest's module registry, packages resolve otherwise and webpack numbers chunks otherwise.
    execFileSync(node24, [join(root, 'scripts', 'build.ts'), '--out', fresh], { cwd: root, stdio: 'pipe' });
    const committed = join(root, 'dist');
    expect(filesUnder(committed).sort()).toEqual(filesUnder(fresh).sort());
    for (const file of filesUnder(fresh)) {
      const same = readFileSync(join(committed, file)).equals(readFileSync(join(fresh, file)));
      if (!same) throw new Error(`dist/${file} is stale: run npm run build and commit dist/`);
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
}, 180_000);
