import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findCommand } from './temporal-binaries.ts';

/** Pinned: its checks change between versions. */
export const SCHEMATHESIS_VERSION = '4.32.5';

const PROJECT_ROOT = join(import.meta.dirname, '..');
/** A virtual environment of the project's own (git-ignored), for machines that do not have Schemathesis. */
const LOCAL_VENV = join(PROJECT_ROOT, '.tools', 'schemathesis');

/**
 * The Schemathesis command the fuzz run uses: `SCHEMATHESIS_PATH`, then PATH (and pip's scripts
 * folder, where `.ci/run` installs it), then the project's own virtual environment, made with
 * python3 from the package index the first time it is needed, so `npm ci && npm test` needs no
 * other set-up.
 */
export function resolveSchemathesis(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SCHEMATHESIS_PATH) return env.SCHEMATHESIS_PATH;
  const found = findCommand('schemathesis', env);
  if (found) return found.path;
  const local = join(LOCAL_VENV, 'bin', 'schemathesis');
  if (!existsSync(local)) {
    execFileSync('python3', ['-m', 'venv', LOCAL_VENV], { stdio: 'ignore' });
    execFileSync(join(LOCAL_VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`], { stdio: 'inherit' });
  }
  return local;
}
