// Everything the browser entry has (the wire schemas, the socket contract, the notifier client), and what only Node
// needs: the AsyncAPI document and the event schemas' versions and JSON Schemas.
export * from './browser';
export { asyncApiDocument } from './asyncapi';
export * from './event-schemas';
