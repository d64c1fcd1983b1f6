// IAM roles (Query protocol, Version 2010-05-08): what provision-platform's preflight reads, GetRole, and
// CreateRole for arranging a test. A new account here is one the ECS console has set up: it holds
// ecsTaskExecutionRole, trusted by ecs-tasks.amazonaws.com (as the console's first run creates it).
import { randomBytes } from 'node:crypto';
import { AwsError, type EmulatorContext, type ServiceModule } from '../core/types.ts';

interface Role {
  name: string;
  path: string;
  id: string;
  createDate: Date;
  /** The trust policy as given (JSON). */
  trust: string;
  description: string | undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const TASKS_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: '', Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

// Role IDs start with AROA and go on with 17 upper-case letters and digits.
const roleId = () =>
  `AROA${randomBytes(16)
    .toString('base64')
    .replace(/[^A-Z0-9]/gi, '')
    .toUpperCase()
    .slice(0, 17)
    .padEnd(17, 'X')}`;

export function createIamRolesService(ctx: EmulatorContext): ServiceModule {
  const roles = new Map<string, Role>();
  const seed = () => {
    roles.clear();
    roles.set('ecsTaskExecutionRole', {
      name: 'ecsTaskExecutionRole',
      path: '/',
      id: roleId(),
      createDate: new Date(ctx.clock.now()),
      trust: TASKS_TRUST,
      description: undefined,
    });
  };
  seed();
  // As IAM returns it: the trust policy URL-encoded, as every IAM policy document is.
  const view = (role: Role) => ({
    Path: role.path,
    RoleName: role.name,
    RoleId: role.id,
    Arn: `arn:aws:iam::${ctx.accountId}:role${role.path}${role.name}`,
    CreateDate: role.createDate,
    AssumeRolePolicyDocument: encodeURIComponent(role.trust),
    Description: role.description,
    MaxSessionDuration: 3600,
    RoleLastUsed: {},
  });
  return {
    name: 'iam',
    protocol: 'query',
    apiVersion: '2010-05-08',
    xmlNamespace: 'https://iam.amazonaws.com/doc/2010-05-08/',
    operations: {
      GetRole: {
        mutating: false,
        handler: (input) => {
          const name = str(input.RoleName);
          if (!name)
            throw new AwsError(
              'ValidationError',
              "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null",
            );
          const role = roles.get(name);
          if (!role) throw new AwsError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
          return { Role: view(role) };
        },
      },
      CreateRole: {
        mutating: true,
        handler: (input) => {
          const name = str(input.RoleName);
          const trust = str(input.AssumeRolePolicyDocument);
          if (!name || !/^[\w+=,.@-]{1,64}$/.test(name)) throw new AwsError('ValidationError', `The specified value for roleName is invalid.`);
          if (!trust)
            throw new AwsError(
              'ValidationError',
              "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null",
            );
          try {
            JSON.parse(trust);
          } catch {
            throw new AwsError('MalformedPolicyDocument', 'This policy contains invalid Json');
          }
          if (roles.has(name)) throw new AwsError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
          const role: Role = {
            name,
            path: str(input.Path) ?? '/',
            id: roleId(),
            createDate: new Date(ctx.clock.now()),
            trust,
            description: str(input.Description),
          };
          roles.set(name, role);
          return { Role: view(role) };
        },
      },
    },
    state: () => ({ roles: [...roles.values()].map((role) => ({ name: role.name, path: role.path, trust: JSON.parse(role.trust) as unknown })) }),
    reset: seed,
  };
}
