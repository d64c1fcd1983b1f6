// One HTTP server for every emulated AWS service, the control endpoint (/_emulator/...), the
// GitHub REST surface (/github/...) and the Actions cache (/_actions-cache/...). Signatures are accepted, never verified.
// AWS requests are routed by X-Amz-Target (JSON 1.1), by the path prefix of a REST-XML module (Route 53) or by the
// form body's Version (Query, EC2).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { ACTIONS_CACHE_PREFIX, type ActionsCache } from './actions-cache.ts';
import type { AlarmStore } from './core/alarms.ts';
import type { BehaviourStore } from './core/behaviours.ts';
import type { ManagedClock } from './core/clock.ts';
import type { FaultRule, FaultStore } from './core/faults.ts';
import {
  AwsError,
  type CallRecord,
  type EmulatorContext,
  type GithubRequest,
  type GithubResponse,
  type RestResponse,
  type ServiceModule,
} from './core/types.ts';
import { parseQueryParams, signingRegion, toXml } from './core/wire.ts';
import { callerAction, deniedMessage, type PolicyDocument, requiredPermissions, type Scope } from './iam.ts';

export interface GithubApi {
  handleApi(req: GithubRequest): Promise<GithubResponse>;
  handleControl(req: GithubRequest): Promise<GithubResponse>;
  state(): unknown;
  reset(): void;
}

export interface ServerDeps {
  context: EmulatorContext;
  defaultRegion: string;
  clock: ManagedClock;
  modules: ServiceModule[];
  faults: FaultStore;
  behaviours: BehaviourStore;
  alarms: AlarmStore;
  calls: () => CallRecord[];
  github: GithubApi;
  actionsCache: ActionsCache;
  callLatencyMs: number;
  /** GET/POST /_emulator/limits: the service quotas in force, and overriding them ({"elbv2": {name: max}}). */
  limits: { get(): unknown; set(input: unknown): unknown };
  /** GET /_emulator/dns/resolve?name=: where a name leads through the hosted zones' records; undefined when nowhere. */
  resolveName(name: string): unknown;
  reset(): void;
  state(): unknown;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Dates go out as epoch seconds, as JSON 1.1 services send timestamps. */
function jsonBody(value: unknown): string {
  return JSON.stringify(value ?? {}, function (this: Record<string, unknown>, key, v) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : v;
  });
}

/** Throttling as each protocol's services send it, so the SDK's retry classifies it as throttling. */
function faultError(protocol: ServiceModule['protocol'], kind: FaultRule['error']): AwsError {
  if (kind === 'ThrottlingException') {
    if (protocol === 'json') return new AwsError('ThrottlingException', 'Rate exceeded', 400);
    if (protocol === 'query' || protocol === 'rest-xml') return new AwsError('Throttling', 'Rate exceeded', 400);
    return new AwsError('RequestLimitExceeded', 'Request limit exceeded.', 503);
  }
  if (protocol === 'ec2') return new AwsError('InternalError', 'An internal error has occurred', 500);
  return new AwsError('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500);
}

/** A call its caller's policy does not allow, as each protocol's services refuse it. */
function accessDenied(protocol: ServiceModule['protocol'], message: string): AwsError {
  if (protocol === 'json') return new AwsError('AccessDeniedException', message);
  if (protocol === 'ec2') return new AwsError('UnauthorizedOperation', `You are not authorized to perform this operation. ${message}`, 403);
  return new AwsError('AccessDenied', message, 403);
}

function unknownOperation(protocol: ServiceModule['protocol'], operation: string): AwsError {
  if (protocol === 'json') return new AwsError('UnknownOperationException', '');
  if (protocol === 'rest-xml') return new AwsError('UnknownOperationException', `No operation at ${operation}`, 404);
  return new AwsError('InvalidAction', `The action ${operation} is not valid for this web service.`);
}

export function createServer(deps: ServerDeps): http.Server {
  const byTarget = new Map<string, ServiceModule>();
  const byVersion = new Map<string, ServiceModule>();
  for (const m of deps.modules) {
    if (m.protocol === 'json' && m.targetPrefix) byTarget.set(m.targetPrefix, m);
    if (m.protocol !== 'json' && m.apiVersion) byVersion.set(m.apiVersion, m);
  }

  async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string>): void {
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
    send(res, status, JSON.stringify(value ?? {}, null, 1), { 'content-type': 'application/json' });
  }

  function sendAwsError(res: http.ServerResponse, protocol: ServiceModule['protocol'], err: AwsError, xmlns?: string): void {
    const requestId = randomUUID();
    if (protocol === 'json') {
      send(res, err.status, JSON.stringify({ __type: err.code, message: err.message }), {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': err.code,
        'x-amzn-requestid': requestId,
      });
    } else if (protocol === 'query' || protocol === 'rest-xml') {
      const error = toXml('Error', { Type: err.fault, Code: err.code, Message: err.message }, 'member');
      const prolog = protocol === 'rest-xml' ? '<?xml version="1.0"?>\n' : '';
      send(res, err.status, `${prolog}<ErrorResponse xmlns="${xmlns ?? ''}">${error}<RequestId>${requestId}</RequestId></ErrorResponse>`, {
        'content-type': 'text/xml',
        'x-amzn-requestid': requestId,
      });
    } else {
      const error = toXml('Error', { Code: err.code, Message: err.message }, 'item');
      send(res, err.status, `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors>${error}</Errors><RequestID>${requestId}</RequestID></Response>`, {
        'content-type': 'text/xml;charset=UTF-8',
      });
    }
  }

  function sendAwsResult(res: http.ServerResponse, mod: ServiceModule, operation: string, result: unknown): void {
    const requestId = randomUUID();
    if (mod.protocol === 'json') {
      send(res, 200, jsonBody(result), { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId });
      return;
    }
    if (mod.protocol === 'rest-xml') {
      const r = result as RestResponse;
      send(res, r.status, `<?xml version="1.0"?>\n${r.xml}`, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, ...r.headers });
      return;
    }
    const fields = Object.entries((result ?? {}) as Record<string, unknown>)
      .map(([k, v]) => toXml(k, v, mod.protocol === 'query' ? 'member' : 'item'))
      .join('');
    const xml =
      mod.protocol === 'query'
        ? `<${operation}Response xmlns="${mod.xmlNamespace ?? ''}"><${operation}Result>${fields}</${operation}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`
        : `<?xml version="1.0" encoding="UTF-8"?>\n<${operation}Response xmlns="http://ec2.amazonaws.com/doc/${mod.apiVersion}/"><requestId>${requestId}</requestId>${fields}</${operation}Response>`;
    send(res, 200, xml, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
  }

  async function handleAws(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];
    const rest = deps.modules.find((m) => m.pathPrefix && url.pathname.startsWith(m.pathPrefix));
    let mod: ServiceModule | undefined;
    let operation: string;
    let params: Record<string, unknown> = {};
    let protocol: ServiceModule['protocol'];
    // A REST body that cannot be read is answered after the call is recorded under its operation.
    let unreadable: AwsError | undefined;
    if (rest?.route) {
      mod = rest;
      protocol = 'rest-xml';
      const method = req.method ?? 'GET';
      const routed = rest.route({ method, path: url.pathname, query: url.searchParams, body });
      operation = routed?.operation ?? `${method} ${url.pathname}`;
      try {
        if (routed) params = routed.input();
      } catch (e) {
        if (!(e instanceof AwsError)) throw e;
        unreadable = e;
      }
    } else if (typeof target === 'string') {
      protocol = 'json';
      const dot = target.lastIndexOf('.');
      mod = byTarget.get(target.slice(0, dot));
      operation = target.slice(dot + 1);
      try {
        params = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      } catch {
        // Not JSON: answer as AWS does for an unreadable body.
        sendAwsError(res, 'json', new AwsError('SerializationException', 'Malformed request body'));
        return;
      }
    } else {
      const parsed = parseQueryParams(body);
      mod = byVersion.get(parsed.version);
      protocol = mod?.protocol ?? 'query';
      operation = parsed.action;
      params = parsed.params;
    }
    if (!mod) {
      sendAwsError(res, protocol, unknownOperation(protocol, operation));
      return;
    }
    const op = mod.operations[operation];
    const caller = callerAction(req.headers);
    const record = (error?: string): void => {
      const call: CallRecord = {
        time: deps.clock.now(),
        service: mod.name,
        operation,
        mutating: op?.mutating ?? false,
        parameters: params,
      };
      if (error) call.error = error;
      if (caller) call.action = caller;
      deps.context.recordCall(call);
    };
    if (!op) {
      const err = unknownOperation(protocol, operation);
      record(err.code);
      sendAwsError(res, protocol, err, mod.xmlNamespace);
      return;
    }
    if (unreadable) {
      record(unreadable.code);
      sendAwsError(res, protocol, unreadable, mod.xmlNamespace);
      return;
    }
    const region = signingRegion(req.headers.authorization) ?? deps.defaultRegion;
    // Calls from outside the actions (test setup, the demo's own clients) are not checked.
    if (caller) {
      const scope: Scope = {
        region,
        account: deps.context.accountId,
        taskDefinitionRoles: (ref) => deps.context.taskRoles.taskDefinitionRoles(ref),
        resourceTags: (arn) => deps.modules.map((m) => m.resourceTags?.(arn)).find((tags) => tags !== undefined),
        hasServiceLinkedRole: (service) => deps.context.serviceLinkedRoles.has(service),
      };
      const denied = deps.context.iam.authorize(caller, requiredPermissions(mod.name, operation, params, scope));
      if (denied) {
        const err = accessDenied(protocol, deniedMessage(deps.context.accountId, denied));
        record(err.code);
        sendAwsError(res, protocol, err, mod.xmlNamespace);
        return;
      }
    }
    if (deps.callLatencyMs > 0) await sleep(deps.callLatencyMs);
    for (const fault of deps.faults.pick(mod.name, operation)) {
      if (fault.error === 'latency') {
        await sleep(fault.latencyMs ?? 1000);
        continue;
      }
      if (fault.error === 'drop') {
        record('drop');
        req.socket.destroy();
        return;
      }
      const err = faultError(protocol, fault.error);
      record(err.code);
      sendAwsError(res, protocol, err, mod.xmlNamespace);
      return;
    }
    deps.context.region = region;
    try {
      const result = await op.handler(params, { action: caller });
      record();
      sendAwsResult(res, mod, operation, result);
    } catch (e) {
      const err = e instanceof AwsError ? e : new AwsError('InternalFailure', String((e as Error)?.stack ?? e), 500);
      if (!(e instanceof AwsError)) console.error('emulator handler failed:', e);
      record(err.code);
      sendAwsError(res, protocol, err, mod.xmlNamespace);
    }
  }

  async function handleGithub(req: http.IncomingMessage, res: http.ServerResponse, url: URL, prefix: string, control: boolean): Promise<void> {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      sendJson(res, 400, { message: 'Problems parsing JSON' });
      return;
    }
    const ghReq: GithubRequest = {
      method: req.method ?? 'GET',
      path: url.pathname.slice(prefix.length) || '/',
      query: url.searchParams,
      headers: req.headers,
      body,
    };
    const out = control ? await deps.github.handleControl(ghReq) : await deps.github.handleApi(ghReq);
    const text = out.body === undefined ? '' : JSON.stringify(out.body);
    send(res, out.status, text, { 'content-type': 'application/json; charset=utf-8', ...out.headers });
  }

  async function handleControl(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const raw = await readBody(req);
    let input: unknown;
    try {
      input = raw ? JSON.parse(raw) : {};
    } catch {
      sendJson(res, 400, { error: 'body is not JSON' });
      return;
    }
    const iamView = (): unknown => ({
      enforcing: deps.context.iam.enforcing,
      policies: deps.context.iam.policies(),
      observed: deps.context.iam.observed(),
    });
    const clockView = (): unknown => ({
      now: new Date(deps.clock.now()).toISOString(),
      epochMs: deps.clock.now(),
      timeScale: deps.clock.timeScale,
    });
    try {
      if (path === '/_emulator/health' && method === 'GET') {
        return sendJson(res, 200, { status: 'ok', services: deps.modules.map((m) => m.name) });
      }
      if (path === '/_emulator/clock' && method === 'GET') return sendJson(res, 200, clockView());
      if (path === '/_emulator/clock' && method === 'POST') {
        const seconds = Number((input as { advanceSeconds?: unknown }).advanceSeconds);
        if (!(seconds >= 0)) return sendJson(res, 400, { error: 'advanceSeconds must be a number >= 0' });
        deps.clock.advance(seconds);
        return sendJson(res, 200, clockView());
      }
      if (path === '/_emulator/behaviours' && method === 'POST') return sendJson(res, 200, deps.behaviours.set(input));
      if (path === '/_emulator/behaviours' && method === 'GET') return sendJson(res, 200, deps.behaviours.list());
      if (path === '/_emulator/alarms' && method === 'POST') return sendJson(res, 200, deps.alarms.set(input));
      if (path === '/_emulator/alarms' && method === 'GET') return sendJson(res, 200, deps.alarms.list());
      if (path === '/_emulator/faults' && method === 'POST') return sendJson(res, 200, deps.faults.add(input));
      if (path === '/_emulator/faults' && method === 'GET') return sendJson(res, 200, deps.faults.list());
      if (path === '/_emulator/faults' && method === 'DELETE') {
        deps.faults.clear();
        return sendJson(res, 200, { faults: [] });
      }
      if (path === '/_emulator/calls' && method === 'GET') return sendJson(res, 200, { calls: deps.calls() });
      if (path === '/_emulator/state' && method === 'GET') return sendJson(res, 200, deps.state());
      if (path === '/_emulator/iam' && method === 'GET') return sendJson(res, 200, iamView());
      if (path === '/_emulator/iam' && method === 'POST') {
        const policies = (input as { policies?: unknown }).policies;
        if (policies !== null && (typeof policies !== 'object' || Array.isArray(policies))) {
          return sendJson(res, 400, { error: 'policies must be an object of action names and policy documents, or null' });
        }
        try {
          deps.context.iam.setPolicies(policies as Record<string, PolicyDocument> | null);
        } catch (e) {
          return sendJson(res, 400, { error: (e as Error).message });
        }
        return sendJson(res, 200, iamView());
      }
      if (path === '/_emulator/actions-cache' && method === 'GET') return sendJson(res, 200, deps.actionsCache.state());
      if (path === '/_emulator/limits' && method === 'GET') return sendJson(res, 200, deps.limits.get());
      if (path === '/_emulator/limits' && method === 'POST') return sendJson(res, 200, deps.limits.set(input));
      if (path === '/_emulator/dns/resolve' && method === 'GET') {
        const name = url.searchParams.get('name');
        if (!name) return sendJson(res, 400, { error: 'name is required' });
        const answer = deps.resolveName(name);
        return answer === undefined ? sendJson(res, 404, { error: `${name} does not resolve to anything` }) : sendJson(res, 200, answer);
      }
      if (path === '/_emulator/reset' && method === 'POST') {
        deps.reset();
        return sendJson(res, 200, { reset: true });
      }
      sendJson(res, 404, { error: `no control endpoint ${method} ${path}` });
    } catch (e) {
      if (e instanceof AwsError) return sendJson(res, e.status, { error: e.message, code: e.code });
      throw e;
    }
  }

  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname;
    let work: Promise<void>;
    if (path.startsWith('/_emulator/github')) work = handleGithub(req, res, url, '/_emulator/github', true);
    else if (path === '/github' || path.startsWith('/github/')) work = handleGithub(req, res, url, '/github', false);
    else if (path.startsWith(ACTIONS_CACHE_PREFIX) || path.startsWith('/twirp/')) work = deps.actionsCache.handle(req, res, url);
    else if (path.startsWith('/_emulator/')) work = handleControl(req, res, url);
    else work = handleAws(req, res, url);
    work.catch((e: unknown) => {
      console.error('emulator request failed:', e);
      if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      else res.destroy();
    });
  });
}
