// A real OCI registry (Debian's docker-registry) behind a small front door, so real tools (buildah,
// docker) push and pull the images ECR describes. The front door exists because the registry alone
// cannot act like ECR: it would accept anyone, any repository name and any tag overwrite.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A request arriving at the front door, as the gate sees it. */
export interface GateRequest {
  method: string;
  /** Repository name for /v2/<name>/..., undefined for /v2/ and /v2/_catalog. */
  repository?: string;
  /** manifests | blobs | tags | referrers */
  kind?: string;
  /** Tag or digest for manifests/<reference>. */
  reference?: string;
  /** blobs/uploads/...: a layer upload (start, part, completion). */
  upload?: boolean;
  authorization?: string;
  /** sha256 of the body of a manifest PUT. */
  manifestDigest?: string;
}

/** A refusal in the registry's error format (distribution spec "errors" body). */
export interface GateRejection {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

/** What ECR plugs into the front door: who may do what, and what was pushed. */
export interface RegistryGate {
  check(req: GateRequest): Promise<GateRejection | null>;
  /** A manifest was stored through the front door (reference is the tag or digest pushed). */
  pushed(repository: string, reference: string, digest: string): void;
}

export type RegistryHandle = {
  /** The front door, e.g. http://127.0.0.1:5001: what ECR's repositoryUri and proxyEndpoint name. */
  url: string;
  /** 127.0.0.1:port of the front door. */
  host: string;
  /** The registry itself, for the emulator's own reads and writes (no auth, no gate). */
  backendUrl: string;
  /** The registry's filesystem storage root, for what its HTTP API cannot do (untag, delete a repository). */
  storageDir: string;
  setGate(gate: RegistryGate | null): void;
  /** Bytes that crossed the front door since start: blob bodies served (pulled) and received (pushed). */
  traffic(): RegistryTraffic;
  stop(): Promise<void>;
};

export interface RegistryTraffic {
  pulledBytes: number;
  pushedBytes: number;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });

const hasBinary = (name: string): Promise<boolean> =>
  new Promise((resolve) => {
    const p = spawn(name, ['--version'], { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('exit', (code) => resolve(code === 0));
  });

const PATH_RE = /^\/v2\/(.+?)\/(manifests|blobs|tags|referrers)(?:\/(.*))?$/;

export function parseRegistryPath(path: string): { repository?: string; kind?: string; reference?: string; upload?: boolean } {
  const m = PATH_RE.exec(path);
  if (!m) return {};
  const rest = m[3];
  // blobs/uploads/<uuid> has no image reference; manifests/<ref> does.
  const reference = m[2] === 'manifests' && rest ? decodeURIComponent(rest) : undefined;
  return { repository: m[1], kind: m[2], reference, upload: m[2] === 'blobs' && /^uploads(\/|$)/.test(rest ?? '') };
}

/**
 * ECR mounts a blob from another repository only where the account turned blob mounting on (off by
 * default): otherwise `?mount=&from=` starts a plain upload, as here.
 */
function withoutMount(url: string): string {
  const [path, query] = url.split('?');
  if (!query || !/^\/v2\/.+\/blobs\/uploads\/?$/.test(path ?? '')) return url;
  const params = new URLSearchParams(query);
  params.delete('mount');
  params.delete('from');
  const rest = params.toString();
  return rest ? `${path}?${rest}` : (path ?? url);
}

function sendRejection(res: http.ServerResponse, r: GateRejection): void {
  res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
  res.end(JSON.stringify({ errors: [{ code: r.code, message: r.message, detail: null }] }));
}

/** `binary` exists for tests of the absent case. */
export async function startRegistry(opts: { binary?: string } = {}): Promise<RegistryHandle | null> {
  const binary = opts.binary ?? 'docker-registry';
  if (!(await hasBinary(binary))) {
    process.stderr.write(`emulator: ${binary} not found (apt-get install docker-registry); ECR runs without image storage\n`);
    return null;
  }
  const dir = await mkdtemp(join(tmpdir(), 'ecs-emulator-registry-'));
  const storageDir = join(dir, 'storage');
  const backendPort = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${backendPort}`,
    '  relativeurls: true',
    '',
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  // The shell kills the registry when our end of its stdin closes: on stop(), and also when this
  // process dies without stopping it, so no registry outlives a killed test run. (fd 3 because a
  // background list's stdin is /dev/null.)
  const child: ChildProcess = spawn(
    'sh',
    ['-c', 'exec 3<&0; "$0" serve "$1/config.yml" & p=$!; (read _ <&3; kill $p 2>/dev/null; sleep 1; rm -rf "$1") & wait $p', binary, dir],
    {
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-2000);
  });
  const backendUrl = `http://127.0.0.1:${backendPort}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin?.end();
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await cleanup();
      process.stderr.write(`emulator: docker-registry exited at start: ${stderr.trim()}\n`);
      return null;
    }
    const ok = await fetch(`${backendUrl}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await cleanup();
      process.stderr.write(`emulator: docker-registry did not answer /v2/ within 10 s: ${stderr.trim()}\n`);
      return null;
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  let gate: RegistryGate | null = null;
  const traffic: RegistryTraffic = { pulledBytes: 0, pushedBytes: 0 };
  const front = http.createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      const parsed = parseRegistryPath(url.split('?')[0] ?? '/');
      const method = req.method ?? 'GET';
      const isManifestPut = method === 'PUT' && parsed.kind === 'manifests';
      // Manifests are small: buffer them to learn their digest before they are stored.
      let body: Buffer | undefined;
      if (isManifestPut) {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        body = Buffer.concat(chunks);
      }
      const auth = req.headers.authorization;
      const rejection = gate
        ? await gate.check({
            method,
            ...parsed,
            authorization: typeof auth === 'string' ? auth : undefined,
            manifestDigest: body ? `sha256:${createHash('sha256').update(body).digest('hex')}` : undefined,
          })
        : null;
      if (rejection) {
        if (!body) req.resume();
        sendRejection(res, rejection);
        return;
      }
      const headers = { ...req.headers };
      delete headers.authorization;
      if (parsed.upload && method !== 'GET' && method !== 'HEAD') req.on('data', (c: Buffer) => (traffic.pushedBytes += c.length));
      const upstream = http.request(`${backendUrl}${withoutMount(url)}`, { method, headers }, (up) => {
        if (parsed.kind === 'blobs' && !parsed.upload && method === 'GET') up.on('data', (c: Buffer) => (traffic.pulledBytes += c.length));
        const digest = up.headers['docker-content-digest'];
        if (isManifestPut && up.statusCode === 201 && typeof digest === 'string' && parsed.repository && parsed.reference) {
          gate?.pushed(parsed.repository, parsed.reference, digest);
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', (e) => sendRejection(res, { status: 502, code: 'UNAVAILABLE', message: e.message }));
      if (body) upstream.end(body);
      else req.pipe(upstream);
    })().catch((e: unknown) => {
      if (!res.headersSent) sendRejection(res, { status: 500, code: 'UNKNOWN', message: String(e) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const addr = front.address();
  const port = addr && typeof addr === 'object' ? addr.port : 0;
  const host = `127.0.0.1:${port}`;
  return {
    url: `http://${host}`,
    host,
    backendUrl,
    storageDir,
    setGate(g) {
      gate = g;
    },
    traffic: () => ({ ...traffic }),
    async stop() {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await cleanup();
    },
  };
}
