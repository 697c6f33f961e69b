import { spawn, type SpawnOptions } from 'node:child_process';

export interface DetachedProcess {
  hasExited(): boolean;
  /** Kills at once; for a server that failed to start. */
  kill(): void;
  /** Sends the stop signal (unless it has already exited) and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * A server process in its own process group: a Ctrl-C in the terminal reaches the launcher only,
 * which stops the servers last, after the processes that use them. Should the launcher itself exit,
 * the server gets the stop signal too.
 */
export function spawnDetached(
  command: string,
  args: string[],
  options: { stopSignal: NodeJS.Signals; onLog?: (line: string) => void; spawn?: Pick<SpawnOptions, 'env' | 'uid' | 'gid'> },
): DetachedProcess {
  const child = spawn(command, args, { ...options.spawn, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const forward = (chunk: Buffer) => chunk.toString('utf8').split('\n').filter(Boolean).forEach((line) => options.onLog?.(line));
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopOnExit = () => child.kill(options.stopSignal);
  process.once('exit', stopOnExit);
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    hasExited,
    kill: () => child.kill('SIGKILL'),
    async stop() {
      process.removeListener('exit', stopOnExit);
      if (!hasExited()) child.kill(options.stopSignal);
      await exited;
    },
  };
}
