// Types of bin/cli-bundle.js (plain JavaScript: it runs before anything is compiled).
export const ROOT: string;
export const DIST: string;
/** The compiled entry when every source it was built from is unchanged. */
export function currentEntry(root?: string, dist?: string): string | undefined;
/** Compiles the CLI into a new build folder under `dist` and returns its entry. */
export function bundle(root?: string, dist?: string): Promise<string>;
/** The compiled entry, rebuilt when stale; undefined when it cannot be built. */
export function freshEntry(root?: string): Promise<string | undefined>;
