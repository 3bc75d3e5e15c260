/**
 * For a bench child process: exits when the bench closes its stdin (or dies, which closes it), or
 * on SIGTERM, so no child outlives a benchmark however it ended.
 */
export function exitWithParent(): void {
  const stop = (): void => process.exit(0);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}
