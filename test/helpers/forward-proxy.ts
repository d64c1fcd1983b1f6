// A forward proxy as corporate networks run them: CONNECT tunnels (https, and clients that tunnel
// everything) and absolute-form requests (plain http). It records every host asked for, and reaches
// only hosts under .proxied.test (all on 127.0.0.1): a name nothing else resolves, so a call that
// succeeds to one went through here.
import { createServer, request } from 'node:http';
import { connect, type Socket } from 'node:net';

export const PROXIED_DOMAIN = 'proxied.test';

export interface ProxyVisit {
  kind: 'connect' | 'absolute-form';
  /** host:port as the client asked for it. */
  target: string;
}

export interface ForwardProxy {
  url: string;
  visits: ProxyVisit[];
  /** The host names asked for, without ports, each once. */
  hosts(): string[];
  stop(): Promise<void>;
}

function reachable(hostname: string): boolean {
  return hostname === PROXIED_DOMAIN || hostname.endsWith(`.${PROXIED_DOMAIN}`);
}

export async function startForwardProxy(): Promise<ForwardProxy> {
  const visits: ProxyVisit[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      // Origin-form: a client that took the proxy for the server.
      res.writeHead(400).end('absolute-form requests only');
      return;
    }
    visits.push({ kind: 'absolute-form', target: target.host });
    if (!reachable(target.hostname)) {
      res.writeHead(403).end(`not reachable from this proxy: ${target.hostname}`);
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: target.port || 80, method: req.method, path: `${target.pathname}${target.search}`, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    visits.push({ kind: 'connect', target });
    const [hostname = '', port = '443'] = target.split(/:(?=\d+$)/);
    if (!reachable(hostname)) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const socket of [upstream, client]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        upstream.destroy();
        client.destroy();
      });
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    visits,
    hosts: () => [...new Set(visits.map((visit) => visit.target.replace(/:\d+$/, '')))].sort(),
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((closed) => server.close(() => closed()));
    },
  };
}
