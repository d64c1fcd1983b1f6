// AWS STS (Query protocol, Version 2011-06-15): who the caller is. The emulator's caller is the role a
// workflow assumes through aws-actions/configure-aws-credentials (default session name GitHubActions).
import type { EmulatorContext, ServiceModule } from '../core/types.ts';

const ROLE = 'github-actions-deploy';
const SESSION = 'GitHubActions';
// Role IDs start with AROA; the rest is an opaque identifier.
const ROLE_ID = 'AROAEMULATOREXAMPLE01';

/** The role session every call runs as (AccessDenied messages name it too). */
export const callerArn = (accountId: string): string => `arn:aws:sts::${accountId}:assumed-role/${ROLE}/${SESSION}`;

export function createStsService(ctx: EmulatorContext): ServiceModule {
  return {
    name: 'sts',
    protocol: 'query',
    apiVersion: '2011-06-15',
    xmlNamespace: 'https://sts.amazonaws.com/doc/2011-06-15/',
    operations: {
      GetCallerIdentity: {
        mutating: false,
        handler: () => ({
          UserId: `${ROLE_ID}:${SESSION}`,
          Account: ctx.accountId,
          Arn: callerArn(ctx.accountId),
        }),
      },
    },
    state: () => ({ caller: callerArn(ctx.accountId) }),
    reset() {
      // Nothing to forget: the identity is fixed.
    },
  };
}
