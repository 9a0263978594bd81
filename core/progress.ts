// Progress for long work: a spinner on a terminal (ora), plain lines in CI or when piped.
// Everything goes to stderr so stdout stays clean for --json results.
import type { Ora } from 'ora';

export interface Progress {
  /** Starts a step; the text is shown until the step ends. */
  start(text: string): void;
  /** Updates the current step's text. */
  update(text: string): void;
  /** Ends the current step successfully, with a final text. */
  succeed(text: string): void;
  /** Ends the current step as failed. */
  fail(text: string): void;
  /** Prints a line that stays (an event, a note) without ending the step. */
  log(text: string): void;
}

export interface ProgressOptions {
  /** No output at all (library use, tests). */
  quiet?: boolean;
  /** Force plain lines even on a terminal. */
  plain?: boolean;
}

function isInteractive(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI;
}

class PlainProgress implements Progress {
  start(text: string): void {
    process.stderr.write(`... ${text}\n`);
  }
  update(text: string): void {
    process.stderr.write(`... ${text}\n`);
  }
  succeed(text: string): void {
    process.stderr.write(`ok  ${text}\n`);
  }
  fail(text: string): void {
    process.stderr.write(`ERR ${text}\n`);
  }
  log(text: string): void {
    process.stderr.write(`${text}\n`);
  }
}

// The spinner library is loaded only for a terminal: piped and CI runs never pay for it.
const ora = isInteractive() ? (await import('ora')).default : undefined;

class SpinnerProgress implements Progress {
  private spinner: Ora | undefined;
  start(text: string): void {
    this.spinner?.stop();
    this.spinner = ora!({ text, stream: process.stderr }).start();
  }
  update(text: string): void {
    if (this.spinner) this.spinner.text = text;
    else this.start(text);
  }
  succeed(text: string): void {
    if (this.spinner) this.spinner.succeed(text);
    else process.stderr.write(`✔ ${text}\n`);
    this.spinner = undefined;
  }
  fail(text: string): void {
    if (this.spinner) this.spinner.fail(text);
    else process.stderr.write(`✖ ${text}\n`);
    this.spinner = undefined;
  }
  log(text: string): void {
    if (this.spinner?.isSpinning) {
      this.spinner.clear();
      process.stderr.write(`${text}\n`);
      this.spinner.render();
    } else {
      process.stderr.write(`${text}\n`);
    }
  }
}

const silent: Progress = {
  start() {},
  update() {},
  succeed() {},
  fail() {},
  log() {},
};

export function createProgress(opts: ProgressOptions = {}): Progress {
  if (opts.quiet) return silent;
  if (opts.plain || !ora) return new PlainProgress();
  return new SpinnerProgress();
}

export const silentProgress = silent;
