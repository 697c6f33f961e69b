import { setTimeout as delay } from 'node:timers/promises';

/** Reads until `done` holds, or fails after `timeoutMs` with what it saw last: tests wait on conditions, not on clocks. */
export async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await delay(200);
  }
}
