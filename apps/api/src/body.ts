import { isUtf8 } from 'node:buffer';
import contentType from 'content-type';
import express, { type RequestHandler } from 'express';
import { SettleError } from '@settle/domain';
import { checkInput } from './validation';

const LIMIT_BYTES = 64 * 1024;
const WITH_BODY = new Set(['POST', 'PATCH', 'PUT']);
const NOT_UTF8 = 'the request body is not valid UTF-8: send the JSON encoded as UTF-8, or name its charset in Content-Type';
/** body-parser's `type` of an error its verify hook threw. */
const NOT_UTF8_TYPE = 'entity.verify.failed';

/**
 * express.json with our limit. Its verify hook sees the bytes before they are decoded: bytes that are not UTF-8 in
 * a UTF-8 body (compressed or not) are refused, where the decoder would turn them into U+FFFD silently.
 */
const libraryParser = express.json({
  limit: LIMIT_BYTES,
  strict: true,
  verify: (_request, _response, bytes, encoding) => {
    if (encoding === 'utf-8' && !isUtf8(bytes)) throw Object.assign(new Error(NOT_UTF8), { type: NOT_UTF8_TYPE });
  },
});

/** The media type and charset of a Content-Type header; undefined when the header does not parse. */
function mediaType(header: string): { type: string; charset: string | undefined } | undefined {
  try {
    const parsed = contentType.parse(header);
    return { type: parsed.type, charset: parsed.parameters['charset']?.toLowerCase() };
  } catch {
    return undefined;
  }
}

/**
 * JSON request bodies. A POST, PATCH or PUT with a body must be `application/json` (else 415). The parsed body then
 * passes `checkInput` (depth, well-formed text) before any route sees it; bytes that do not decode (corrupt gzip,
 * invalid UTF-8) are a 400.
 *
 * `fastPath` (the fastJsonBody bend): a plain UTF-8 body is read and parsed here, with express.json's limit,
 * strictness, empty-body and byte-order-mark rules; compressed bodies and other charsets go to express.json. A
 * transition's body is a few dozen bytes, and body-parser's generic pipeline (type-is, raw-body, iconv-lite,
 * on-finished) costs more per request than reading it here. Off, express.json reads every body.
 */
export function jsonBody({ fastPath }: { fastPath: boolean }): RequestHandler {
  return (request, response, next) => {
    const headers = request.headers;
    const length = headers['content-length'];
    const hasBody = headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (!hasBody) {
      next();
      return;
    }
    const media = headers['content-type'] === undefined ? undefined : mediaType(headers['content-type']);
    if (media?.type !== 'application/json') {
      if (WITH_BODY.has(request.method)) throw new SettleError('UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json');
      next();
      return;
    }
    const encoding = headers['content-encoding'];
    const plainUtf8 =
      (encoding === undefined || encoding.toLowerCase() === 'identity') && (media.charset === undefined || media.charset === 'utf-8');
    if (!fastPath || !plainUtf8) {
      libraryParser(request, response, (error?: unknown) => {
        if (error !== undefined) {
          const invalid = (error as { type?: unknown }).type === NOT_UTF8_TYPE;
          return next(invalid ? new SettleError('INVALID_INPUT', NOT_UTF8, { cause: error }) : error);
        }
        try {
          checkInput(request.body, 'body');
        } catch (invalid) {
          return next(invalid);
        }
        next();
      });
      return;
    }
    if (length !== undefined && Number(length) > LIMIT_BYTES)
      throw new SettleError('PAYLOAD_TOO_LARGE', 'the request body is larger than 64 KB');
    readJson(request, next);
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the body (at most 64 KB) and parses it as a JSON object or array, as body-parser's strict mode does. */
function readJson(request: Parameters<RequestHandler>[0], next: (error?: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const finish = (error?: unknown): void => {
    if (done) return;
    done = true;
    request.removeListener('data', onData);
    next(error);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > LIMIT_BYTES) {
      finish(new SettleError('PAYLOAD_TOO_LARGE', 'the request body is larger than 64 KB'));
      request.resume();
      return;
    }
    chunks.push(chunk);
  };
  request.on('data', onData);
  request.once('error', (error) => finish(new SettleError('INVALID_INPUT', 'the request body could not be read', { cause: error })));
  request.once('end', () => {
    if (done) return;
    const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    let text: string;
    try {
      // Fatal: invalid bytes are the client's mistake, not U+FFFD. A byte order mark is dropped, as express.json does.
      text = UTF8.decode(bytes);
    } catch (error) {
      finish(new SettleError('INVALID_INPUT', NOT_UTF8, { cause: error }));
      return;
    }
    if (text.length === 0) {
      request.body = {};
      finish();
      return;
    }
    try {
      const first = /^[ \t\n\r]*(.)/s.exec(text)?.[1];
      if (first !== '{' && first !== '[') throw new SyntaxError('not an object or array');
      request.body = JSON.parse(text) as unknown;
    } catch (error) {
      finish(new SettleError('INVALID_INPUT', 'the request body is not valid JSON', { cause: error }));
      return;
    }
    try {
      checkInput(request.body, 'body');
    } catch (invalid) {
      finish(invalid);
      return;
    }
    finish();
  });
}
