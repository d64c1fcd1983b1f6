// The registry process and its front door, without ECR: start, serve /v2/, stop and clean up.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it, jest } from '@jest/globals';
import { parseRegistryPath, startRegistry } from '../../emulator/registry.ts';

const installed = spawnSync('docker-registry', ['--version'], { stdio: 'ignore' }).status === 0;
if (!installed) console.warn('registry.test: skipping the start/stop test: docker-registry is not installed');

it('parses the repository, kind and reference of a registry path', () => {
  expect(parseRegistryPath('/v2/shop/web/manifests/v1')).toEqual({ repository: 'shop/web', kind: 'manifests', reference: 'v1', upload: false });
  expect(parseRegistryPath('/v2/web/blobs/uploads/abc')).toEqual({ repository: 'web', kind: 'blobs', reference: undefined, upload: true });
  expect(parseRegistryPath('/v2/web/tags/list')).toEqual({ repository: 'web', kind: 'tags', reference: undefined, upload: false });
  expect(parseRegistryPath('/v2/')).toEqual({});
});

it('returns null with a message when the binary is absent', async () => {
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await startRegistry({ binary: 'docker-registry-not-installed' })).toBeNull();
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toMatch(/docker-registry-not-installed not found \(apt-get install docker-registry\)/);
  } finally {
    stderr.mockRestore();
  }
});

(installed ? it : it.skip)('serves /v2/ through the front door, asks the gate, and removes its storage on stop', async () => {
  const reg = await startRegistry();
  if (!reg) throw new Error('registry did not start');
  try {
    expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await fetch(`${reg.url}/v2/`)).status).toBe(200);
    const seen: string[] = [];
    reg.setGate({
      async check(req) {
        seen.push(`${req.method} ${req.repository ?? '-'} ${req.reference ?? '-'}`);
        return req.repository === 'blocked' ? { status: 404, code: 'NAME_UNKNOWN', message: 'no such repository' } : null;
      },
      pushed() {},
    });
    const refused = await fetch(`${reg.url}/v2/blocked/manifests/v1`);
    expect(refused.status).toBe(404);
    expect(await refused.json()).toEqual({ errors: [{ code: 'NAME_UNKNOWN', message: 'no such repository', detail: null }] });
    expect((await fetch(`${reg.url}/v2/open/tags/list`)).status).toBe(404); // the registry's own answer: nothing pushed
    expect(seen).toEqual(['GET blocked v1', 'GET open -']);
  } finally {
    await reg.stop();
  }
  expect(existsSync(reg.storageDir)).toBe(false);
});
