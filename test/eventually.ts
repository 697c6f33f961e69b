import { setTimeout as delay } from 'node:timers/promises';

/** Reads until `done` holds, every 200 ms; past the deadline, fails naming what it waited for and what it saw last. */
export async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await delay(200);
  }
}
