import { IpcError } from './errors.js';

/**
 * Yields what `next()` resolves to until it rejects with `ERR_IPC_CLOSED`, which ends the
 * iteration quietly; any other error is thrown. The body of every `for await` over a connection or
 * a queue: breaking out of the loop just stops calling `next()`, it closes nothing.
 */
export async function* iterateUntilClosed<T>(next: () => Promise<T>): AsyncGenerator<T, void, undefined> {
  for (;;) {
    let value: T;
    try {
      value = await next();
    } catch (err) {
      if (IpcError.is(err, 'ERR_IPC_CLOSED')) return;
      throw err;
    }
    yield value;
  }
}
