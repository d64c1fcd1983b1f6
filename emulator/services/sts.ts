// AWS STS (Query protocol, Version 2011-06-15): who the caller is. The emulator's caller is the role a
// workflow assumes through aws-actions/configure-aws-credentials (default session name GitHubActions).
import type { EmulatorContext, ServiceModule } from '../core/types.ts';

const ROLE = 'github-actions-deploy';
const SESSION = 'GitHubActions';
// Role IDs start with AROA; the rest is an opaque identifier.
const ROLE_ID = 'AROAEMULATOREXAMPLE01';

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
          Arn: `arn:aws:sts::${ctx.accountId}:assumed-role/${ROLE}/${SESSION}`,
        }),
      },
    },
    state: () => ({ caller: `arn:aws:sts::${ctx.accountId}:assumed-role/${ROLE}/${SESSION}` }),
    reset() {
      // Nothing to forget: the identity is fixed.
    },
  };
}
