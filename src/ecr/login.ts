// Registry login for the builder: a short-lived ECR password in a private auth file, never on a
// command line (other processes can read those) and never in the log.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { wrapAwsError } from '../aws.ts';
import { ActionError } from '../errors.ts';
import { setSecret } from '../runner.ts';

export interface RegistryLogin {
  /** host[:port] of the registry, as image references name it. */
  host: string;
  /** The registry speaks plain HTTP (only a local registry does): the builder must not demand TLS. */
  insecure: boolean;
  /** Docker-format auth file for buildah's --authfile, readable only by this user. */
  authFile: string;
  /** For `docker login --password-stdin`; masked in the log. */
  password: string;
  /** Deletes the auth file; safe to call twice. */
  logout(): void;
}

export async function loginToRegistry(ecr: ECRClient, workDir = process.env.RUNNER_TEMP || tmpdir()): Promise<RegistryLogin> {
  let data: { authorizationToken?: string; proxyEndpoint?: string } | undefined;
  try {
    data = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
  } catch (error) {
    throw wrapAwsError('GetAuthorizationToken', 'the ECR registry', error);
  }
  if (!data?.authorizationToken || !data.proxyEndpoint) {
    throw new ActionError('ECR returned no authorization token.', 'check that the role may call ecr:GetAuthorizationToken, then run the step again.');
  }
  const token = data.authorizationToken;
  const password = Buffer.from(token, 'base64')
    .toString()
    .replace(/^[^:]*:/, '');
  // Mask both forms before anything else can print them.
  setSecret(token);
  setSecret(password);
  const endpoint = new URL(data.proxyEndpoint);
  const authDir = mkdtempSync(join(workDir, 'ecs-deploy-actions-auth-'));
  const authFile = join(authDir, 'auth.json');
  writeFileSync(authFile, JSON.stringify({ auths: { [endpoint.host]: { auth: token } } }), { mode: 0o600 });
  return {
    host: endpoint.host,
    insecure: endpoint.protocol === 'http:',
    authFile,
    password,
    logout: () => rmSync(authDir, { recursive: true, force: true }),
  };
}
