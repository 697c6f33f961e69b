import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One of the engine's entry points (worker.ts, api/server.ts, simulators/main.ts) running as a process of its own. */
export interface NodeProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code, or the signal's name, once the process has gone. */
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
  /** Sends the signal unless the process has gone, and waits for it to go. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface NodeProcessOptions {
  env: NodeJS.ProcessEnv;
  /** The `msg` of the JSON log line that says the process is ready. */
  readyMessage: string;
  readyWithinMs?: number;
  /** Every line the process prints. */
  onLine?: (line: string) => void;
}

/**
 * Starts `script` (relative to the repository root) on this Node, as `npm run <script>` would, and
 * resolves once it logs `readyMessage`; rejects with what it printed if it exits or takes too long.
 */
export function startNodeProcess(script: string, options: NodeProcessOptions): Promise<NodeProcess> {
  const child = spawn(process.execPath, [join(ROOT, script)], { cwd: ROOT, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  const running: NodeProcess = {
    child,
    exited,
    hasExited,
    async stop(signal = 'SIGTERM') {
      if (!hasExited()) child.kill(signal);
      return exited;
    },
  };

  let output = '';
  const readyWithinMs = options.readyWithinMs ?? 90_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} was not ready within ${readyWithinMs / 1000} s:\n${output}`));
    }, readyWithinMs);
    forEachLine(child, (line) => {
      if (output.length < 100_000) output += `${line}\n`;
      options.onLine?.(line);
      if (line.includes(`"msg":"${options.readyMessage}"`)) {
        clearTimeout(timer);
        resolve(running);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before it was ready:\n${output}`));
    });
  });
}

/** Calls `onLine` with every whole line the child prints, on stdout or stderr. */
export function forEachLine(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
  }
}
