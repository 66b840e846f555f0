import type { ChildInit } from './process.js';
import { ERROR_MESSAGE, INIT_MESSAGE, THREAD_INIT_KEY, processArgs, serializeError, setChildInit } from './process.js';

async function runEntry(init: ChildInit, exit: (code: number) => void): Promise<void> {
  setChildInit(init);
  const mod = (await import(init.entry)) as { main?: (...args: unknown[]) => unknown };
  if (typeof mod.main === 'function') {
    const args = await processArgs();
    const result = await mod.main(...args);
    exit(typeof result === 'number' && Number.isInteger(result) ? result : 0);
  }
}

/** @internal The child side of Process and Thread. */
export async function runChild(isMainThread: boolean, workerData: unknown): Promise<void> {
  if (!isMainThread) {
    const init = (workerData as Record<string, ChildInit> | undefined)?.[THREAD_INIT_KEY];
    if (!init) throw new Error('@ipc/core child bootstrap started without init data');
    // An uncaught error ends the worker and reaches the parent's Thread through the 'error' event.
    await runEntry(init, (code) => process.exit(code));
    return;
  }
  if (typeof process.send !== 'function') {
    process.stderr.write('@ipc/core: the child bootstrap must be started by Process\n');
    process.exit(2);
  }
  let reported = false;
  const fail = (err: unknown) => {
    if (reported) return;
    reported = true;
    process.stderr.write(`${err instanceof Error && err.stack ? err.stack : String(err)}\n`);
    const done = () => process.exit(1);
    try {
      if (process.connected) process.send!({ type: ERROR_MESSAGE, error: serializeError(err) }, undefined, {}, done);
      else done();
    } catch {
      done();
    }
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  const init = await new Promise<ChildInit>((resolve) => {
    const onMessage = (msg: unknown) => {
      const m = msg as { type?: string; init?: ChildInit };
      if (m?.type === INIT_MESSAGE && m.init) {
        process.off('message', onMessage);
        resolve(m.init);
      }
    };
    process.on('message', onMessage);
  });
  // The channel only carries errors from here on: it must not keep the child alive.
  (process.channel as { unref?: () => void } | undefined)?.unref?.();
  try {
    await runEntry(init, (code) => process.exit(code));
  } catch (err) {
    fail(err);
  }
}
