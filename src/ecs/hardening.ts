// Risky task-definition settings, found before a revision is registered.
import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import { setSecret } from '../runner.ts';

export interface HardeningFinding {
  container: string;
  /** The task-definition field, as a path inside the container definition. */
  field: string;
  problem: string;
}

// *_KEY, *_SECRET, *TOKEN and anything naming a password or credential; AWS_ACCESS_KEY_ID is not a secret.
const secretLikeName = /(?:^|_)(?:KEY|SECRET)$|TOKEN$|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL/i;

/**
 * Masks the values of secret-looking plain environment variables before the containers' logs are
 * shown: an app that fails often logs its configuration. Short values (true, 1) are left alone, as
 * masking them would hide every such word in the log.
 */
export function maskSecretLikeEnvironment(containers: ContainerDefinition[]): void {
  for (const container of containers) {
    for (const variable of container.environment ?? []) {
      if (variable.name && variable.value && variable.value.length >= 8 && secretLikeName.test(variable.name)) setSecret(variable.value);
    }
  }
}

function isRootUser(user: string | undefined): boolean {
  if (user === undefined || user === '') return true;
  const name = user.split(':')[0];
  return name === 'root' || name === '0';
}

function usesLatestTag(image: string | undefined): boolean {
  if (!image || image.includes('@sha256:')) return false;
  const lastSegment = image.split('/').pop() ?? image;
  return !lastSegment.includes(':') || lastSegment.endsWith(':latest');
}

/** Every finding, container by container. Values of environment variables are never included. */
export function hardeningFindings(containers: ContainerDefinition[]): HardeningFinding[] {
  const findings: HardeningFinding[] = [];
  for (const container of containers) {
    const name = container.name ?? '(unnamed)';
    const add = (field: string, problem: string) => findings.push({ container: name, field, problem });
    if (container.privileged) add('privileged', 'runs privileged: it has every capability of the host kernel.');
    if (isRootUser(container.user)) add('user', container.user ? `runs as ${container.user}.` : 'sets no user, so it runs as root unless the image sets one.');
    if (container.readonlyRootFilesystem !== true)
      add('readonlyRootFilesystem', 'has a writable root filesystem; set readonlyRootFilesystem and mount volumes where it writes.');
    const dropped = container.linuxParameters?.capabilities?.drop ?? [];
    if (!dropped.includes('ALL')) add('linuxParameters.capabilities.drop', 'does not drop Linux capabilities; drop ALL and add back only what it needs.');
    for (const variable of container.environment ?? []) {
      if (variable.name && secretLikeName.test(variable.name)) {
        add(`environment.${variable.name}`, 'looks like a secret in a plain environment variable; use secrets with a Secrets Manager or SSM reference.');
      }
    }
    if (usesLatestTag(container.image))
      add('image', `uses a moving tag (${container.image}); deploy an immutable tag or digest so a rollback returns the same code.`);
    if (container.essential !== false && !container.healthCheck) add('healthCheck', 'has no container health check.');
    if (!container.logConfiguration) add('logConfiguration', 'has no log configuration, so its output is lost when it stops.');
  }
  return findings;
}
