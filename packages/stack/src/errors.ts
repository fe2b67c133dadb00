/** A problem starting the local stack that a person can fix; its message is one actionable line. */
export class StackError extends Error {
  override name = 'StackError';
}
