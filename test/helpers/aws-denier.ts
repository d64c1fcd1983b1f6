// A local endpoint that refuses every AWS and GitHub request at once, in each protocol's own error
// shape and with an error the SDK does not retry: a step given valid inputs stops at its first call,
// having changed nothing anywhere.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Denier {
  url: string;
  /** Requests answered so far. */
  count(): number;
  close(): Promise<void>;
}

const xmlError =
  '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>denied by the test</Message></Error><RequestId>0</RequestId></ErrorResponse>';

export async function startDenier(): Promise<Denier> {
  let answered = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      answered++;
      const url = req.url ?? '';
      if (url.startsWith('/github')) {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'denied by the test' }));
      } else if (body.startsWith('Action=') || url.startsWith('/2013-04-01/')) {
        // Query (ELBv2, EC2, STS) and REST-XML (Route 53) errors.
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end(xmlError);
      } else {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'AccessDeniedException' });
        res.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'denied by the test' }));
      }
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    count: () => answered,
    close: () => new Promise<void>((closed) => server.close(() => closed())),
  };
}
