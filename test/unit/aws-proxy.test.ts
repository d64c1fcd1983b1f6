// AWS calls behind a proxy: HTTP_PROXY/HTTPS_PROXY/NO_PROXY (either case) as @actions/http-client
// reads them, through Node's own proxy support in the SDK's agents, with no setting of ours.

import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { DescribeClustersCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { awsSettings, clientConfig } from '../../src/aws.ts';
import { type ForwardProxy, startForwardProxy } from '../helpers/forward-proxy.ts';

let proxy: ForwardProxy;
let ecsStub: Server;
let port: number;

beforeAll(async () => {
  // Answers every call as ECS would answer DescribeClusters for a cluster that does not exist.
  ecsStub = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ clusters: [], failures: [] }));
  });
  await new Promise<void>((listening) => ecsStub.listen(0, '127.0.0.1', listening));
  port = (ecsStub.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((closed) => ecsStub.close(() => closed())));
beforeEach(async () => {
  proxy = await startForwardProxy();
});
afterEach(() => proxy.stop());

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' };
function ecs(env: NodeJS.ProcessEnv, endpoint?: string): ECSClient {
  return new ECSClient({
    ...clientConfig(awsSettings('rollout-with-circuit-breaker', { AWS_REGION: 'us-east-1' }), env),
    credentials,
    ...(endpoint ? { endpoint } : {}),
  });
}
const describeClusters = (client: ECSClient, abortSignal?: AbortSignal) =>
  client.send(new DescribeClustersCommand({ clusters: ['previews'] }), { abortSignal });

test('an http endpoint goes through HTTP_PROXY (absolute-form): reached only through the proxy', async () => {
  await describeClusters(ecs({ HTTP_PROXY: proxy.url }, `http://ecs.proxied.test:${port}`));
  expect(proxy.visits).toEqual([{ kind: 'absolute-form', target: `ecs.proxied.test:${port}` }]);
});

test('an https AWS endpoint goes through HTTPS_PROXY with CONNECT to its host', async () => {
  const abort = new AbortController();
  const call = describeClusters(ecs({ HTTPS_PROXY: proxy.url }), abort.signal).catch(() => undefined);
  // The proxy reaches nothing outside .proxied.test: the CONNECT is the proof; the call is then abandoned.
  while (proxy.visits.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  abort.abort();
  await call;
  expect(proxy.visits[0]).toEqual({ kind: 'connect', target: 'ecs.us-east-1.amazonaws.com:443' });
});

test('lower case wins over upper case, as @actions/http-client reads them', async () => {
  await describeClusters(ecs({ http_proxy: proxy.url, HTTP_PROXY: 'http://127.0.0.1:9' }, `http://ecs.proxied.test:${port}`));
  expect(proxy.hosts()).toEqual(['ecs.proxied.test']);
});

test('NO_PROXY (either case) covering the host, and loopback always, go direct', async () => {
  // This machine's name resolves to loopback (/etc/hosts): a host name NO_PROXY can name that is reachable directly.
  const name = hostname();
  expect((await lookup(name)).address).toMatch(/^127\./);
  await describeClusters(ecs({ HTTP_PROXY: proxy.url, NO_PROXY: `other.example.com,${name}` }, `http://${name}:${port}`));
  await describeClusters(ecs({ HTTP_PROXY: proxy.url, no_proxy: `.example.com,${name}:${port}` }, `http://${name}:${port}`));
  await describeClusters(ecs({ HTTP_PROXY: proxy.url }, `http://127.0.0.1:${port}`));
  await describeClusters(ecs({ HTTP_PROXY: proxy.url }, `http://localhost:${port}`));
  expect(proxy.visits).toEqual([]);
  // Not covered: through the proxy.
  await describeClusters(ecs({ HTTP_PROXY: proxy.url, NO_PROXY: 'other.example.com' }, `http://ecs.proxied.test:${port}`));
  expect(proxy.hosts()).toEqual(['ecs.proxied.test']);
});
