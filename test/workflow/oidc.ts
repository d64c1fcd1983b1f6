// GitHub's OIDC token for a job and the part of IAM that decides whether it may assume a role: the
// trust policy's web-identity statements with StringEquals/StringLike on the token's sub and aud.

export const OIDC_PROVIDER = 'token.actions.githubusercontent.com';
export const STS_AUDIENCE = 'sts.amazonaws.com';

/** The claims a trust policy can test, as GitHub issues them for one job. */
export interface OidcClaims {
  sub: string;
  aud: string;
}

/**
 * The `sub` claim: an environment wins, then a pull request, else the ref
 * (docs.github.com: security-hardening-with-openid-connect, "Example subject claims").
 */
export function subjectClaim(repository: string, event: { name: string; ref: string }, environment: string | undefined): string {
  if (environment) return `repo:${repository}:environment:${environment}`;
  if (event.name === 'pull_request' || event.name === 'pull_request_target') return `repo:${repository}:pull_request`;
  return `repo:${repository}:ref:${event.ref}`;
}

interface Statement {
  Effect?: string;
  Action?: string | string[];
  Principal?: { Federated?: string | string[] };
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface TrustPolicy {
  Version?: string;
  Statement: Statement | Statement[];
}

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** IAM's StringLike: `*` any run of characters, `?` one character; case-sensitive. */
function like(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(value);
}

/** Only the operators trust policies for GitHub use; any other makes the statement not match (fail closed). */
function conditionsHold(condition: Statement['Condition'], claims: OidcClaims): boolean {
  for (const [operator, keys] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      const claim = key === `${OIDC_PROVIDER}:sub` ? claims.sub : key === `${OIDC_PROVIDER}:aud` ? claims.aud : undefined;
      if (claim === undefined) return false;
      const values = list(expected);
      if (operator === 'StringEquals' && !values.includes(claim)) return false;
      else if (operator === 'StringLike' && !values.some((pattern) => like(pattern, claim))) return false;
      else if (operator !== 'StringEquals' && operator !== 'StringLike') return false;
    }
  }
  return true;
}

/** Whether AssumeRoleWithWebIdentity with a token carrying these claims is allowed by the trust policy. */
export function trusts(policy: TrustPolicy, claims: OidcClaims): boolean {
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  const applies = (statement: Statement) =>
    list(statement.Action).includes('sts:AssumeRoleWithWebIdentity') &&
    list(statement.Principal?.Federated).some((principal) => principal.endsWith(`:oidc-provider/${OIDC_PROVIDER}`)) &&
    conditionsHold(statement.Condition, claims);
  if (statements.some((statement) => statement.Effect === 'Deny' && applies(statement))) return false;
  return statements.some((statement) => statement.Effect === 'Allow' && applies(statement));
}
