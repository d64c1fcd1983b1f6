// AWS Systems Manager Parameter Store (JSON 1.1, AmazonSSM): parameters, which provision-platform's
// preflight reads (GetParameters) to find a secret reference that does not exist.
import { AwsError, type EmulatorContext, type ServiceModule } from '../core/types.ts';

interface Parameter {
  name: string;
  type: 'String' | 'StringList' | 'SecureString';
  value: string;
  version: number;
  modified: Date;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function createSsmService(ctx: EmulatorContext): ServiceModule {
  const parameters = new Map<string, Parameter>();
  const arnOf = (name: string) => `arn:aws:ssm:${ctx.region}:${ctx.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  /** A name, or the parameter's ARN (GetParameters takes either). */
  const nameOf = (id: string) => {
    const match = /^arn:aws[a-z-]*:ssm:[^:]+:\d{12}:parameter(\/.+)$/.exec(id);
    if (!match?.[1]) return id;
    // An ARN of a name without a leading slash has one after "parameter" that is not part of the name.
    return parameters.has(match[1]) ? match[1] : match[1].slice(1);
  };
  return {
    name: 'ssm',
    protocol: 'json',
    targetPrefix: 'AmazonSSM',
    operations: {
      PutParameter: {
        mutating: true,
        handler: (input) => {
          const name = str(input.Name);
          const value = str(input.Value);
          if (!name || value === undefined) throw new AwsError('ValidationException', 'Parameter name and value must not be empty.');
          const existing = parameters.get(name);
          if (existing && input.Overwrite !== true)
            throw new AwsError(
              'ParameterAlreadyExists',
              'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
            );
          const type = (str(input.Type) ?? existing?.type ?? 'String') as Parameter['type'];
          const version = (existing?.version ?? 0) + 1;
          parameters.set(name, { name, type, value, version, modified: new Date(ctx.clock.now()) });
          return { Version: version, Tier: 'Standard' };
        },
      },
      GetParameters: {
        mutating: false,
        handler: (input) => {
          const names = Array.isArray(input.Names) ? input.Names.map(String) : [];
          if (names.length < 1 || names.length > 10) {
            throw new AwsError(
              'ValidationException',
              `1 validation error detected: Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10`,
            );
          }
          const found = names.flatMap((id) => {
            const parameter = parameters.get(nameOf(id));
            return parameter ? [{ id, parameter }] : [];
          });
          return {
            // A SecureString comes back encrypted unless WithDecryption: the value is never needed to check it exists.
            Parameters: found.map(({ id, parameter }) => ({
              Name: id.startsWith('arn:') ? id : parameter.name,
              Type: parameter.type,
              Value: parameter.type === 'SecureString' && input.WithDecryption !== true ? 'AQICAH-encrypted' : parameter.value,
              Version: parameter.version,
              LastModifiedDate: parameter.modified,
              ARN: arnOf(parameter.name),
              DataType: 'text',
            })),
            InvalidParameters: names.filter((id) => !found.some((hit) => hit.id === id)),
          };
        },
      },
    },
    state: () => ({ parameters: [...parameters.values()].map((parameter) => ({ name: parameter.name, type: parameter.type, version: parameter.version })) }),
    reset: () => parameters.clear(),
  };
}
