import http from 'node:http';
import express, { type Express } from 'express';

/**
 * Makes `app.listen` serve the app through request and response objects that node:http constructs with the
 * app's own prototypes.
 *
 * Express gives each request and response its prototypes (`app.request`, `app.response`) by calling
 * Object.setPrototypeOf on node's objects in `app.handle`. An object whose prototype changes after it was
 * built sends V8's inline caches in node:http's own code (writeHead, end, the parser callbacks) and in the
 * router to their slow paths. In a bare Express 5 app on the 2-core bench machine that cost ~85 µs of CPU
 * per request: 115–122 µs per request, against 34–36 µs with this (node:http alone: 26 µs).
 *
 * Here the prototypes *are* the classes node:http instantiates, so Express's setPrototypeOf changes nothing.
 * Servers made elsewhere (supertest, a bare `http.createServer(app)`) still work: Express then swaps the
 * prototypes as usual.
 */
export function serveWithAppPrototypes(app: Express): void {
  class AppRequest extends http.IncomingMessage {}
  class AppResponse extends http.ServerResponse {}
  // app.request is Object.create(express.request, { app }): its methods and getters, then its own `app`.
  Object.defineProperties(AppRequest.prototype, {
    ...Object.getOwnPropertyDescriptors(express.request),
    ...Object.getOwnPropertyDescriptors(app.request),
  });
  Object.defineProperties(AppResponse.prototype, {
    ...Object.getOwnPropertyDescriptors(express.response),
    ...Object.getOwnPropertyDescriptors(app.response),
  });
  app.request = AppRequest.prototype as unknown as Express['request'];
  app.response = AppResponse.prototype as unknown as Express['response'];

  // Express's own listen, with the classes passed to node:http.
  app.listen = ((...args: unknown[]) => {
    const server = http.createServer({ IncomingMessage: AppRequest, ServerResponse: AppResponse }, app);
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      // As Express does: the callback also hears a listen error (once), e.g. the port in use.
      let called = false;
      const once = (...values: unknown[]): void => {
        if (called) return;
        called = true;
        (callback as (...args: unknown[]) => void)(...values);
      };
      args[args.length - 1] = once;
      server.once('error', once);
    }
    return server.listen(...(args as Parameters<http.Server['listen']>));
  }) as Express['listen'];
}
