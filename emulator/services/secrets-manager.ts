// AWS Secrets Manager (JSON 1.1, secretsmanager): secrets' metadata, which provision-platform's preflight
// reads (DescribeSecret) to find a secret reference that does not exist. Values are neither kept nor returned.
import { randomBytes } from 'node:crypto';
import { AwsError, type EmulatorContext, type ServiceModule } from '../core/types.ts';

interface Secret {
  name: string;
  arn: string;
  created: Date;
  description: string | undefined;
  tags: { Key: string; Value: string }[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function createSecretsManagerService(ctx: EmulatorContext): ServiceModule {
  const secrets = new Map<string, Secret>();
  const notFound = () => new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  /** By name or by ARN; an ARN without its six-character suffix finds it too, as AWS allows. */
  const find = (id: string): Secret | undefined =>
    secrets.get(id) ?? [...secrets.values()].find((secret) => secret.arn === id || secret.arn.slice(0, -7) === id);
  return {
    name: 'secretsmanager',
    protocol: 'json',
    targetPrefix: 'secretsmanager',
    operations: {
      CreateSecret: {
        mutating: true,
        handler: (input) => {
          const name = str(input.Name);
          if (!name || !/^[\w/+=.@-]{1,512}$/.test(name))
            throw new AwsError(
              'ValidationException',
              'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
            );
          if (secrets.has(name)) throw new AwsError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
          const suffix = [...randomBytes(6)].map((byte) => SUFFIX[byte % SUFFIX.length]).join('');
          const secret: Secret = {
            name,
            arn: `arn:aws:secretsmanager:${ctx.region}:${ctx.accountId}:secret:${name}-${suffix}`,
            created: new Date(ctx.clock.now()),
            description: str(input.Description),
            tags: Array.isArray(input.Tags) ? (input.Tags as { Key: string; Value: string }[]) : [],
          };
          secrets.set(name, secret);
          return { ARN: secret.arn, Name: name, VersionId: randomBytes(16).toString('hex') };
        },
      },
      DescribeSecret: {
        mutating: false,
        handler: (input) => {
          const id = str(input.SecretId);
          if (!id)
            throw new AwsError(
              'ValidationException',
              "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null",
            );
          const secret = find(id);
          if (!secret) throw notFound();
          return {
            ARN: secret.arn,
            Name: secret.name,
            Description: secret.description,
            CreatedDate: secret.created,
            LastChangedDate: secret.created,
            Tags: secret.tags,
            VersionIdsToStages: {},
          };
        },
      },
    },
    state: () => ({ secrets: [...secrets.values()].map((secret) => ({ name: secret.name, arn: secret.arn })) }),
    reset: () => secrets.clear(),
  };
}
