// Builds QEMU's argv for one node. Pure: no I/O, so it is easy to test and to print.

export type Accel = 'tcg' | 'kvm';

export interface QemuConfig {
  /** Raw disk image (IDE, the BIOS boots from it), or undefined. */
  disk?: string;
  /** ISO image to boot from as a CD. */
  cdrom?: string;
  accel: Accel;
  /** More `-machine` properties, e.g. `smm=off` (a cluster node's lean machine: LEAN_MACHINE). */
  machineOptions?: string[];
  memoryMb: number;
  /** Unix socket path for QMP. */
  qmpSocket: string;
  /** isa-debug-exit at 0xf4 so the guest can end QEMU with a status. */
  debugExit: boolean;
  /** Exit instead of rebooting (a triple fault then ends QEMU with status 0: never a pass). */
  noReboot: boolean;
  /** Open the disk read-only for the guest (snapshot: writes go to a temporary overlay). */
  snapshot?: boolean;
  /** Extra `-drive` options for the disk (e.g. `throttling.iops-write=20`). */
  diskOptions?: string[];
  /** QEMU's ib700 watchdog with the reset action (QEMU 7.2 dropped -watchdog). */
  watchdog?: boolean;
  /** Listen for gdb on this TCP port and wait for it before running. */
  gdbPort?: number;
  /** An e1000 NIC on an existing tap device, with the node's MAC (docs/protocol.md). */
  nic?: NicConfig;
  /** Files the guest reads through fw_cfg (`-fw_cfg name=NAME,file=FILE`): the cluster key. */
  fwCfg?: FwCfgFile[];
  /** Extra arguments appended verbatim (--qemu-arg). */
  extra?: string[];
}

export interface NicConfig {
  /** The tap interface QEMU opens (it must exist in QEMU's network namespace). */
  tap: string;
  /** The NIC's MAC, `52:54:00:47:HI:LO` for node HI·256+LO. */
  mac: string;
}

export interface FwCfgFile {
  name: string;
  file: string;
}

/** The fw_cfg name under which a node finds the cluster key (docs/protocol.md). */
export const CLUSTER_KEY_FW_CFG = 'opt/gittorrent/key';

/** The MAC of cluster node n (1 … 65 279): 52:54:00:47:HI:LO. */
export function nodeMac(n: number): string {
  const hex = (b: number) => b.toString(16).padStart(2, '0');
  return `52:54:00:47:${hex((n >> 8) & 0xff)}:${hex(n & 0xff)}`;
}

export const QEMU_BINARY = 'qemu-system-x86_64';

/**
 * The pc machine without what the kernel never uses, for a cluster's many VMs (less QEMU start
 * and BIOS work each): no SMM (SeaBIOS skips its SMM relocation), no HPET (the kernel times with
 * the PIT and the TSC), no VMware port, no ACPI (no tables to build and load; the kernel reads
 * none and powers off through isa-debug-exit).
 */
export const LEAN_MACHINE = ['smm=off', 'hpet=off', 'vmport=off', 'acpi=off'];

export function qemuArgv(c: QemuConfig): string[] {
  const argv: string[] = [
    '-machine', ['pc', `accel=${c.accel}`, ...(c.machineOptions ?? [])].join(','),
    '-m', String(c.memoryMb),
    '-nodefaults',
    '-display', 'none',
    '-serial', 'stdio',
    '-monitor', 'none',
    '-qmp', `unix:${c.qmpSocket},server=on,wait=off`,
  ];
  if (c.accel === 'kvm') argv.push('-cpu', 'max');
  if (c.disk) {
    const more = [...(c.snapshot ? ['snapshot=on'] : []), ...(c.diskOptions ?? [])].map((o) => `,${o}`).join('');
    argv.push('-drive', `file=${c.disk},format=raw,if=ide,index=0,media=disk${more}`);
  }
  if (c.cdrom) argv.push('-drive', `file=${c.cdrom},format=raw,if=ide,index=2,media=cdrom,readonly=on`);
  argv.push('-boot', c.cdrom && !c.disk ? 'order=d' : 'order=c');
  if (c.debugExit) argv.push('-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04');
  if (c.watchdog) argv.push('-device', 'ib700', '-watchdog-action', 'reset');
  if (c.noReboot) argv.push('-no-reboot');
  if (c.nic) {
    argv.push('-netdev', `tap,id=n0,ifname=${c.nic.tap},script=no,downscript=no`);
    // romfile= : no iPXE option ROM for the BIOS to load (the kernel drives the NIC itself)
    argv.push('-device', `e1000,netdev=n0,mac=${c.nic.mac},romfile=`);
  }
  for (const f of c.fwCfg ?? []) argv.push('-fw_cfg', `name=${f.name},file=${f.file}`);
  if (c.gdbPort !== undefined) argv.push('-gdb', `tcp:127.0.0.1:${c.gdbPort}`, '-S');
  argv.push(...(c.extra ?? []));
  return argv;
}

/** QEMU's exit status for a value written to isa-debug-exit. */
export function debugExitStatus(value: number): number {
  return ((value << 1) | 1) & 0xff;
}
