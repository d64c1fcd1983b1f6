// Builds every action into dist/<name>/index.js: tsc emits JavaScript, then ncc bundles and minifies it.
// `--out <dir>` builds somewhere else (the drift test compares that with the committed dist/).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { minify } from '@swc/core';

type Ncc = (input: string, options: Record<string, unknown>) => Promise<{ code: string; assets: Record<string, { source: string | Buffer }> }>;
// ncc calls fs.existsSync with a non-string on Node 24; the warning is noise in every build.
process.noDeprecation = true;
const ncc = createRequire(import.meta.url)('@vercel/ncc') as Ncc;

const root = resolve(import.meta.dirname, '..');
export const actionNames = readdirSync(join(root, 'actions'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

export async function build(outDir: string): Promise<void> {
  // Inside the project, so ncc resolves packages from its node_modules; at a fixed path, because
  // webpack derives module ids from paths and the bundles must be byte-for-byte reproducible.
  const emitted = join(root, 'build', 'tsc');
  rmSync(emitted, { recursive: true, force: true });
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', emitted], {
      stdio: 'inherit',
    });
    // ncc resolves bare names through the tsconfig.json of its working directory: there, `undici` is
    // the on-demand stand-in (scripts/undici-on-demand.cjs says why).
    writeFileSync(join(emitted, 'tsconfig.json'), JSON.stringify({ compilerOptions: { paths: { undici: [join(root, 'scripts', 'undici-on-demand.cjs')] } } }));
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    // The bundles are ES modules; this keeps them so wherever dist/ is copied.
    writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
    for (const name of actionNames) {
      const { code, assets } = await inDirectory(emitted, () =>
        ncc(join(emitted, 'actions', name, 'main.js'), {
          minify: true,
          license: 'licenses.txt',
          sourceMap: false,
          cache: false,
          quiet: true,
        }),
      );
      const target = join(outDir, name);
      mkdirSync(target, { recursive: true });
      writeFileSync(join(target, 'index.js'), code);
      for (const [file, asset] of Object.entries(assets)) {
        if (file === 'package.json') continue;
        // ncc minifies only index.js; the chunks that dynamic imports load (@actions/cache, Octokit) too.
        const source = file.endsWith('.js') ? (await minify(String(asset.source), { module: true, compress: true, mangle: true })).code : asset.source;
        writeFileSync(join(target, file), source);
      }
    }
  } finally {
    rmSync(emitted, { recursive: true, force: true });
  }
}

async function inDirectory<T>(directory: string, work: () => Promise<T>): Promise<T> {
  const previous = process.cwd();
  process.chdir(directory);
  try {
    return await work();
  } finally {
    process.chdir(previous);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'dist') } } });
  const started = Date.now();
  await build(resolve(values.out));
  console.log(`built ${actionNames.length} actions into ${values.out} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}
