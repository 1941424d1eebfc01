import { type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ErrorBody, reasonBody } from './errors.ts';
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
    // The shape every other gateway error has (errors.ts), though written straight to the socket.
    const { status, body: error } = describe(err);
    const body = JSON.stringify(error);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}

/** The refusal for what Node's parser reported: Node's own status, from the reasons table (reasons.ts). */
function describe(err: NodeJS.ErrnoException): { status: number; body: ErrorBody } {
  const requestId = newRequestId();
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return reasonBody('HEADERS_TOO_LARGE', requestId);
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return reasonBody('BODY_TOO_LARGE', requestId, 'chunk extensions too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return reasonBody('REQUEST_TIMEOUT', requestId);
    default:
      return reasonBody(
        'MALFORMED_HTTP',
        requestId,
        `not a valid HTTP/1.1 request (${err.code ?? 'parse error'})`,
      );
  }
}
