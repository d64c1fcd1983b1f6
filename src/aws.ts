// AWS SDK client settings shared by every action: region, retries, user agent, proxy, error wrapping.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ActionError } from './errors.ts';
import { VERSION } from './version.ts';

export interface AwsSettings {
  region: string;
  /** The action making the calls, named in the user agent. */
  action: string;
}

/**
 * Region from AWS_REGION (set by aws-actions/configure-aws-credentials) or AWS_DEFAULT_REGION.
 * The endpoint is left to the SDK, which honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>.
 */
export function awsSettings(action: string, env: NodeJS.ProcessEnv = process.env): AwsSettings {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new ActionError(
      'No AWS region is set (AWS_REGION is empty).',
      'run aws-actions/configure-aws-credentials with aws-region before this step, or set env AWS_REGION.',
    );
  }
  return { region, action };
}

/** Settings accepted by every SDK v3 client constructor. */
export interface ClientConfig {
  region: string;
  retryMode: 'adaptive';
  maxAttempts: number;
  customUserAgent: [string, string][];
  requestHandler: { httpAgent: HttpAgent; httpsAgent: HttpsAgent };
}

/**
 * The proxy settings as @actions/http-client reads them (lower case first, then upper case; NO_PROXY
 * entries match a host, its port, or a domain suffix), for Node's own env-proxy support in its agents.
 * Loopback is never proxied, as in @actions/http-client. undefined: no proxy set.
 */
export function proxyEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv | undefined {
  const httpProxy = env.http_proxy || env.HTTP_PROXY;
  const httpsProxy = env.https_proxy || env.HTTPS_PROXY;
  if (!httpProxy && !httpsProxy) return undefined;
  const noProxy = [env.no_proxy || env.NO_PROXY, 'localhost', '127.0.0.1', '::1', '[::1]'].filter(Boolean).join(',');
  return { ...(httpProxy ? { HTTP_PROXY: httpProxy } : {}), ...(httpsProxy ? { HTTPS_PROXY: httpsProxy } : {}), NO_PROXY: noProxy };
}

export function clientConfig(settings: AwsSettings, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const proxy = proxyEnv(env);
  // The SDK's own agent settings (keep-alive, 50 sockets), plus the proxy when one is set.
  const agentOptions = { keepAlive: true, maxSockets: 50, ...(proxy ? { proxyEnv: proxy } : {}) };
  return {
    region: settings.region,
    // Adaptive mode adds client-side rate limiting on top of retries, which is what a burst of
    // Describe calls across many services needs under ECS's per-account throttling.
    retryMode: 'adaptive',
    maxAttempts: 8,
    customUserAgent: [
      ['ecs-deploy-actions', VERSION],
      [`action/${settings.action}`, VERSION],
    ],
    requestHandler: { httpAgent: new HttpAgent(agentOptions), httpsAgent: new HttpsAgent(agentOptions) },
  };
}

export function createClient<C>(Client: new (config: ClientConfig) => C, settings: AwsSettings): C {
  return new Client(clientConfig(settings));
}

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const hints: Record<string, string> = {
  AccessDeniedException: 'the role this step assumes lacks the permission; see the policy for this action in action-catalog.md.',
  AccessDenied: 'the role this step assumes lacks the permission; see the policy for this action in action-catalog.md.',
  UnrecognizedClientException: 'the credentials are not valid; check aws-actions/configure-aws-credentials.',
  ExpiredTokenException: 'the session credentials expired; request a longer role-duration-seconds.',
  CredentialsProviderError: 'no AWS credentials were found; run aws-actions/configure-aws-credentials before this step.',
  ThrottlingException: 'AWS kept throttling after every retry; run fewer concurrent jobs against this account.',
};

/** Turns an SDK failure into an ActionError that names the operation and the resource. */
export function wrapAwsError(operation: string, resource: string, error: unknown): ActionError {
  if (error instanceof ActionError) return error;
  const sdk = error as SdkError;
  const code = sdkErrorName(error) ?? 'Error';
  const hint = hints[code] ?? (sdk.$metadata?.httpStatusCode === undefined ? 'check that AWS (or AWS_ENDPOINT_URL) is reachable from the runner.' : undefined);
  return new ActionError(`${operation} for ${resource} failed: ${code}: ${sdk.message ?? String(error)}`, hint);
}

export function sdkErrorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as SdkError).name : undefined;
}

/** Runs one AWS call; its failure names the operation and resource. */
export async function awsCall<T>(operation: string, resource: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw wrapAwsError(operation, resource, error);
  }
}
