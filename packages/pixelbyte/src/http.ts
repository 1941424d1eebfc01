/**
 * The transport under the Pixelbyte client: node:http(s) with a keep-alive agent, one deadline per
 * exchange, and precise knowledge of whether the request could have left this process. That last bit
 * is what lets the gateway tell "safe to retry" (`not_sent`) from "may have been charged" (`unknown`).
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type TransportFailureCode =
  | 'TIMEOUT'
  | 'CONNECTION_LOST'
  | 'CONNECTION_REFUSED'
  | 'DNS_LOOKUP_FAILED'
  | 'CONNECTION_FAILED'
  | 'INVALID_RESPONSE'
  | 'CLIENT_CLOSED';

export interface TransportFailure {
  /** `false` only when no connection was ever established for this request, so nothing was sent. */
  maybeSent: boolean;
  code: TransportFailureCode;
  message: string;
}

export type HttpResult = { ok: true; answer: HttpAnswer } | { ok: false; failure: TransportFailure };

export interface Transport {
  send(req: {
    method: 'GET' | 'POST';
    path: string;
    headers: Record<string, string>;
    body?: string | undefined;
    timeoutMs: number;
  }): Promise<HttpResult>;
  close(): Promise<void>;
}

/** Answers bigger than this are not Pixelbyte answers; refuse to buffer them. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Below the 5 s idle timeout common to Node servers and load balancers. */
const IDLE_SOCKET_MS = 4_000;

const NOT_SENT_CODES: Record<string, TransportFailureCode> = {
  ECONNREFUSED: 'CONNECTION_REFUSED',
  ENOTFOUND: 'DNS_LOOKUP_FAILED',
  EAI_AGAIN: 'DNS_LOOKUP_FAILED',
};

export function createTransport(baseUrl: URL, opts: { maxSockets: number }): Transport {
  const isHttps = baseUrl.protocol === 'https:';
  // Idle pooled sockets are dropped after IDLE_SOCKET_MS (Node also honours a shorter `Keep-Alive:
  // timeout=` hint), so we rarely write to a socket the server already closed: such a write fails
  // after "sending", which for a submit means an `unknown` outcome.
  const agentOptions = { keepAlive: true, maxSockets: opts.maxSockets, timeout: IDLE_SOCKET_MS };
  const agent = isHttps ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const basePath = baseUrl.pathname.replace(/\/+$/, '');
  let closed = false;
  const inFlight = new Set<http.ClientRequest>();

  function send(req: Parameters<Transport['send']>[0]): Promise<HttpResult> {
    if (closed) {
      return Promise.resolve({
        ok: false,
        failure: { maybeSent: false, code: 'CLIENT_CLOSED', message: 'the Pixelbyte client was closed' },
      });
    }
    return new Promise<HttpResult>((resolve) => {
      let settled = false;
      let connected = false;
      const headers: Record<string, string> = { ...req.headers };
      if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));

      const request = (isHttps ? https : http).request({
        protocol: baseUrl.protocol,
        hostname: baseUrl.hostname,
        port: baseUrl.port,
        path: basePath + req.path,
        method: req.method,
        headers,
        agent,
      });
      inFlight.add(request);

      const finish = (result: HttpResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        inFlight.delete(request);
        resolve(result);
      };
      const fail = (code: TransportFailureCode, message: string, maybeSent = connected): void => {
        finish({ ok: false, failure: { maybeSent, code, message } });
        request.destroy();
      };

      const timer = setTimeout(() => {
        fail('TIMEOUT', `no complete answer from Pixelbyte within ${req.timeoutMs} ms`);
      }, req.timeoutMs);

      request.on('socket', (socket: Socket) => {
        // A reused keep-alive socket is already connected; a new one is connected once 'connect' fires,
        // or over TLS once the handshake is done ('secureConnect'): until then the request's bytes
        // wait in the TLS socket, and a failed handshake (a bad certificate, a server that does not
        // speak TLS) sends none of them. From then on any byte may have reached Pixelbyte.
        if (!socket.connecting) connected = true;
        else socket.once(isHttps ? 'secureConnect' : 'connect', () => (connected = true));
      });

      request.on('error', (err: NodeJS.ErrnoException) => {
        if (closed) return fail('CLIENT_CLOSED', 'the Pixelbyte client was closed');
        if (!connected) {
          const code = NOT_SENT_CODES[err.code ?? ''] ?? 'CONNECTION_FAILED';
          return fail(code, `could not connect to Pixelbyte: ${err.code ?? err.message}`, false);
        }
        fail('CONNECTION_LOST', `connection to Pixelbyte lost: ${err.code ?? err.message}`);
      });

      request.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            fail('INVALID_RESPONSE', `Pixelbyte answer larger than ${MAX_RESPONSE_BYTES} bytes`);
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          finish({
            ok: true,
            answer: {
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            },
          });
        });
        res.on('error', (err) => fail('CONNECTION_LOST', `connection lost while reading: ${err.message}`));
        res.on('close', () => {
          if (!res.complete) fail('CONNECTION_LOST', 'connection closed before the answer was complete');
        });
      });

      request.end(req.body);
    });
  }

  async function close(): Promise<void> {
    closed = true;
    for (const request of inFlight) request.destroy();
    agent.destroy();
  }

  return { send, close };
}
