// Generation's error type for bad requests (a token outside the vocabulary, a prompt longer than the model's
// context, a negative temperature): the message names the value and the fix, so the CLI prints it without a stack.
export class GenerateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerateError';
  }
}
