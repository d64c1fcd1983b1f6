// Pushing an image whose blobs are in the cache repository: exact registry requests (nock), HEAD before any upload.
import { createHash } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import nock from 'nock';
import type { RegistryLogin } from '../../src/ecr/login.ts';
import { type Manifest, parseManifest, pushImage, withLabels } from '../../src/ecr/registry.ts';
import { useNock } from '../helpers/nock.ts';

useNock();

const HOST = 'registry.example.test';
const login: RegistryLogin = { host: HOST, insecure: false, authFile: '/dev/null', password: 'pa55word', logout: () => {} };
const AUTH = `Basic ${Buffer.from('AWS:pa55word').toString('base64')}`;
const digest = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { keep: 'me' } }, history: [{ created_by: 'COPY a' }] });
const bigLayer = 'b'.repeat(5000);
const smallLayer = 's'.repeat(50);
const manifest: Manifest = parseManifest(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest(bigLayer), size: bigLayer.length },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest(smallLayer), size: smallLayer.length },
    ],
  }),
  'application/vnd.oci.image.manifest.v1+json',
) as Manifest;

const registry = () => nock(`https://${HOST}`, { reqheaders: { authorization: AUTH } });

describe('withLabels', () => {
  test('sets the labels in a new config, keeps the others and the layers, and records a LABEL history entry', async () => {
    registry()
      .get(`/v2/web-cache/blobs/${digest(config)}`)
      .reply(200, config);
    const image = await withLabels(login, 'web-cache', manifest, [['org.opencontainers.image.revision', 'abc']]);
    const [configDigest, made] = [...image.made][0] ?? [];
    const patched = JSON.parse(made?.toString() ?? '{}');
    expect(patched.config.Labels).toEqual({ keep: 'me', 'org.opencontainers.image.revision': 'abc' });
    expect(patched.history.at(-1)).toMatchObject({ created_by: 'LABEL org.opencontainers.image.revision="abc"', empty_layer: true });
    expect(configDigest).toBe(
      `sha256:${createHash('sha256')
        .update(made ?? '')
        .digest('hex')}`,
    );
    const body = JSON.parse(image.manifest.body);
    expect(body.config).toEqual({ mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: made?.length });
    expect(body.layers).toEqual(JSON.parse(manifest.body).layers);
  });

  test('no labels: the image as it is, nothing read or made', async () => {
    expect(await withLabels(login, 'web-cache', manifest, [])).toEqual({ from: 'web-cache', manifest, made: new Map() });
  });
});

describe('pushImage', () => {
  const made = Buffer.from('{"config":{}}');
  const image = {
    from: 'web-cache',
    manifest: { ...manifest, blobs: [{ digest: digest(made.toString()), size: made.length }, ...manifest.blobs.slice(1)] },
    made: new Map([[digest(made.toString()), made]]),
  };

  test('HEADs every blob first; uploads the made config, streams the missing layer from the cache, skips the one the repository has', async () => {
    const scope = registry();
    scope.head(`/v2/web/blobs/${digest(bigLayer)}`).reply(200);
    scope.head(`/v2/web/blobs/${digest(smallLayer)}`).reply(404);
    scope.head(`/v2/web/blobs/${digest(made.toString())}`).reply(404);
    // The made config: one monolithic upload.
    scope.post('/v2/web/blobs/uploads/').reply(202, '', { location: '/v2/web/blobs/uploads/u1' });
    scope
      .put('/v2/web/blobs/uploads/u1', made.toString())
      .query({ digest: digest(made.toString()) })
      .reply(201);
    // The missing layer: a mount is asked for (ECR without blob mounting starts a plain upload), then streamed through.
    scope
      .post('/v2/web/blobs/uploads/')
      .query({ mount: digest(smallLayer), from: 'web-cache' })
      .reply(202, '', { location: '/v2/web/blobs/uploads/u2' });
    scope.get(`/v2/web-cache/blobs/${digest(smallLayer)}`).reply(200, smallLayer);
    scope.patch('/v2/web/blobs/uploads/u2', smallLayer).reply(202, '', { location: '/v2/web/blobs/uploads/u2?state=x' });
    scope
      .put('/v2/web/blobs/uploads/u2')
      .query({ state: 'x', digest: digest(smallLayer) })
      .reply(201);
    scope
      .put('/v2/web/manifests/v1', image.manifest.body)
      .matchHeader('content-type', 'application/vnd.oci.image.manifest.v1+json')
      .reply(201, '', { 'docker-content-digest': 'sha256:pushed' });

    const methods: string[] = [];
    scope.on('request', (request: { method: string }) => methods.push(request.method));

    const result = await pushImage(login, image, 'web', 'v1');
    expect(methods.slice(0, 3)).toEqual(['HEAD', 'HEAD', 'HEAD']);
    expect(methods.at(-1)).toBe('PUT');
    expect(result).toEqual({ digest: 'sha256:pushed', reusedBytes: bigLayer.length, uploadedBytes: made.length + smallLayer.length });
  });

  test('a mount the registry grants moves no bytes', async () => {
    const scope = registry();
    scope.head(`/v2/web/blobs/${digest(bigLayer)}`).reply(200);
    scope.head(`/v2/web/blobs/${digest(made.toString())}`).reply(200);
    scope.head(`/v2/web/blobs/${digest(smallLayer)}`).reply(404);
    scope
      .post('/v2/web/blobs/uploads/')
      .query({ mount: digest(smallLayer), from: 'web-cache' })
      .reply(201);
    scope.put('/v2/web/manifests/v1').reply(201, '', { 'docker-content-digest': 'sha256:pushed' });
    expect((await pushImage(login, image, 'web', 'v1')).digest).toBe('sha256:pushed');
  });

  test('a refusal names the operation and the status, and never the password', async () => {
    const scope = registry();
    for (const blob of image.manifest.blobs) scope.head(`/v2/web/blobs/${blob.digest}`).reply(200);
    scope.put('/v2/web/manifests/v1').reply(400, '{"errors":[{"code":"TAG_INVALID"}]}');
    const failure = pushImage(login, image, 'web', 'v1');
    await expect(failure).rejects.toThrow(/refused pushing web:v1: HTTP 400 .*TAG_INVALID/);
    await expect(failure).rejects.not.toThrow(/pa55word/);
  });
});
