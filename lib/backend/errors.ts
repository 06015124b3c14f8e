/** A backend cannot be used here; the message says which one, why, and what to do instead. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}
