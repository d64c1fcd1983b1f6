// The builder's layers between workflow runs: its state directory restored from the Actions cache before
// a build and saved after it, keyed by builder + platforms + Dockerfile. Never fails a build.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type CacheService, cacheServiceFromEnv, restoreDirectory, saveDirectory } from '../cache/actions-cache.ts';
import { formatBytes } from '../report.ts';
import { warning } from '../runner.ts';
import type { BuilderKind } from './builder.ts';

/** Past this, a restored state starts over: every run adds its new layers, and the cache would grow without end. */
const MAX_STATE_BYTES = 2 * 1024 ** 3;

export interface LayerCache {
  service: CacheService | undefined;
  key: string;
  restoreKeys: string[];
  stateDir: string;
  /** For the summary: what the restore found. */
  restored: string;
  /** The exact key was restored: nothing new to save. */
  exactHit: boolean;
}

export function layerCacheKeys(builder: BuilderKind, platforms: string[], dockerfile: string, contentTag: string): { key: string; restoreKeys: string[] } {
  const base = `ecs-deploy-actions-${builder}-${[...platforms].sort().join('_').replace(/\//g, '-')}-`;
  const withDockerfile = `${base}${createHash('sha256').update(readFileSync(dockerfile)).digest('hex').slice(0, 16)}-`;
  // Same Dockerfile first; any earlier build for these platforms still shares base layers.
  return { key: `${withDockerfile}${contentTag}`, restoreKeys: [withDockerfile, base] };
}

/** Restores the state directory unless an earlier step of this job left it in place. */
export async function restoreLayers(options: {
  enabled: boolean;
  builder: BuilderKind;
  stateDir: string;
  key: string;
  restoreKeys: string[];
  log: (line: string) => void;
}): Promise<LayerCache> {
  const service = options.enabled ? cacheServiceFromEnv() : undefined;
  const cache = { service, key: options.key, restoreKeys: options.restoreKeys, stateDir: options.stateDir, exactHit: false };
  if (!options.enabled) return { ...cache, restored: 'off (cache: false)' };
  if (existsSync(options.stateDir)) return { ...cache, restored: 'reused from an earlier step of this job' };
  if (!service) return { ...cache, restored: 'not offered by this runner' };
  options.log(`Restoring the ${options.builder} layer cache (${options.key})`);
  const result = await restoreDirectory(service, {
    directory: options.stateDir,
    key: options.key,
    restoreKeys: options.restoreKeys,
    wrap: tarWrapper(options.builder),
  });
  if (result.reason) warning(`Layer cache not restored: ${result.reason}. Building without it.`);
  if (result.outcome === 'miss') return { ...cache, restored: 'miss' };
  const size = directoryBytes(options.stateDir);
  if (size > MAX_STATE_BYTES) {
    rmSync(options.stateDir, { recursive: true, force: true });
    options.log(`The restored layer cache holds ${formatBytes(size)}, over ${formatBytes(MAX_STATE_BYTES)}: starting from an empty one.`);
    return { ...cache, restored: `reset (was ${formatBytes(size)})` };
  }
  options.log(`Restored ${result.matchedKey} (${formatBytes(result.bytes ?? size)})`);
  return {
    ...cache,
    exactHit: result.outcome === 'hit',
    restored: `${result.outcome === 'hit' ? 'hit' : 'partial hit'}, ${formatBytes(result.bytes ?? size)}`,
  };
}

/** Saves the state directory after a build; returns what happened, for the summary. */
export async function saveLayers(cache: LayerCache, builder: BuilderKind, log: (line: string) => void): Promise<string> {
  if (!cache.service || cache.exactHit || !existsSync(cache.stateDir)) return 'not saved';
  log(`Saving the ${builder} layer cache (${cache.key})`);
  const result = await saveDirectory(cache.service, { directory: cache.stateDir, key: cache.key, wrap: tarWrapper(builder) });
  if (result.outcome === 'skipped') {
    warning(`Layer cache not saved: ${result.reason ?? 'unknown reason'}. The next run builds without it.`);
    return 'not saved';
  }
  if (result.outcome === 'exists') return 'already saved by another run';
  return result.bytes === undefined ? 'saved' : `saved, ${formatBytes(result.bytes)}`;
}

/** Rootless buildah storage holds files owned by mapped uids: only its user namespace can archive them. */
function tarWrapper(builder: BuilderKind): string[] | undefined {
  return builder === 'buildah' && process.getuid?.() !== 0 ? ['buildah', 'unshare'] : undefined;
}

function directoryBytes(path: string): number {
  let total = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else total += lstatSync(full).size;
    }
  };
  walk(path);
  return total;
}
