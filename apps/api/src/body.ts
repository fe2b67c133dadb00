import { isUtf8 } from 'node:buffer';
import contentType from 'content-type';
import express, { type RequestHandler } from 'express';
import { SettleError } from '@settle/domain';
import { checkInput } from './validation';

const LIMIT_BYTES = 64 * 1024;
const WITH_BODY = new Set(['POST', 'PATCH', 'PUT']);

/** express.json with our limit: the path for what the fast path below leaves to it (compressed or non-UTF-8 bodies). */
const libraryParser = express.json({ limit: LIMIT_BYTES, strict: true });

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
 * JSON request bodies. A POST, PATCH or PUT with a body must be `application/json` (else 415). A plain
 * UTF-8 body is read and parsed here. Compressed bodies, other charsets and unusual headers go to
 * express.json, which has the same limit and strictness. Either way the parsed body then passes
 * `checkInput` (depth, well-formed text) before any route sees it; bytes that do not decode (corrupt gzip,
 * invalid UTF-8) are a 400.
 *
 * Why not express.json for everything: a transition's body is a few dozen bytes. For such a body,
 * body-parser's generic pipeline (type-is, raw-body, iconv-lite, on-finished) cost about as much CPU
 * as the order's write path. bench/api measures it.
 */
export function jsonBody(): RequestHandler {
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
    if ((encoding !== undefined && encoding.toLowerCase() !== 'identity') || (media.charset !== undefined && media.charset !== 'utf-8')) {
      libraryParser(request, response, (error?: unknown) => {
        if (error !== undefined) return next(error);
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
    // toString would turn invalid bytes into U+FFFD silently: the client meant some other text.
    if (!isUtf8(bytes)) {
      finish(
        new SettleError(
          'INVALID_INPUT',
          'the request body is not valid UTF-8: send the JSON encoded as UTF-8, or name its charset in Content-Type',
        ),
      );
      return;
    }
    const text = bytes.toString('utf8');
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
