// Behind a corporate proxy, with no setting of ours: HTTPS_PROXY/HTTP_PROXY send every AWS and GitHub
// call of a provision and a rollout through the proxy; NO_PROXY covering the endpoints sends none.
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type ForwardProxy, PROXIED_DOMAIN, startForwardProxy } from '../helpers/forward-proxy.ts';
import { provisionInputs } from '../helpers/provisioned.ts';
import { sharedListener, startWorld, type World } from '../helpers/world.ts';

let world: World;
let proxy: ForwardProxy;
let listenerArn: string;
const token = 'ghs_exampleTokenForTheEmulator000000';

beforeAll(async () => {
  world = await startWorld();
  proxy = await startForwardProxy();
  ({ listenerArn } = await sharedListener(world, 'previews', { https: true }));
});
afterAll(async () => {
  await proxy.stop();
  await world.stop();
});

/** Each service the actions use at its own host (the SDK's AWS_ENDPOINT_URL_<SERVICE>), keyed by the emulator's name for it. */
const SERVICES: Record<string, { variable: string; host: string }> = {
  ecs: { variable: 'AWS_ENDPOINT_URL_ECS', host: 'ecs' },
  elbv2: { variable: 'AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2', host: 'elasticloadbalancing' },
  logs: { variable: 'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS', host: 'logs' },
  route53: { variable: 'AWS_ENDPOINT_URL_ROUTE_53', host: 'route53' },
  ecr: { variable: 'AWS_ENDPOINT_URL_ECR', host: 'api.ecr' },
  'application-autoscaling': { variable: 'AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING', host: 'application-autoscaling' },
};

/** The endpoints (AWS per service, and GitHub) on the emulator's port under the given host names. */
function endpoints(host: (name: string) => string): Record<string, string> {
  const port = new URL(world.emulator.endpoint).port;
  return {
    AWS_ENDPOINT_URL: `http://${host('aws')}:${port}`,
    ...Object.fromEntries(Object.values(SERVICES).map(({ variable, host: name }) => [variable, `http://${host(name)}:${port}`])),
    GITHUB_API_URL: `http://${host('github')}:${port}/github`,
  };
}

const pullRequestEvent = (number: number) => ({
  action: 'synchronize',
  number,
  pull_request: { number, state: 'open', head: { sha: 'a'.repeat(40), ref: `feature-${number}` } },
  repository: { full_name: 'acme/web' },
});

/** provision-platform, then a rollout of a new image, for a pull request's environment; both must succeed. */
async function provisionAndRollout(environment: string, number: number, env: { provision: Record<string, string>; rollout: Record<string, string> }) {
  const options = (extra: Record<string, string>) => ({ event: pullRequestEvent(number), env: { GITHUB_EVENT_NAME: 'pull_request', ...extra } });
  const provision = await world.run('provision-platform', {
    // The action's own port and count, where provisionInputs sets the tests' usual 8080 and 2.
    inputs: provisionInputs({ cluster: 'previews', listenerArn }, environment, { 'container-port': '80', 'desired-count': '1', 'github-token': token }),
    ...options(env.provision),
  });
  expect(provision.stdout).not.toContain('Unexpected error');
  expect(provision.exitCode).toBe(0);
  const rollout = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: 'previews', environment, image: 'web:v2', 'github-token': token },
    ...options(env.rollout),
  });
  expect(rollout.exitCode).toBe(0);
  // The pull request's comment and deployment were written: GitHub was reached too.
  for (const run of [provision, rollout]) expect(run.stdout).not.toContain('::warning title=GitHub');
}

/** The hosts of the AWS services the actions called, by the emulator's call log since `from`. */
async function awsHostsCalled(from: number, host: (name: string) => string): Promise<string[]> {
  const services = new Set((await world.calls()).slice(from).flatMap((call) => (call.action ? [call.service] : [])));
  expect(services.size).toBeGreaterThanOrEqual(3);
  return [...services].map((service) => host(SERVICES[service]?.host ?? 'aws')).sort();
}

test('HTTPS_PROXY/HTTP_PROXY (upper or lower case): a provision and a rollout succeed, and every AWS host they called and GitHub went through the proxy', async () => {
  const proxied = (name: string) => `${name}.${PROXIED_DOMAIN}`;
  const from = (await world.calls()).length;
  await provisionAndRollout('pr-21', 21, {
    provision: { ...endpoints(proxied), HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url },
    rollout: { ...endpoints(proxied), https_proxy: proxy.url, http_proxy: proxy.url },
  });
  const awsHosts = await awsHostsCalled(from, proxied);
  // Names only the proxy resolves: the runs succeeding says every call went through it; the set says which.
  expect(proxy.hosts()).toEqual([...awsHosts, proxied('github')].sort());
  expect(proxy.hosts()).toEqual(expect.arrayContaining([proxied('ecs'), proxied('elasticloadbalancing'), proxied('logs')]));
});

test('NO_PROXY covering the endpoints: the same runs succeed and the proxy sees none of them', async () => {
  // This machine's own name resolves to loopback and is no loopback name, so only NO_PROXY keeps it from the proxy.
  const name = hostname();
  expect((await lookup(name)).address).toMatch(/^127\./);
  const direct = () => name;
  const before = proxy.visits.length;
  await provisionAndRollout('pr-22', 22, {
    provision: { ...endpoints(direct), HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, NO_PROXY: `other.example.com,${name}` },
    rollout: { ...endpoints(direct), https_proxy: proxy.url, http_proxy: proxy.url, no_proxy: name },
  });
  expect(proxy.visits.slice(before)).toEqual([]);
});
