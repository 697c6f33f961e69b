import { ConfigError } from './config.ts';

/** Entry points run through this: a configuration error prints its message, not a stack. */
export function runMain(component: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${component}: ${error.message}\n`);
    } else {
      process.stderr.write(`${component}: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  });
}
