// The subset of GitHub's REST API the actions use (issue comments, deployments, deployment statuses,
// pulls, the authenticated user) and the release workflow uses (git refs, releases), with the JSON shapes
// and status codes GitHub serves, mounted at /github (GITHUB_API_URL), and GraphQL's `viewer { login }` at
// /github/graphql. Pull requests exist only when a test creates them through POST /_emulator/github/pulls;
// a token is GITHUB_TOKEN unless a test names its identity through POST /_emulator/github/tokens.
import { createHash } from 'node:crypto';
import type { EmulatorContext, GithubRequest, GithubResponse } from './core/types.ts';

const WEB = 'https://github.com';
const DOCS = 'https://docs.github.com/rest';
const DEPLOYMENT_STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];
// GITHUB_TOKEN acts as the github-actions app's bot user.
const BOT = {
  login: 'github-actions[bot]',
  id: 41898282,
  node_id: 'MDM6Qm90NDE4OTgyODI=',
  avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
  html_url: 'https://github.com/apps/github-actions',
  type: 'Bot',
  site_admin: false,
};

/** Who a token acts as: a person (a personal access token) or a GitHub App's bot (an installation token). */
interface Identity {
  kind: 'user' | 'app';
  /** A person's login, or the app's slug (its bot is `<slug>[bot]`). */
  name: string;
  id: number;
}
const ACTIONS_APP: Identity = { kind: 'app', name: 'github-actions', id: BOT.id };

interface Comment {
  id: number;
  author: Identity;
  owner: string;
  repo: string;
  issue: number;
  body: string;
  created: number;
  updated: number;
}
interface Deployment {
  id: number;
  owner: string;
  repo: string;
  sha: string;
  ref: string;
  task: string;
  payload: unknown;
  environment: string;
  originalEnvironment: string;
  description: string | null;
  transient: boolean;
  production: boolean;
  created: number;
  updated: number;
}
interface DeploymentStatus {
  id: number;
  deploymentId: number;
  state: string;
  description: string;
  environment: string;
  environmentUrl: string;
  logUrl: string;
  created: number;
}
interface Pull {
  owner: string;
  repo: string;
  number: number;
  id: number;
  state: 'open' | 'closed';
  merged: boolean;
  title: string;
  headSha: string;
  headRef: string;
  baseRef: string;
  created: number;
  updated: number;
  closed: number | null;
}

interface Ref {
  owner: string;
  repo: string;
  /** Fully qualified: refs/tags/v1. */
  ref: string;
  sha: string;
}
interface Release {
  id: number;
  owner: string;
  repo: string;
  tagName: string;
  targetCommitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  created: number;
  published: number | null;
}

type Handler = (req: GithubRequest, params: string[], base: string) => GithubResponse;
interface Route {
  method: string;
  pattern: RegExp;
  /** GitHub's operation id, used in the call log. */
  operation: string;
  mutating: boolean;
  handler: Handler;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const nodeId = (prefix: string, id: number) => `${prefix}_kwDO${Buffer.from(String(id)).toString('base64').replace(/=+$/, '')}`;
const notFound = (): GithubResponse => ({ status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } });
const invalid = (resource: string, field: string, code: string, message?: string): GithubResponse => ({
  status: 422,
  body: { message: 'Validation Failed', errors: [{ resource, code, field, ...(message ? { message } : {}) }], documentation_url: DOCS, status: '422' },
});
const login = (who: Identity) => (who.kind === 'app' ? `${who.name}[bot]` : who.name);
function userView(who: Identity) {
  if (who === ACTIONS_APP) return BOT;
  return {
    login: login(who),
    id: who.id,
    node_id: nodeId(who.kind === 'app' ? 'BOT' : 'U', who.id),
    avatar_url: `https://avatars.githubusercontent.com/u/${who.id}?v=4`,
    html_url: who.kind === 'app' ? `${WEB}/apps/${who.name}` : `${WEB}/${who.name}`,
    type: who.kind === 'app' ? 'Bot' : 'User',
    site_admin: false,
  };
}
const obj = (b: unknown): Record<string, unknown> => (b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {});

export function createGithubApi(ctx: EmulatorContext) {
  let comments = new Map<number, Comment>();
  let deployments = new Map<number, Deployment>();
  let statuses: DeploymentStatus[] = [];
  let pulls = new Map<string, Pull>();
  let refs = new Map<string, Ref>();
  let releases = new Map<number, Release>();
  let identities = new Map<string, Identity>();
  let nextId = 1_000_000_001;
  const refKey = (o: string, r: string, ref: string) => `${o}/${r}:${ref}`;

  /** The identity behind the request's token; any token nobody named is the workflow's GITHUB_TOKEN. */
  function identityOf(req: GithubRequest): Identity {
    const header = typeof req.headers.authorization === 'string' ? req.headers.authorization : '';
    const token = /^(?:bearer|token)\s+(\S+)$/i.exec(header)?.[1] ?? '';
    return identities.get(token) ?? ACTIONS_APP;
  }

  const pullKey = (o: string, r: string, n: number) => `${o}/${r}#${n}`;

  /** Page `items` as GitHub does: per_page (default 30, max 100), page, and a Link header. */
  function paginate<T>(req: GithubRequest, base: string, items: T[]): { page: T[]; headers: Record<string, string> } {
    const perPage = Math.min(100, Math.max(1, Number(req.query.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(req.query.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number, rel: string) => {
      const q = new URLSearchParams(req.query);
      q.set('per_page', String(perPage));
      q.set('page', String(p));
      return `<${base}${req.path}?${q}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, 'prev'));
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'));
    return { page: items.slice((page - 1) * perPage, page * perPage), headers: links.length > 0 ? { link: links.join(', ') } : {} };
  }

  function commentView(c: Comment, base: string) {
    const pr = pulls.has(pullKey(c.owner, c.repo, c.issue));
    return {
      url: `${base}/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
      html_url: `${WEB}/${c.owner}/${c.repo}/${pr ? 'pull' : 'issues'}/${c.issue}#issuecomment-${c.id}`,
      issue_url: `${base}/repos/${c.owner}/${c.repo}/issues/${c.issue}`,
      id: c.id,
      node_id: nodeId('IC', c.id),
      user: userView(c.author),
      created_at: iso(c.created),
      updated_at: iso(c.updated),
      author_association: 'NONE',
      body: c.body,
    };
  }

  function deploymentView(d: Deployment, base: string) {
    const url = `${base}/repos/${d.owner}/${d.repo}/deployments/${d.id}`;
    return {
      url,
      id: d.id,
      node_id: nodeId('DE', d.id),
      sha: d.sha,
      ref: d.ref,
      task: d.task,
      payload: d.payload,
      original_environment: d.originalEnvironment,
      environment: d.environment,
      description: d.description,
      creator: BOT,
      created_at: iso(d.created),
      updated_at: iso(d.updated),
      statuses_url: `${url}/statuses`,
      repository_url: `${base}/repos/${d.owner}/${d.repo}`,
      transient_environment: d.transient,
      production_environment: d.production,
    };
  }

  function statusView(s: DeploymentStatus, base: string) {
    const d = deployments.get(s.deploymentId) as Deployment;
    const deploymentUrl = `${base}/repos/${d.owner}/${d.repo}/deployments/${d.id}`;
    return {
      url: `${deploymentUrl}/statuses/${s.id}`,
      id: s.id,
      node_id: nodeId('DES', s.id),
      state: s.state,
      creator: BOT,
      description: s.description,
      environment: s.environment,
      target_url: s.logUrl,
      created_at: iso(s.created),
      updated_at: iso(s.created),
      deployment_url: deploymentUrl,
      repository_url: `${base}/repos/${d.owner}/${d.repo}`,
      environment_url: s.environmentUrl,
      log_url: s.logUrl,
    };
  }

  function pullView(p: Pull, base: string) {
    const repoUrl = `${base}/repos/${p.owner}/${p.repo}`;
    return {
      url: `${repoUrl}/pulls/${p.number}`,
      id: p.id,
      node_id: nodeId('PR', p.id),
      html_url: `${WEB}/${p.owner}/${p.repo}/pull/${p.number}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      user: BOT,
      body: null,
      created_at: iso(p.created),
      updated_at: iso(p.updated),
      closed_at: p.closed === null ? null : iso(p.closed),
      merged_at: p.merged && p.closed !== null ? iso(p.closed) : null,
      draft: false,
      merged: p.merged,
      head: { label: `${p.owner}:${p.headRef}`, ref: p.headRef, sha: p.headSha },
      base: { label: `${p.owner}:${p.baseRef}`, ref: p.baseRef },
      comments_url: `${repoUrl}/issues/${p.number}/comments`,
    };
  }

  function refView(x: Ref, base: string) {
    const repoUrl = `${base}/repos/${x.owner}/${x.repo}`;
    return {
      ref: x.ref,
      node_id: `REF_${Buffer.from(`${x.owner}/${x.repo}:${x.ref}`).toString('base64').replace(/=+$/, '')}`,
      url: `${repoUrl}/git/${x.ref}`,
      object: { sha: x.sha, type: 'commit', url: `${repoUrl}/git/commits/${x.sha}` },
    };
  }

  function releaseView(x: Release, base: string) {
    const repoUrl = `${base}/repos/${x.owner}/${x.repo}`;
    const tag = encodeURIComponent(x.tagName);
    return {
      url: `${repoUrl}/releases/${x.id}`,
      html_url: x.draft ? `${WEB}/${x.owner}/${x.repo}/releases/tag/untagged-${x.id}` : `${WEB}/${x.owner}/${x.repo}/releases/tag/${tag}`,
      assets_url: `${repoUrl}/releases/${x.id}/assets`,
      upload_url: `https://uploads.github.com/repos/${x.owner}/${x.repo}/releases/${x.id}/assets{?name,label}`,
      tarball_url: x.draft ? null : `${repoUrl}/tarball/${tag}`,
      zipball_url: x.draft ? null : `${repoUrl}/zipball/${tag}`,
      id: x.id,
      node_id: nodeId('RE', x.id),
      tag_name: x.tagName,
      target_commitish: x.targetCommitish,
      name: x.name,
      body: x.body,
      draft: x.draft,
      prerelease: x.prerelease,
      created_at: iso(x.created),
      published_at: x.published === null ? null : iso(x.published),
      author: BOT,
      assets: [],
    };
  }

  function findRelease(o: string, r: string, id: string): Release | undefined {
    const x = releases.get(Number(id));
    return x && x.owner === o && x.repo === r ? x : undefined;
  }

  /** The commit a ref or SHA names, for a release's target_commitish. */
  function commitOf(o: string, r: string, commitish: string): string {
    const ref = refs.get(refKey(o, r, `refs/heads/${commitish}`)) ?? refs.get(refKey(o, r, commitish));
    return ref ? ref.sha : resolveRef(o, r, commitish);
  }

  /** Publishing a release creates its tag where it does not exist yet, at target_commitish. */
  function tagRelease(x: Release): void {
    const key = refKey(x.owner, x.repo, `refs/tags/${x.tagName}`);
    if (!x.draft && !refs.has(key))
      refs.set(key, { owner: x.owner, repo: x.repo, ref: `refs/tags/${x.tagName}`, sha: commitOf(x.owner, x.repo, x.targetCommitish) });
  }

  function releaseFields(b: Record<string, unknown>): Partial<Release> | string {
    const fields: Partial<Release> = {};
    for (const [key, field] of [
      ['tag_name', 'tagName'],
      ['target_commitish', 'targetCommitish'],
      ['name', 'name'],
      ['body', 'body'],
    ] as const) {
      if (b[key] === undefined) continue;
      if (typeof b[key] !== 'string') return key;
      fields[field] = b[key];
    }
    for (const [key, field] of [
      ['draft', 'draft'],
      ['prerelease', 'prerelease'],
    ] as const) {
      if (b[key] === undefined) continue;
      if (typeof b[key] !== 'boolean') return key;
      fields[field] = b[key];
    }
    return fields;
  }

  function findComment(o: string, r: string, id: string): Comment | undefined {
    const c = comments.get(Number(id));
    return c && c.owner === o && c.repo === r ? c : undefined;
  }
  function findDeployment(o: string, r: string, id: string): Deployment | undefined {
    const d = deployments.get(Number(id));
    return d && d.owner === o && d.repo === r ? d : undefined;
  }

  /** A ref resolves to a commit: a full SHA is itself, a PR head branch is its head SHA, others get a stable fake SHA. */
  function resolveRef(o: string, r: string, ref: string): string {
    if (/^[0-9a-f]{40}$/.test(ref)) return ref;
    for (const p of pulls.values()) if (p.owner === o && p.repo === r && p.headRef === ref.replace(/^refs\/heads\//, '')) return p.headSha;
    return createHash('sha1').update(`${o}/${r}:${ref}`).digest('hex');
  }

  const R = '/repos/([^/]+)/([^/]+)';
  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/user$/,
      operation: 'users/get-authenticated',
      mutating: false,
      handler(req) {
        if (!req.headers.authorization) return { status: 401, body: { message: 'Requires authentication', documentation_url: DOCS, status: '401' } };
        const who = identityOf(req);
        // Installation tokens (GITHUB_TOKEN among them) have no user to show.
        if (who.kind === 'app') {
          return {
            status: 403,
            body: { message: 'Resource not accessible by integration', documentation_url: `${DOCS}/users/users#get-the-authenticated-user`, status: '403' },
          };
        }
        const epoch = iso(Date.UTC(2020, 0, 1));
        return {
          status: 200,
          body: { ...userView(who), name: null, company: null, blog: '', location: null, email: null, bio: null, created_at: epoch, updated_at: epoch },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/issues/(\\d+)/comments$`),
      operation: 'issues/list-comments',
      mutating: false,
      handler(req, [o, r, n], base) {
        const since = req.query.get('since');
        const list = [...comments.values()].filter((c) => c.owner === o && c.repo === r && c.issue === Number(n) && (!since || c.updated >= Date.parse(since)));
        const { page, headers } = paginate(req, base, list);
        return { status: 200, body: page.map((c) => commentView(c, base)), headers };
      },
    },
    {
      method: 'POST',
      pattern: /^\/graphql$/,
      operation: 'graphql',
      mutating: false,
      handler(req) {
        if (!req.headers.authorization) {
          return {
            status: 401,
            body: {
              message: 'This endpoint requires you to be authenticated.',
              documentation_url: 'https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql',
            },
          };
        }
        const query = obj(req.body).query;
        // Only the viewer's login is modelled; GitHub reports a query it cannot run with 200 and `errors`.
        if (typeof query !== 'string' || !/^\s*(?:query\s*)?\{\s*viewer\s*\{\s*login\s*\}\s*\}\s*$/.test(query)) {
          return { status: 200, body: { errors: [{ message: 'The emulator answers only the query { viewer { login } }.' }] } };
        }
        return { status: 200, body: { data: { viewer: { login: login(identityOf(req)) } } } };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${R}/issues/(\\d+)/comments$`),
      operation: 'issues/create-comment',
      mutating: true,
      handler(req, [o, r, n], base) {
        const body = obj(req.body).body;
        if (typeof body !== 'string') return invalid('IssueComment', 'body', 'missing_field');
        const now = ctx.clock.now();
        const c: Comment = { id: nextId++, author: identityOf(req), owner: o as string, repo: r as string, issue: Number(n), body, created: now, updated: now };
        comments.set(c.id, c);
        const view = commentView(c, base);
        return { status: 201, body: view, headers: { location: view.url } };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/issues/comments/(\\d+)$`),
      operation: 'issues/get-comment',
      mutating: false,
      handler(_req, [o, r, id], base) {
        const c = findComment(o as string, r as string, id as string);
        return c ? { status: 200, body: commentView(c, base) } : notFound();
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^${R}/issues/comments/(\\d+)$`),
      operation: 'issues/update-comment',
      mutating: true,
      handler(req, [o, r, id], base) {
        const c = findComment(o as string, r as string, id as string);
        if (!c) return notFound();
        const body = obj(req.body).body;
        if (typeof body !== 'string') return invalid('IssueComment', 'body', 'missing_field');
        c.body = body;
        c.updated = ctx.clock.now();
        return { status: 200, body: commentView(c, base) };
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^${R}/issues/comments/(\\d+)$`),
      operation: 'issues/delete-comment',
      mutating: true,
      handler(_req, [o, r, id]) {
        const c = findComment(o as string, r as string, id as string);
        if (!c) return notFound();
        comments.delete(c.id);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${R}/deployments$`),
      operation: 'repos/create-deployment',
      mutating: true,
      handler(req, [o, r], base) {
        const b = obj(req.body);
        if (typeof b.ref !== 'string' || b.ref === '') return invalid('Deployment', 'ref', 'missing_field');
        const environment = typeof b.environment === 'string' ? b.environment : 'production';
        const now = ctx.clock.now();
        const d: Deployment = {
          id: nextId++,
          owner: o as string,
          repo: r as string,
          sha: resolveRef(o as string, r as string, b.ref),
          ref: b.ref,
          task: typeof b.task === 'string' ? b.task : 'deploy',
          // GitHub stores a string payload as given and an object as an object.
          payload: b.payload ?? {},
          environment,
          originalEnvironment: environment,
          description: typeof b.description === 'string' ? b.description : null,
          transient: b.transient_environment === true,
          production: typeof b.production_environment === 'boolean' ? b.production_environment : environment === 'production',
          created: now,
          updated: now,
        };
        deployments.set(d.id, d);
        return { status: 201, body: deploymentView(d, base) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/deployments$`),
      operation: 'repos/list-deployments',
      mutating: false,
      handler(req, [o, r], base) {
        const f = (k: string) => req.query.get(k);
        const list = [...deployments.values()]
          .filter(
            (d) =>
              d.owner === o &&
              d.repo === r &&
              (!f('environment') || d.environment === f('environment')) &&
              (!f('ref') || d.ref === f('ref')) &&
              (!f('sha') || d.sha === f('sha')) &&
              (!f('task') || d.task === f('task')),
          )
          .reverse();
        const { page, headers } = paginate(req, base, list);
        return { status: 200, body: page.map((d) => deploymentView(d, base)), headers };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/deployments/(\\d+)$`),
      operation: 'repos/get-deployment',
      mutating: false,
      handler(_req, [o, r, id], base) {
        const d = findDeployment(o as string, r as string, id as string);
        return d ? { status: 200, body: deploymentView(d, base) } : notFound();
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^${R}/deployments/(\\d+)$`),
      operation: 'repos/delete-deployment',
      mutating: true,
      handler(_req, [o, r, id]) {
        const d = findDeployment(o as string, r as string, id as string);
        if (!d) return notFound();
        const latest = statuses.filter((s) => s.deploymentId === d.id).at(-1);
        const others = [...deployments.values()].filter((x) => x.id !== d.id && x.owner === d.owner && x.repo === d.repo && x.environment === d.environment);
        if (latest?.state !== 'inactive' && others.length > 0) {
          return {
            status: 422,
            body: {
              message: 'We cannot delete an active deployment unless it is the only deployment in a given environment.',
              documentation_url: DOCS,
              status: '422',
            },
          };
        }
        deployments.delete(d.id);
        statuses = statuses.filter((s) => s.deploymentId !== d.id);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${R}/deployments/(\\d+)/statuses$`),
      operation: 'repos/create-deployment-status',
      mutating: true,
      handler(req, [o, r, id], base) {
        const d = findDeployment(o as string, r as string, id as string);
        if (!d) return notFound();
        const b = obj(req.body);
        if (typeof b.state !== 'string') return invalid('DeploymentStatus', 'state', 'missing_field');
        if (!DEPLOYMENT_STATES.includes(b.state)) return invalid('DeploymentStatus', 'state', 'custom', 'state is not included in the list');
        const now = ctx.clock.now();
        if (typeof b.environment === 'string' && b.environment !== '') {
          d.environment = b.environment;
          d.updated = now;
        }
        const s: DeploymentStatus = {
          id: nextId++,
          deploymentId: d.id,
          state: b.state,
          description: typeof b.description === 'string' ? b.description : '',
          environment: d.environment,
          environmentUrl: typeof b.environment_url === 'string' ? b.environment_url : '',
          logUrl: typeof b.log_url === 'string' ? b.log_url : typeof b.target_url === 'string' ? b.target_url : '',
          created: now,
        };
        statuses.push(s);
        // auto_inactive (default true): a success marks earlier successful deployments to the same
        // non-transient, non-production environment inactive.
        if (s.state === 'success' && b.auto_inactive !== false) {
          for (const other of deployments.values()) {
            if (other.id === d.id || other.owner !== d.owner || other.repo !== d.repo || other.environment !== d.environment) continue;
            if (other.transient || other.production) continue;
            const last = statuses.filter((x) => x.deploymentId === other.id).at(-1);
            if (last?.state !== 'success') continue;
            statuses.push({ ...last, id: nextId++, state: 'inactive', description: '', created: now });
          }
        }
        return { status: 201, body: statusView(s, base) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/deployments/(\\d+)/statuses$`),
      operation: 'repos/list-deployment-statuses',
      mutating: false,
      handler(req, [o, r, id], base) {
        const d = findDeployment(o as string, r as string, id as string);
        if (!d) return notFound();
        const list = statuses.filter((s) => s.deploymentId === d.id).reverse();
        const { page, headers } = paginate(req, base, list);
        return { status: 200, body: page.map((s) => statusView(s, base)), headers };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/deployments/(\\d+)/statuses/(\\d+)$`),
      operation: 'repos/get-deployment-status',
      mutating: false,
      handler(_req, [o, r, id, sid], base) {
        const d = findDeployment(o as string, r as string, id as string);
        const s = d ? statuses.find((x) => x.deploymentId === d.id && x.id === Number(sid)) : undefined;
        return s ? { status: 200, body: statusView(s, base) } : notFound();
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/git/ref/(.+)$`),
      operation: 'git/get-ref',
      mutating: false,
      handler(_req, [o, r, ref], base) {
        const x = refs.get(refKey(o as string, r as string, `refs/${ref}`));
        return x ? { status: 200, body: refView(x, base) } : notFound();
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/git/matching-refs/(.*)$`),
      operation: 'git/list-matching-refs',
      mutating: false,
      handler(_req, [o, r, prefix], base) {
        const list = [...refs.values()]
          .filter((x) => x.owner === o && x.repo === r && x.ref.startsWith(`refs/${prefix}`))
          .sort((a, b) => a.ref.localeCompare(b.ref));
        return { status: 200, body: list.map((x) => refView(x, base)) };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${R}/git/refs$`),
      operation: 'git/create-ref',
      mutating: true,
      handler(req, [o, r], base) {
        const b = obj(req.body);
        if (typeof b.ref !== 'string' || typeof b.sha !== 'string') return invalid('Reference', typeof b.ref !== 'string' ? 'ref' : 'sha', 'missing_field');
        // GitHub: "ref must be formatted as refs/heads/<name>" and at least two slashes.
        if (!/^refs\/[^/]+\/.+/.test(b.ref))
          return { status: 422, body: { message: `${b.ref} is not a valid ref name.`, documentation_url: DOCS, status: '422' } };
        if (!/^[0-9a-f]{40}$/.test(b.sha)) return { status: 422, body: { message: 'Object does not exist', documentation_url: DOCS, status: '422' } };
        const key = refKey(o as string, r as string, b.ref);
        if (refs.has(key)) return { status: 422, body: { message: 'Reference already exists', documentation_url: DOCS, status: '422' } };
        const x: Ref = { owner: o as string, repo: r as string, ref: b.ref, sha: b.sha };
        refs.set(key, x);
        const view = refView(x, base);
        return { status: 201, body: view, headers: { location: view.url } };
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^${R}/git/refs/(.+)$`),
      operation: 'git/update-ref',
      mutating: true,
      handler(req, [o, r, ref], base) {
        const b = obj(req.body);
        if (typeof b.sha !== 'string') return invalid('Reference', 'sha', 'missing_field');
        if (!/^[0-9a-f]{40}$/.test(b.sha)) return { status: 422, body: { message: 'Object does not exist', documentation_url: DOCS, status: '422' } };
        const x = refs.get(refKey(o as string, r as string, `refs/${ref}`));
        if (!x) return { status: 422, body: { message: 'Reference does not exist', documentation_url: DOCS, status: '422' } };
        // The emulator has no commit graph: any move that is not forced counts as not a fast forward.
        if (b.force !== true && b.sha !== x.sha)
          return { status: 422, body: { message: 'Update is not a fast forward', documentation_url: DOCS, status: '422' } };
        x.sha = b.sha;
        return { status: 200, body: refView(x, base) };
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^${R}/git/refs/(.+)$`),
      operation: 'git/delete-ref',
      mutating: true,
      handler(_req, [o, r, ref]) {
        const key = refKey(o as string, r as string, `refs/${ref}`);
        if (!refs.delete(key)) return { status: 422, body: { message: 'Reference does not exist', documentation_url: DOCS, status: '422' } };
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${R}/releases$`),
      operation: 'repos/create-release',
      mutating: true,
      handler(req, [o, r], base) {
        const fields = releaseFields(obj(req.body));
        if (typeof fields === 'string') return invalid('Release', fields, 'invalid');
        if (!fields.tagName) return invalid('Release', 'tag_name', 'missing_field');
        const tagName = fields.tagName;
        if ([...releases.values()].some((x) => x.owner === o && x.repo === r && x.tagName === tagName && !x.draft))
          return invalid('Release', 'tag_name', 'already_exists');
        const now = ctx.clock.now();
        const x: Release = {
          id: nextId++,
          owner: o as string,
          repo: r as string,
          tagName,
          targetCommitish: fields.targetCommitish ?? 'main',
          name: fields.name ?? null,
          body: fields.body ?? null,
          draft: fields.draft ?? false,
          prerelease: fields.prerelease ?? false,
          created: now,
          published: fields.draft ? null : now,
        };
        releases.set(x.id, x);
        tagRelease(x);
        const view = releaseView(x, base);
        return { status: 201, body: view, headers: { location: view.url } };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/releases$`),
      operation: 'repos/list-releases',
      mutating: false,
      handler(req, [o, r], base) {
        const list = [...releases.values()].filter((x) => x.owner === o && x.repo === r).reverse();
        const { page, headers } = paginate(req, base, list);
        return { status: 200, body: page.map((x) => releaseView(x, base)), headers };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/releases/latest$`),
      operation: 'repos/get-latest-release',
      mutating: false,
      handler(_req, [o, r], base) {
        const latest = [...releases.values()].filter((x) => x.owner === o && x.repo === r && !x.draft && !x.prerelease).at(-1);
        return latest ? { status: 200, body: releaseView(latest, base) } : notFound();
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/releases/tags/(.+)$`),
      operation: 'repos/get-release-by-tag',
      mutating: false,
      handler(_req, [o, r, tag], base) {
        const x = [...releases.values()].find((y) => y.owner === o && y.repo === r && y.tagName === tag && !y.draft);
        return x ? { status: 200, body: releaseView(x, base) } : notFound();
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/releases/(\\d+)$`),
      operation: 'repos/get-release',
      mutating: false,
      handler(_req, [o, r, id], base) {
        const x = findRelease(o as string, r as string, id as string);
        return x ? { status: 200, body: releaseView(x, base) } : notFound();
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^${R}/releases/(\\d+)$`),
      operation: 'repos/update-release',
      mutating: true,
      handler(req, [o, r, id], base) {
        const x = findRelease(o as string, r as string, id as string);
        if (!x) return notFound();
        const fields = releaseFields(obj(req.body));
        if (typeof fields === 'string') return invalid('Release', fields, 'invalid');
        Object.assign(x, fields);
        if (!x.draft && x.published === null) x.published = ctx.clock.now();
        tagRelease(x);
        return { status: 200, body: releaseView(x, base) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${R}/pulls/(\\d+)$`),
      operation: 'pulls/get',
      mutating: false,
      handler(_req, [o, r, n], base) {
        const p = pulls.get(pullKey(o as string, r as string, Number(n)));
        return p ? { status: 200, body: pullView(p, base) } : notFound();
      },
    },
  ];

  /** POST /tokens {token, user} or {token, app}: the token acts as that person, or as that app's bot. */
  function nameToken(b: Record<string, unknown>): GithubResponse {
    const name = b.user ?? b.app;
    if (typeof b.token !== 'string' || !b.token || typeof name !== 'string' || !name || (b.user !== undefined) === (b.app !== undefined)) {
      return { status: 400, body: { error: 'token and exactly one of user (a login) or app (a slug) are required, as strings' } };
    }
    const who: Identity = { kind: b.user !== undefined ? 'user' : 'app', name, id: nextId++ };
    identities.set(b.token, who);
    return { status: 201, body: { token: b.token, login: login(who), type: who.kind === 'app' ? 'Bot' : 'User' } };
  }

  function baseUrl(req: GithubRequest): string {
    const host = req.headers.host;
    return `http://${typeof host === 'string' ? host : '127.0.0.1'}/github`;
  }

  return {
    async handleApi(req: GithubRequest): Promise<GithubResponse> {
      const path = req.path.replace(/\/+$/, '') || '/';
      let matched: { route: Route; params: string[] } | undefined;
      for (const route of routes) {
        if (route.method !== req.method) continue;
        const m = route.pattern.exec(path);
        if (m) {
          matched = { route, params: m.slice(1).map(decodeURIComponent) };
          break;
        }
      }
      // Writes need a token (GITHUB_TOKEN); any value is accepted, as signatures are for AWS.
      const anonymousWrite = matched?.route.mutating && !req.headers.authorization;
      const out = anonymousWrite
        ? { status: 401, body: { message: 'Requires authentication', documentation_url: DOCS, status: '401' } }
        : matched
          ? matched.route.handler({ ...req, path }, matched.params, baseUrl(req))
          : notFound();
      ctx.recordCall({
        time: ctx.clock.now(),
        service: 'github',
        operation: matched?.route.operation ?? `${req.method} ${path}`,
        mutating: matched?.route.mutating ?? req.method !== 'GET',
        parameters: { path, query: Object.fromEntries(req.query), body: req.body },
        ...(out.status >= 400 ? { error: String(out.status) } : {}),
      });
      return out;
    },

    /** POST /pulls {owner, repo, number, state?, headSha?, headRef?, baseRef?, title?, merged?}: create or update a pull request. */
    async handleControl(req: GithubRequest): Promise<GithubResponse> {
      if (req.method === 'POST' && req.path === '/tokens') return nameToken(obj(req.body));
      if (req.method !== 'POST' || req.path !== '/pulls')
        return { status: 404, body: { error: `no control endpoint ${req.method} /_emulator/github${req.path}` } };
      const b = obj(req.body);
      const number = Number(b.number);
      if (typeof b.owner !== 'string' || typeof b.repo !== 'string' || !Number.isInteger(number) || number < 1) {
        return { status: 400, body: { error: 'owner, repo (strings) and number (positive integer) are required' } };
      }
      if (b.state !== undefined && b.state !== 'open' && b.state !== 'closed') return { status: 400, body: { error: 'state must be open or closed' } };
      const k = pullKey(b.owner, b.repo, number);
      const now = ctx.clock.now();
      const existing = pulls.get(k);
      const p: Pull = existing ?? {
        owner: b.owner,
        repo: b.repo,
        number,
        id: nextId++,
        state: 'open',
        merged: false,
        title: `Pull request #${number}`,
        headSha: createHash('sha1').update(`${k}:head`).digest('hex'),
        headRef: `pr-${number}`,
        baseRef: 'main',
        created: now,
        updated: now,
        closed: null,
      };
      if (b.state === 'open' || b.state === 'closed') {
        if (b.state !== p.state) p.closed = b.state === 'closed' ? now : null;
        p.state = b.state;
      }
      if (typeof b.headSha === 'string') p.headSha = b.headSha;
      if (typeof b.headRef === 'string') p.headRef = b.headRef;
      if (typeof b.baseRef === 'string') p.baseRef = b.baseRef;
      if (typeof b.title === 'string') p.title = b.title;
      if (typeof b.merged === 'boolean') p.merged = b.merged;
      p.updated = now;
      pulls.set(k, p);
      return { status: existing ? 200 : 201, body: pullView(p, baseUrl(req)) };
    },

    state(): unknown {
      const base = 'http://emulator/github';
      return {
        comments: [...comments.values()].map((c) => ({ owner: c.owner, repo: c.repo, issue: c.issue, ...commentView(c, base) })),
        deployments: [...deployments.values()].map((d) => ({
          ...deploymentView(d, base),
          statuses: statuses.filter((s) => s.deploymentId === d.id).map((s) => statusView(s, base)),
        })),
        pulls: [...pulls.values()].map((p) => pullView(p, base)),
        refs: [...refs.values()].map((x) => ({ owner: x.owner, repo: x.repo, ...refView(x, base) })),
        releases: [...releases.values()].map((x) => ({ owner: x.owner, repo: x.repo, ...releaseView(x, base) })),
      };
    },

    reset(): void {
      identities = new Map();
      comments = new Map();
      deployments = new Map();
      statuses = [];
      pulls = new Map();
      refs = new Map();
      releases = new Map();
    },
  };
}
