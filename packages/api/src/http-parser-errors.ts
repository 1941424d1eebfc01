import { type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from './errors.ts';
import { newRequestId } from './request-scope.ts';

/**
 * Answers what Node's HTTP parser refuses before the app sees a request (headers over 16 KB, a
 * request line that is not HTTP/1.1, a request that never finished arriving) with the gateway's
 * JSON error shape instead of Node's bare status line: the caller learns what to change. Statuses
 * are Node's own (431, 413, 408, 400). Nothing reached the app, so nothing was read or written.
 */
export function answerHttpParserErrorsAsJson(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // The peer is gone, or an answer on this connection has already started (a bad request pipelined
    // behind one being answered; Node's own handler checks the same): no clean place to write.
    const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || answering?.headersSent === true) {
      socket.destroy();
      return;
    }
    const [status, code, reason, message] = describe(err);
    // The shape every other gateway error has (errors.ts), though written straight to the socket.
    const error: ErrorBody = { code, reason, message, requestId: newRequestId() };
    const body = JSON.stringify(error);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}

function describe(err: NodeJS.ErrnoException): [number, string, string, string] {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [
        431,
        'BAD_REQUEST',
        'HEADERS_TOO_LARGE',
        'request headers exceed 16 KB; send fewer or smaller headers',
      ];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'PAYLOAD_TOO_LARGE', 'BODY_TOO_LARGE', 'chunk extensions too large'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'TIMEOUT', 'REQUEST_TIMEOUT', 'the request did not arrive in full in time; send it again'];
    default:
      return [
        400,
        'BAD_REQUEST',
        'MALFORMED_HTTP',
        `not a valid HTTP/1.1 request (${err.code ?? 'parse error'})`,
      ];
  }
}
