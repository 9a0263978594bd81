// One place that prints command results: JSON on stdout for scripts, text for people.

export interface OutputOptions {
  json?: boolean;
}

/** Prints a result: JSON when asked, otherwise the text the command renders. */
export function printResult<T>(result: T, opts: OutputOptions, render: (r: T) => string): void {
  if (opts.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    const text = render(result);
    if (text.length > 0) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
}

/**
 * Shortens text a message repeats (a user's command, a tool's stderr) to its first `max`
 * characters and `…`, on one line.
 */
export function abbreviate(text: string, max = 60): string {
  const line = text.replace(/\s*\n\s*/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max)}…`;
}
