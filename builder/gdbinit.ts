// The gdb script for a kernel build (out/.gdbinit; docs/debugging.md) and the default gdb port.

/** A gdb script: the architecture, the kernel's symbols, and the QEMU gdb stub to attach to. */
export function renderGdbInit(elf: string, port: number): string {
  return [
    '# gdb -x THIS_FILE: attaches to a node booted with `gittorrent boot IMAGE --gdb` (docs/debugging.md).',
    '# Written by gittorrent build (the default port) and by boot --gdb (the port it uses).',
    'set architecture i386:x86-64',
    `file ${elf}`,
    `target remote 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** The port `boot --gdb` uses when none is given: 1234 + uid % 1000 (users of one host differ). */
export function defaultGdbPort(): number {
  return 1234 + ((process.getuid?.() ?? 0) % 1000);
}
